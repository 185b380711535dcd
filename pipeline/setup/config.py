"""Configuration schemas: one dataclass per ``conf/`` group, registered in Hydra's ConfigStore.

Hydra merges the YAML files into these typed nodes, so unknown keys and wrong types fail at
compose time. Entry points call ``pipeline.preflight.load_config`` once (``to_config`` here, then
every range and name checked) and pass plain ``Config`` objects downward. Importing this module
loads neither the data loaders nor Optuna nor MLflow.
"""

from dataclasses import dataclass, field, is_dataclass
from typing import Any, get_type_hints

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from models import OUTPUT_ACTIVATIONS, Architecture, FitSettings
from models.rules import Range
from models.settings import SEED_MAX, default_of, setting
from pipeline.errors import ConfigError, first_line
from pipeline.record_names import DEFAULT_STORAGE, DEFAULT_TRACKING_URI
from pipeline.setup import names
from pipeline.setup.help import register_help
from pipeline.setup.vocabulary import better_direction

PARAM_TYPES = ("float", "int", "categorical")
DIRECTIONS = ("maximize", "minimize")
LOG_MODEL = ("all", "best", "none")


@dataclass
class DatasetConfig:
    name: str = "digits"
    path: str | None = None  # CSV file, or the folder holding the course's files (cat .h5, football data.mat)
    target: str | None = None  # CSV: the label column
    task: str = "auto"  # CSV: auto, classification or regression
    val_fraction: float = 0.2
    test_fraction: float = 0.2
    scaling: str = "standard"
    n_samples: int = 400  # generated data only
    noise: float = 0.2  # generated data only
    # The error the avoidable bias is measured from (1 - accuracy; RMSE for regression): the user's proxy for the
    # Bayes error. None: estimated from the generator for planar, moons, circles and their course versions, else 0
    human_error: float | None = None


@dataclass(kw_only=True)
class ModelConfig(Architecture):
    """The network's settings (declared in ``models.settings.Architecture``) and the widths of its hidden layers."""

    hidden_units: list[int] = field(default_factory=lambda: [64, 32])  # [] is logistic regression
    # auto follows the task: sigmoid (binary), softmax (multi-class) or linear (regression)
    output: str = setting("auto", rule=("auto", *OUTPUT_ACTIVATIONS))


@dataclass(kw_only=True)
class TrainConfig(FitSettings):
    """How to train (declared in ``models.settings.FitSettings``), with the project's defaults, which are
    conf/train/default.yaml's (a test holds them equal; train=course sets the course's full-batch gradient
    descent), and what the pipeline adds around training."""

    optimizer: str = default_of(FitSettings, "optimizer", "adam")
    learning_rate: float = default_of(FitSettings, "learning_rate", 0.01)
    epochs: int = default_of(FitSettings, "epochs", 50)
    batch_size: int | None = default_of(FitSettings, "batch_size", 64)
    log_every: int = setting(1, rule=Range(1, 10**9, integer=True))  # record per-epoch metrics every N epochs
    # initialization and batching; None: the root seed. Logged as train_seed, the seed the run used.
    seed: int | None = setting(None, rule=Range(0, SEED_MAX, integer=True), optional=True, logged=False)
    # pipeline.train prints "Cost after iteration N: ..." every this many epochs, as the course's notebooks do
    # (None: silent). Display only: it changes no result, so studies neither record nor compare it.
    print_every: int | None = setting(None, rule=Range(1, 10**9, integer=True), optional=True, logged=False)


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
    name: str = "sweep"  # the preset's name: the default study is <dataset>-<name> (pipeline.setup.names)
    n_trials: int = 40
    # One metric, or a list for several objectives (a Pareto front): metric=[val_accuracy,n_parameters].
    # direction: auto (each metric's own: accuracies up, costs and sizes down), or one per metric.
    metric: Any = "val_accuracy"
    direction: Any = "auto"
    workers: int = 1
    timeout: float | None = None  # seconds for the whole sweep; None: no limit
    seed_per_trial: bool = True  # each trial its own initialization/batching seed; false: train.seed for all
    best: str = "first"  # several objectives: which Pareto trial is "best": first (best first objective), balanced
    enqueue: Any = None  # known starting points: a list of {parameter: value} dicts, or a YAML/CSV file of them
    warm_start: str | None = None  # enqueue the best trials of this other study in the same storage first
    warm_start_top: int = 5
    refine_from: str | None = None  # coarse to fine: search a space shrunk around this study's best trials
    patience: int | None = None  # stop once this many trials in a row did not improve the best value
    repeats: int = 1  # seeds per trial: the objective is their mean; the run records each seed's and mean ± sd
    confirm_seeds: int = 3  # at the end, retrain the best configuration with this many other seeds (0: never)
    # Satisficing limits the best must meet while the metric is optimized: {measure: {max: x, min: y, finite: true}}
    constraints: Any = None  # None: no limits (a mapping typed Any, so that one override can give it whole)
    # Will more data help? The best retrained on these shares of the training split at the end ([]: never)
    data_curve: list[float] = field(default_factory=lambda: [0.1, 0.25, 0.5])
    colour_by: str | None = None  # the report's bias-variance map: colour by this parameter (None: the most important)

    @property
    def metrics(self) -> list[str]:
        """The objectives' metric names, first the one that ranks the leaderboard."""
        return [str(m) for m in self.metric] if isinstance(self.metric, list | tuple) else [str(self.metric)]

    @property
    def directions(self) -> list[str]:
        """``maximize``/``minimize`` per objective, in the order of ``metrics`` (``auto``: the way each improves)."""
        if self.direction == "auto":
            return [better_direction(metric) for metric in self.metrics]
        found = self.direction if isinstance(self.direction, list | tuple) else [self.direction]
        return [str(d) for d in found]

    @property
    def multi_objective(self) -> bool:
        return len(self.metrics) > 1

    # name -> SearchParam fields; typed as Any so that `+search.space.<new>={...}` can add entries,
    # then converted to SearchParam (and checked) by to_config.
    space: dict[str, Any] = field(default_factory=dict)


@dataclass
class SamplerConfig:
    name: str = "auto"  # auto: chosen from the study's shape (pipeline/search/samplers.py choose_sampler)
    seed: int | None = None  # None: the root seed
    options: dict[str, Any] = field(default_factory=dict)  # keyword arguments of the Optuna sampler


@dataclass
class PrunerConfig:
    name: str = "auto"  # auto: none for several objectives, else the benchmark's choice (choose_pruner)
    report_every: int = 2  # epochs between reports of the metric to the pruner (written together: search/pruning.py)
    options: dict[str, Any] = field(default_factory=dict)  # keyword arguments of the Optuna pruner


@dataclass
class TrackingConfig:
    tracking_uri: str = DEFAULT_TRACKING_URI
    artifact_location: str = "mlruns/artifacts"  # for experiments this project creates
    storage: str = DEFAULT_STORAGE  # Optuna study storage (any SQLAlchemy URL)
    experiment_name: str = "deepsweep-${dataset.name}"  # resolved when Hydra composes the config
    log_model: str = "best"  # pyfunc model per run: all, best (sweeps: the best trial only), none
    log_plots: str = "best"  # learning-curve PNG per run: all, best (sweeps: the best trial only), none
    report: bool = True  # a sweep's study report (an HTML page of figures) at its end; false: none drawn
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
    study_name: str = names.AUTO  # auto: <dataset>-<search.name>[-<metrics>] (pipeline.setup.names)
    new_study: bool = False  # archive an existing study of this name (<name>-archived-<time>) and start afresh


def network_seed(config: Config) -> int:
    """The seed of initialization and mini-batch order: ``train.seed``, or the root seed."""
    return config.seed if config.train.seed is None else config.train.seed


def register_schemas() -> None:
    """Register the root schema in Hydra's ConfigStore; its typed fields type every group's YAML.

    Group schemas are not registered on their own: each would become a selectable option
    (``dataset=base_dataset`` silently meant digits) and be listed among a group's choices.
    """
    ConfigStore.instance().store(name="base_config", node=Config)
    register_help()


def to_config(cfg: DictConfig) -> Config:
    """Convert a composed Hydra config to a ``Config`` (the only conversion in the program).

    Keys added with ``+key=value``, which Hydra lets through, are refused here; ranges and names are
    checked by ``pipeline.preflight``, which every entry point calls next.
    """
    _check_keys(cfg, Config, "")
    try:
        merged = OmegaConf.merge(OmegaConf.structured(Config), cfg)
        config = OmegaConf.to_object(merged)
    except OmegaConfBaseException as error:
        key = getattr(error, "full_key", None) or "?"
        raise ConfigError(f"config key {key}: {first_line(error)}; see conf/ for the allowed keys") from None
    config.search.space = {name: _search_param(name, spec) for name, spec in config.search.space.items()}
    if config.study_name == names.AUTO:
        data = names.data_label(config.dataset.name, config.dataset.path)
        config.study_name = names.default_study_name(data, config.search.name, config.search.metrics)
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
            f"search.space.{name}: {first_line(error)}; allowed keys: {sorted(get_type_hints(SearchParam))}"
        ) from None


def _check_keys(node: DictConfig, schema: type, path: str) -> None:
    """Refuse keys that ``schema`` (a dataclass) does not declare, at any depth."""
    hints = get_type_hints(schema)
    for key in node:
        if OmegaConf.is_missing(node, key):
            group = f"{path}{key}"
            raise ConfigError(
                f"{group} has no value (was its default removed with ~{group}?); choose one, e.g. "
                f"{group}=<option>: python -m pipeline.sweep --help lists the options"
            )
        if key not in hints:
            where = f"in {path.rstrip('.')}" if path else "at the top level"
            raise ConfigError(f"unknown config key {path}{key}; allowed keys {where}: {sorted(hints)}")
        hint = hints[key]
        if is_dataclass(hint) and OmegaConf.is_dict(node[key]):
            _check_keys(node[key], hint, f"{path}{key}.")


# Top-level override keys that are not Config fields: Hydra's own settings and the experiment group.
NOT_FIELDS = ("hydra", "experiment")


def check_override_keys(overrides: list[str]) -> None:
    """Refuse a command-line key the config does not have, with the nearest names ("did you mean"), before Hydra
    answers with its own hint to append it with ``+``. Keys with ``+``/``~``, under mappings the user fills
    (``search.space``, ``sampler.options``, ...) and Hydra's own are left to Hydra and ``to_config``."""
    import difflib

    for override in overrides:
        if override.startswith(("+", "~", "-")) or "=" not in override:
            continue
        path = override.partition("=")[0].split(".")
        if path[0] in NOT_FIELDS or "/" in path[0]:  # Hydra's settings, or a group path (hydra/job_logging=...)
            continue
        schema: Any = Config
        for depth, key in enumerate(path):
            hints = get_type_hints(schema)
            if key not in hints:
                where = ".".join(path[:depth])
                near = difflib.get_close_matches(key, list(hints), n=3, cutoff=0.6)
                names = [f"{where}.{name}" if where else name for name in near]
                hint = f"; did you mean {' or '.join(names)}?" if names else f"; allowed: {sorted(hints)}"
                raise ConfigError(f"unknown config key {'.'.join(path[: depth + 1])}{hint}")
            schema = hints[key]
            if not is_dataclass(schema):
                break  # a value, or a mapping the user fills: nothing more to check here
