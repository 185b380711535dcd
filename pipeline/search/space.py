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
from typing import TYPE_CHECKING, Any

from pipeline.errors import ConfigError
from pipeline.setup.config import Config, SearchParam

if TYPE_CHECKING:
    import optuna

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
    "keep_prob": "model.keep_prob",
    "batch_norm": "model.batch_norm",
    "momentum": "train.momentum",
    "beta1": "train.beta1",
    "beta2": "train.beta2",
    "epsilon": "train.epsilon",
    "decay": "train.decay",
    "decay_rate": "train.decay_rate",
    "time_interval": "train.time_interval",
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
