"""The search space as data: ``search.space`` entries become define-by-run ``trial.suggest_*`` calls.

Names with a meaning of their own:

- ``depth``: the number of hidden layers, suggested first;
- ``hidden_units``: one width per hidden layer, suggested as ``hidden_units_l1 .. hidden_units_l{depth}``
  (so the space is conditional on depth);
- ``width``: one width shared by every hidden layer.

Any other name is a ``model.`` or ``train.`` config value: a plain name (any setting of
``models.settings``: ``learning_rate``, ``l2``, ``batch_size``, ``optimizer``, ``hidden_activation``, ...) or a
dotted path (``train.l2``); ``train.seed`` is not searchable (every trial gets its own). Bounds are
inclusive: ``low <= value <= high``.
"""

import copy
import dataclasses
from typing import TYPE_CHECKING, Any

from models import Architecture, FitSettings
from pipeline.errors import ConfigError
from pipeline.setup.config import Config, SearchParam

if TYPE_CHECKING:
    import optuna

# Plain names of searchable config values -> their place in the config: every setting of the network and of its
# training (models.settings), so a new one is searchable by its name as soon as it is declared.
PLAIN_NAMES = {
    **{spec.name: f"train.{spec.name}" for spec in dataclasses.fields(FitSettings)},
    **{spec.name: f"model.{spec.name}" for spec in dataclasses.fields(Architecture)},
}
ARCHITECTURE = ("depth", "hidden_units", "width")
SEARCHABLE_SECTIONS = ("model", "train")


def config_path(name: str) -> str:
    """Where a searched name lives in the config (``learning_rate`` -> ``train.learning_rate``)."""
    return PLAIN_NAMES.get(name, name)


def _suggest(trial: "optuna.Trial", name: str, param: SearchParam) -> Any:
    if param.type == "categorical":
        return trial.suggest_categorical(name, list(param.choices))
    if param.type == "int":
        step = int(param.step) if param.step else 1
        return trial.suggest_int(name, int(param.low), int(param.high), step=step, log=param.log)
    return trial.suggest_float(name, param.low, param.high, step=param.step, log=param.log)


def suggest(trial: "optuna.Trial", space: dict[str, SearchParam], default_depth: int) -> dict[str, Any]:
    """Ask the trial for every value in ``space``; returns ``{name: value}`` with ``hidden_units`` a list.

    Depth comes first (or ``default_depth`` when not searched), then the widths it needs, then the
    rest in the order the YAML lists them.
    """
    values: dict[str, Any] = {}
    depth = _suggest(trial, "depth", space["depth"]) if "depth" in space else default_depth
    if "width" in space:
        values["hidden_units"] = [_suggest(trial, "width", space["width"])] * depth
    elif "hidden_units" in space:
        values["hidden_units"] = [
            _suggest(trial, f"hidden_units_l{layer}", space["hidden_units"]) for layer in range(1, depth + 1)
        ]
    elif "depth" in space:
        raise ConfigError("search.space.depth needs hidden_units or width in search.space to size the layers")
    for name, param in space.items():
        if name not in ARCHITECTURE:
            values[name] = _suggest(trial, name, param)
    return values


def apply(config: Config, values: dict[str, Any]) -> Config:
    """A copy of ``config`` with the suggested ``values`` written into their places."""
    trial_config = copy.deepcopy(config)
    for name, value in values.items():
        section, _, leaf = ("model.hidden_units" if name == "hidden_units" else config_path(name)).partition(".")
        setattr(getattr(trial_config, section), leaf, value)
    return trial_config


def grid(space: dict[str, SearchParam], default_depth: int, max_values: int = 64) -> dict[str, list[Any]]:
    """The grid sampler's search space: every parameter name the trials can suggest, with its values.

    Categorical parameters give their choices; int parameters every value from low to high (at
    most ``max_values``); float parameters need ``choices``. ``default_depth`` is the number of
    hidden layers when ``depth`` is not searched (``hidden_units_l1 .. l{depth}`` are all suggested).
    """
    values = {}
    for name, param in space.items():
        if param.choices:
            options = list(param.choices)
        elif param.type == "int" and (param.high - param.low) / (param.step or 1) < max_values:
            options = list(range(int(param.low), int(param.high) + 1, int(param.step or 1)))
        else:
            raise ConfigError(
                f"sampler=grid needs a finite list for search.space.{name}: give "
                f"+search.space.{name}.choices=[...] (or an int range of at most {max_values} values)"
            )
        values[name] = options
    if "hidden_units" in values:
        depths = values.get("depth", [default_depth])
        for layer in range(1, max(depths) + 1):
            values[f"hidden_units_l{layer}"] = values["hidden_units"]
        del values["hidden_units"]
    return values


def parameter_names(space: dict[str, SearchParam], default_depth: int) -> dict[str, SearchParam]:
    """Every Optuna parameter name the space can suggest, with the entry that suggests it
    (``hidden_units`` becomes ``hidden_units_l1 .. l{deepest}``)."""
    names: dict[str, SearchParam] = {}
    deepest = default_depth
    if "depth" in space:
        depth = space["depth"]
        deepest = int(max(depth.choices) if depth.type == "categorical" else depth.high)
    for name, param in space.items():
        if name == "hidden_units":
            names |= {f"hidden_units_l{layer}": param for layer in range(1, deepest + 1)}
        else:
            names[name] = param
    return names


def point_problem(point: dict[str, Any], space: dict[str, SearchParam], default_depth: int) -> str | None:
    """What makes ``point`` (``{parameter: value}``, names as Optuna suggests them) impossible for
    ``space`` to suggest, or None."""
    if not isinstance(point, dict) or not point:
        return "a point is a non-empty mapping of parameter names to values"
    names = parameter_names(space, default_depth)
    for name, value in point.items():
        if name not in names:
            return f"{name!r} is not a parameter of the search space; its parameters: {sorted(names)}"
        param = names[name]
        if param.type == "categorical":
            if value not in param.choices:
                return f"{name}={value!r} is not one of its choices {list(param.choices)}"
            continue
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or (param.type == "int" and value != int(value)):
            return f"{name}={value!r} must be {'a whole number' if param.type == 'int' else 'a number'}"
        if not param.low <= value <= param.high:
            return f"{name}={value!r} is outside its bounds [{param.low}, {param.high}]"
    if "depth" in point:
        widths = [name for name in point if name.startswith("hidden_units_l")]
        extra = [name for name in widths if int(name.removeprefix("hidden_units_l")) > int(point["depth"])]
        if extra:
            return f"depth={point['depth']} has no layer for {extra}"
    return None


def load_points(enqueue: Any) -> list[dict[str, Any]]:
    """``search.enqueue`` as a list of points: a list given in the config, or a YAML or CSV file of them."""
    if enqueue is None:
        return []
    if isinstance(enqueue, str):
        from pathlib import Path

        file = Path(enqueue)
        if not file.is_file():
            raise ConfigError(f"search.enqueue={enqueue!r}: no such file; give a YAML or CSV file of points")
        if file.suffix.lower() == ".csv":
            import pandas as pd

            try:
                frame = pd.read_csv(file)
            except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as error:
                raise ConfigError(
                    f"search.enqueue={enqueue!r}: not a CSV of points ({str(error).splitlines()[0]}); it needs a "
                    "header of parameter names and one row per point"
                ) from None
            return [{k: _plain(v) for k, v in row.items() if v == v} for row in frame.to_dict("records")]
        import yaml

        try:
            loaded = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            first = str(error).splitlines()[0]
            raise ConfigError(f"search.enqueue={enqueue!r}: not a YAML list of points ({first})") from None
        if not isinstance(loaded, list):
            raise ConfigError(f"search.enqueue={enqueue!r}: the file must hold a list of points (mappings)")
        return [dict(point) if isinstance(point, dict) else point for point in loaded]
    if isinstance(enqueue, dict):
        return [dict(enqueue)]
    if isinstance(enqueue, list | tuple):
        return [dict(point) if isinstance(point, dict) else point for point in enqueue]
    raise ConfigError(f"search.enqueue={enqueue!r} must be a list of points or a YAML/CSV file")


def _plain(value: Any) -> Any:
    """A CSV cell as the plain Python value the space compares with (NumPy scalars, whole floats)."""
    value = value.item() if hasattr(value, "item") else value
    return int(value) if isinstance(value, float) and value.is_integer() else value
