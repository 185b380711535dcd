"""Configuration schemas: one dataclass per ``conf/`` group, registered in Hydra's ConfigStore.

Hydra merges the YAML files into these typed nodes, so unknown keys and wrong types fail at
compose time; ``validate`` then checks ranges and names. Entry points call ``to_config`` once
and pass plain ``Config`` objects downward.
"""

import math
from dataclasses import dataclass, field, is_dataclass
from typing import Any, get_type_hints

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from models import DTYPES, HIDDEN_ACTIVATIONS, INITIALIZERS, OPTIMIZERS, OUTPUT_ACTIVATIONS
from pipeline.data import DATASETS, SCALERS, TASKS

SCALINGS = tuple(SCALERS)
OUTPUTS = ("auto", *OUTPUT_ACTIVATIONS)  # the model.output choices (data.OUTPUTS maps a task to one)
PARAM_TYPES = ("float", "int", "categorical")
DIRECTIONS = ("maximize", "minimize")
SAMPLERS = ("tpe", "random", "cmaes", "qmc", "grid")
PRUNERS = ("median", "hyperband", "none")
LOG_MODEL = ("all", "best", "none")


class ConfigError(ValueError):
    """A configuration value is not allowed; the message names the key, the value and what is allowed."""


@dataclass
class DatasetConfig:
    name: str = "digits"
    path: str | None = None  # CSV file, or the folder holding the course's cat .h5 files
    target: str | None = None  # CSV: the label column
    task: str = "auto"  # CSV: auto, classification or regression
    val_fraction: float = 0.2
    test_fraction: float = 0.2
    scaling: str = "standard"
    n_samples: int = 400  # generated data only
    noise: float = 0.2  # generated data only


@dataclass
class ModelConfig:
    hidden_units: list[int] = field(default_factory=lambda: [64, 32])  # [] is logistic regression
    hidden_activation: str = "relu"
    output: str = "auto"  # auto follows the task: sigmoid, softmax or linear
    init: str = "he"
    dtype: str = "float64"


@dataclass
class TrainConfig:
    optimizer: str = "gd"
    learning_rate: float = 0.1
    epochs: int = 100
    batch_size: int | None = None  # None: full batch, as in the course
    l2: float = 0.0
    log_every: int = 1  # record per-epoch metrics every this many epochs
    seed: int | None = None  # initialization and batching; None: the root seed


@dataclass
class SearchParam:
    """One searched value; bounds are inclusive. ``type``: float, int or categorical."""

    type: str = MISSING
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: list[Any] | None = None


@dataclass
class SearchConfig:
    n_trials: int = 40
    metric: str = "val_accuracy"
    direction: str = "maximize"
    workers: int = 1
    timeout: float | None = None  # seconds for the whole sweep; None: no limit
    # name -> SearchParam fields; typed as Any so that `+search.space.<new>={...}` can add entries,
    # then converted to SearchParam (and checked) by to_config.
    space: dict[str, Any] = field(default_factory=dict)


@dataclass
class SamplerConfig:
    name: str = "tpe"
    seed: int | None = None  # None: the root seed
    options: dict[str, Any] = field(default_factory=dict)  # keyword arguments of the Optuna sampler


@dataclass
class PrunerConfig:
    name: str = "median"
    report_every: int = 5  # epochs between reports of the metric to Optuna (each is a storage write)
    options: dict[str, Any] = field(default_factory=dict)  # keyword arguments of the Optuna pruner


@dataclass
class TrackingConfig:
    tracking_uri: str = "sqlite:///mlruns/mlflow.db"
    artifact_location: str = "mlruns/artifacts"  # for experiments this project creates
    storage: str = "sqlite:///mlruns/optuna.db"  # Optuna study storage (any SQLAlchemy URL)
    experiment_name: str = "deepsweep"
    log_model: str = "best"  # pyfunc model per run: all, best (sweeps: the best trial only), none
    log_plots: str = "best"  # learning-curve PNG per run: all, best (sweeps: the best trial only), none
    registered_model_name: str | None = None  # None: the experiment name


@dataclass
class Config:
    dataset: DatasetConfig = MISSING
    model: ModelConfig = MISSING
    train: TrainConfig = MISSING
    search: SearchConfig = MISSING
    sampler: SamplerConfig = MISSING
    pruner: PrunerConfig = MISSING
    tracking: TrackingConfig = MISSING
    seed: int = 0
    study_name: str = MISSING
    new_study: bool = False  # archive an existing study of this name (<name>-archived-<time>) and start afresh


def register_schemas() -> None:
    """Register the root schema in Hydra's ConfigStore; its typed fields type every group's YAML.

    Group schemas are not registered on their own: each would become a selectable option
    (``dataset=base_dataset`` silently meant digits) and be listed among a group's choices.
    """
    ConfigStore.instance().store(name="base_config", node=Config)


def to_config(cfg: DictConfig) -> Config:
    """Convert a composed Hydra config to a validated ``Config`` (the only conversion in the program).

    Keys added with ``+key=value``, which Hydra lets through, are refused here.
    """
    _check_keys(cfg, Config, "")
    try:
        merged = OmegaConf.merge(OmegaConf.structured(Config), cfg)
        config = OmegaConf.to_object(merged)
    except OmegaConfBaseException as error:
        key = getattr(error, "full_key", None) or "?"
        raise ConfigError(f"config key {key}: {_first_line(error)}; see conf/ for the allowed keys") from None
    config.search.space = {name: _search_param(name, spec) for name, spec in config.search.space.items()}
    validate(config)
    return config


def _search_param(name: str, spec: object) -> SearchParam:
    """One ``search.space`` entry as a ``SearchParam``, refusing unknown keys and wrong types."""
    if isinstance(spec, SearchParam):
        return spec
    if not isinstance(spec, dict):
        raise ConfigError(f"search.space.{name}={spec!r} must be a mapping like {{type: float, low: 0.001, high: 1}}")
    try:
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(SearchParam), spec))
    except OmegaConfBaseException as error:
        raise ConfigError(
            f"search.space.{name}: {_first_line(error)}; allowed keys: {sorted(get_type_hints(SearchParam))}"
        ) from None


def _check_keys(node: DictConfig, schema: type, path: str) -> None:
    """Refuse keys that ``schema`` (a dataclass) does not declare, at any depth."""
    hints = get_type_hints(schema)
    for key in node:
        if key not in hints:
            where = f"in {path.rstrip('.')}" if path else "at the top level"
            raise ConfigError(f"unknown config key {path}{key}; allowed keys {where}: {sorted(hints)}")
        hint = hints[key]
        if is_dataclass(hint) and OmegaConf.is_dict(node[key]):
            _check_keys(node[key], hint, f"{path}{key}.")


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _one_of(key: str, value: object, allowed: tuple[str, ...] | list[str]) -> None:
    if value not in allowed:
        raise ConfigError(f"{key}={value!r} is not allowed; choose one of {list(allowed)}")


def _number(key: str, value: float | None, *, low: float, high: float = math.inf, low_open: bool = False) -> None:
    """Require ``low <= value <= high`` (``low < value`` when ``low_open``), finite unless ``high`` is inf."""
    bad = value is None or not math.isfinite(value) or value > high or (value <= low if low_open else value < low)
    if bad:
        left = "(" if low_open else "["
        raise ConfigError(f"{key}={value!r} is out of range; allowed: {left}{low}, {high}]")


def _validate_dataset(dataset: DatasetConfig) -> None:
    _one_of("dataset.name", dataset.name, DATASETS)
    _one_of("dataset.task", dataset.task, TASKS)
    _one_of("dataset.scaling", dataset.scaling, SCALINGS)
    _number("dataset.val_fraction", dataset.val_fraction, low=0.0, high=0.9)
    # The cat data brings its own test file; every other dataset needs a test split for test metrics.
    _number("dataset.test_fraction", dataset.test_fraction, low=0.0, high=0.9, low_open=dataset.name != "catvnoncat")
    if dataset.val_fraction + dataset.test_fraction >= 1.0:
        raise ConfigError(
            f"dataset.val_fraction + dataset.test_fraction = {dataset.val_fraction + dataset.test_fraction} "
            "leaves no training data; their sum must be below 1"
        )
    _number("dataset.n_samples", dataset.n_samples, low=10)
    _number("dataset.noise", dataset.noise, low=0.0)
    if dataset.name in ("csv", "catvnoncat") and not dataset.path:
        what = (
            "a CSV file" if dataset.name == "csv" else "the folder holding train_catvnoncat.h5 and test_catvnoncat.h5"
        )
        raise ConfigError(f"dataset.path is missing: dataset={dataset.name} needs dataset.path=<{what}>")
    if dataset.name == "csv" and not dataset.target:
        raise ConfigError("dataset.target is missing: dataset=csv needs dataset.target=<label column name>")


def _validate_model(model: ModelConfig) -> None:
    for index, units in enumerate(model.hidden_units):
        if units < 1:
            raise ConfigError(f"model.hidden_units[{index}]={units} must be a positive integer")
    _one_of("model.hidden_activation", model.hidden_activation, list(HIDDEN_ACTIVATIONS))
    _one_of("model.output", model.output, OUTPUTS)
    _one_of("model.init", model.init, INITIALIZERS)
    _one_of("model.dtype", model.dtype, list(DTYPES))


def _validate_train(train: TrainConfig) -> None:
    _one_of("train.optimizer", train.optimizer, OPTIMIZERS)
    _number("train.learning_rate", train.learning_rate, low=0.0, high=1e6, low_open=True)
    _number("train.epochs", train.epochs, low=1, high=10_000_000)
    if train.batch_size is not None:
        _number("train.batch_size", train.batch_size, low=1, high=10**12)
    _number("train.l2", train.l2, low=0.0, high=1e6)
    _number("train.log_every", train.log_every, low=1, high=10**9)


def _validate_space(space: dict[str, SearchParam]) -> None:
    for name, param in space.items():
        key = f"search.space.{name}"
        _one_of(f"{key}.type", param.type, PARAM_TYPES)
        if param.type == "categorical":
            if not param.choices:
                raise ConfigError(f"{key}.choices is empty: a categorical parameter needs at least one choice")
            continue
        for bound in ("low", "high"):
            if getattr(param, bound) is None or not math.isfinite(getattr(param, bound)):
                raise ConfigError(f"{key}.{bound}={getattr(param, bound)!r} must be a finite number")
        if param.low > param.high:
            raise ConfigError(f"{key}: low={param.low} > high={param.high}; bounds are inclusive, low <= high")
        if param.log and param.low <= 0:
            raise ConfigError(f"{key}: log=true needs low > 0, got low={param.low}")
        if param.type == "int" and (param.low != int(param.low) or param.high != int(param.high)):
            raise ConfigError(f"{key}: an int parameter needs whole-number bounds, got [{param.low}, {param.high}]")
        if param.step is not None:
            if param.log:
                raise ConfigError(f"{key}: step and log=true cannot be combined; drop one")
            if (
                not math.isfinite(param.step)
                or param.step <= 0
                or (param.type == "int" and param.step != int(param.step))
            ):
                raise ConfigError(
                    f"{key}.step={param.step} must be a positive {'whole ' if param.type == 'int' else ''}number"
                )


def _validate_search(search: SearchConfig) -> None:
    _number("search.n_trials", search.n_trials, low=1, high=10**9)
    _one_of("search.direction", search.direction, DIRECTIONS)
    _number("search.workers", search.workers, low=1, high=256)
    if search.timeout is not None:
        _number("search.timeout", search.timeout, low=0.0, low_open=True, high=10**9)
    _validate_space(search.space)


def validate(config: Config) -> None:
    """Check every range and name; raise ``ConfigError`` naming the key, the value and what is allowed."""
    _validate_dataset(config.dataset)
    _validate_model(config.model)
    _validate_train(config.train)
    _validate_search(config.search)
    for key, seed in (("seed", config.seed), ("train.seed", config.train.seed), ("sampler.seed", config.sampler.seed)):
        if seed is not None:
            _number(key, seed, low=0, high=2**32 - 1)  # what NumPy's and Optuna's generators accept
    _one_of("sampler.name", config.sampler.name, SAMPLERS)
    _one_of("pruner.name", config.pruner.name, PRUNERS)
    _number("pruner.report_every", config.pruner.report_every, low=1, high=10**9)
    _one_of("tracking.log_model", config.tracking.log_model, LOG_MODEL)
    _one_of("tracking.log_plots", config.tracking.log_plots, LOG_MODEL)
    for key in ("tracking.tracking_uri", "tracking.storage", "tracking.experiment_name", "study_name"):
        section, _, leaf = key.rpartition(".")
        value = getattr(getattr(config, section) if section else config, leaf)
        if not value or not str(value).strip():
            raise ConfigError(f"{key} is empty; give a non-empty value")
