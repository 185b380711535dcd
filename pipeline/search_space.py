"""The search space as data: ``search.space`` entries become define-by-run ``trial.suggest_*`` calls.

Names with a meaning of their own:

- ``depth``: the number of hidden layers, suggested first;
- ``hidden_units``: one width per hidden layer, suggested as ``hidden_units_l1 .. hidden_units_l{depth}``
  (so the space is conditional on depth);
- ``width``: one width shared by every hidden layer.

Any other name is a ``model.`` or ``train.`` config value: a plain name (``learning_rate``, ``l2``,
``batch_size``, ``optimizer``, ``epochs``, ``hidden_activation``, ``init``, ``dtype``) or a dotted
path (``train.l2``); ``train.seed`` is not searchable (every trial gets its own). Bounds are
inclusive: ``low <= value <= high``.
"""

import copy
from typing import Any

import optuna

from pipeline.config import Config, ConfigError, SearchParam, validate

# Plain names of searchable config values -> their place in the config.
PLAIN_NAMES = {
    "learning_rate": "train.learning_rate",
    "epochs": "train.epochs",
    "batch_size": "train.batch_size",
    "l2": "train.l2",
    "optimizer": "train.optimizer",
    "hidden_activation": "model.hidden_activation",
    "init": "model.init",
    "dtype": "model.dtype",
}
ARCHITECTURE = ("depth", "hidden_units", "width")
SEARCHABLE_SECTIONS = ("model", "train")


def config_path(name: str) -> str:
    """Where a searched name lives in the config (``learning_rate`` -> ``train.learning_rate``)."""
    return PLAIN_NAMES.get(name, name)


def check_space(space: dict[str, SearchParam], config: Config) -> None:
    """Refuse a space that cannot be searched, naming the entry and the fix."""
    if not space:
        raise ConfigError("search.space is empty: name at least one value to search, e.g. learning_rate")
    if "hidden_units" in space and "width" in space:
        raise ConfigError(
            "search.space has both hidden_units (one width per layer) and width (one shared width); keep one"
        )
    for name in ("depth", "hidden_units", "width"):
        if name in space and space[name].type not in ("int", "categorical"):
            raise ConfigError(f"search.space.{name}.type={space[name].type} must be int or categorical")
    if "depth" in space and space["depth"].type == "int" and space["depth"].low < 0:
        raise ConfigError(f"search.space.depth.low={space['depth'].low} must be >= 0 (0 is logistic regression)")
    if "depth" in space and "hidden_units" not in space and "width" not in space:
        raise ConfigError("search.space.depth needs hidden_units or width in search.space to size the layers")
    for name, param in space.items():
        if name not in ARCHITECTURE:
            # Only what shapes one training run: the data are loaded once per sweep, and every trial
            # gets its own seed.
            section, _, leaf = config_path(name).partition(".")
            searchable = section in SEARCHABLE_SECTIONS and leaf != "seed"
            if not searchable or not hasattr(getattr(config, section), leaf):
                raise ConfigError(
                    f"search.space.{name} is not a searchable value; use depth, hidden_units, width, "
                    f"one of {sorted(PLAIN_NAMES)} or a dotted path under model. or train. (except train.seed)"
                )
        if name != "depth":
            _check_values(name, param, config)


def _check_values(name: str, param: SearchParam, config: Config) -> None:
    """Refuse a space whose bounds or choices the config itself would refuse (a bad optimizer name,
    learning_rate=0), so that no trial meets it mid-sweep."""
    candidates = list(param.choices) if param.type == "categorical" else [param.low, param.high]
    for value in candidates:
        value = int(value) if param.type == "int" else value
        values = {"hidden_units": [value]} if name in ("hidden_units", "width") else {name: value}
        try:
            validate(apply(config, values))
        except (ConfigError, TypeError) as error:
            raise ConfigError(f"search.space.{name} allows {value!r}, which is refused: {error}") from None


def _suggest(trial: optuna.Trial, name: str, param: SearchParam) -> Any:
    if param.type == "categorical":
        return trial.suggest_categorical(name, list(param.choices))
    if param.type == "int":
        step = int(param.step) if param.step else 1
        return trial.suggest_int(name, int(param.low), int(param.high), step=step, log=param.log)
    return trial.suggest_float(name, param.low, param.high, step=param.step, log=param.log)


def suggest(trial: optuna.Trial, space: dict[str, SearchParam], default_depth: int) -> dict[str, Any]:
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
