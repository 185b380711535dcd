"""The one pre-flight check: every entry point calls it before any store, study or run exists.

``load_config`` turns Hydra's composed config into a ``Config`` and checks every range and name
(``validate``); ``prepare_training`` and ``prepare_sweep`` then load the data and refuse whatever
training or the search would refuse later (an output layer that does not fit the task, a metric the
runs never record, a search space whose bounds the config itself refuses, bad sampler or pruner
options). Every rule is read from where it is declared: the ``model`` and ``train`` fields' own rules
(``models.settings``), ``pipeline.setup.rules.RANGES`` for the other sections, ``pipeline.setup.vocabulary``
and ``pipeline.search.samplers``.
"""

import dataclasses
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig

from models.rules import Range
from pipeline.console import add_secrets, fail_cleanly, handle_sigterm, mask_output, run_to_exit
from pipeline.errors import ConfigError
from pipeline.records.reachability import check_reachable
from pipeline.records.store_checks import (
    STORAGE_SCHEMES,
    TRACKING_SCHEMES,
    check_artifact_location,
    check_half_created,
    check_hydra_folders,
    check_name,
    check_store_uri,
)
from pipeline.search import samplers
from pipeline.search.constraints import limits_of
from pipeline.search.samplers import SINGLE_OBJECTIVE_SAMPLERS, choose_pruner, choose_sampler
from pipeline.search.space import (
    ARCHITECTURE,
    PLAIN_NAMES,
    SEARCHABLE_SECTIONS,
    apply,
    config_path,
    load_points,
    parameter_names,
    point_problem,
)
from pipeline.setup.config import (
    DIRECTIONS,
    LOG_MODEL,
    PARAM_TYPES,
    Config,
    SearchParam,
    check_override_keys,
    to_config,
)
from pipeline.setup.data import Dataset, load
from pipeline.setup.reference import BIAS_VARIANCE
from pipeline.setup.rules import RANGES, check_choice, check_dataset, check_range
from pipeline.setup.vocabulary import (
    BINARY_MEASURES,
    MODEL_MEASURES,
    TASKS,
    better_direction,
    epoch_metrics,
    final_metrics,
)

BEST_RULES = ("first", "balanced")  # search.best: which Pareto trial is registered as the best


@dataclass(frozen=True)
class Prepared:
    """A checked config and the data it names, loaded and split."""

    config: Config
    dataset: Dataset


def run_command(main: Callable[[], object]) -> None:
    """How every Hydra command starts (``python -m pipeline.sweep``, ``pipeline.train``): secrets masked in every
    printed line before Hydra runs (Hydra's and MLflow's lines included); the arguments checked before Hydra acts
    on them (its output folders, which it would create anywhere, and a mistyped key, for which Hydra's own hint
    misleads); then ``main`` run to its exit code."""
    mask_output()
    with fail_cleanly():
        check_hydra_folders(sys.argv[1:])
        check_override_keys(sys.argv[1:])
    run_to_exit(main)


def command_config(cfg: DictConfig) -> Config:
    """The checked config of a command (``load_config``), its store secrets kept out of every printed line; SIGTERM
    from here on stops the command as Ctrl-C does. Call it inside ``fail_cleanly``."""
    handle_sigterm()
    config = load_config(cfg)
    add_secrets(config.tracking.tracking_uri, config.tracking.storage)
    return config


def load_config(cfg: DictConfig) -> Config:
    """The composed config as a checked ``Config``: unknown keys, wrong types, ranges and names refused."""
    config = to_config(cfg)
    validate(config)
    return config


def prepare_training(config: Config) -> Prepared:
    """Check where the records go, load the data and refuse what one training run would refuse,
    before any store or run exists."""
    check_records(config, study=False)
    dataset = load(config.dataset, config.seed)
    dataset.output_layer(config.model.output)
    human = config.dataset.human_error
    if human is not None and TASKS[dataset.task].kind == "classification" and human >= 1:
        raise ConfigError(
            f"dataset.human_error={human} is an error rate for {dataset.name!r} ({dataset.task}): give a fraction "
            "below 1, e.g. 0.01 for 1 %"
        )
    return Prepared(config, dataset)


def prepare_sweep(config: Config) -> Prepared:
    """``prepare_training``, plus everything the search would refuse, before any study exists."""
    prepared = prepare_training(config)
    check_study_storage(config)
    check_space(config.search.space, config)
    check_metric(config, prepared.dataset)
    check_enqueue(config)
    check_colour_by(config)
    samplers.sampler(config)  # bad sampler or pruner options fail here, not in a worker
    samplers.pruner(config)
    return prepared


def check_records(config: Config, project: Path | None = None, *, study: bool = True) -> None:
    """The MLflow store and the artifact root (and, for a sweep, the study storage): usable, not in
    system folders, not half-created or damaged, their servers answering."""
    tracking = config.tracking
    check_store_uri("tracking.tracking_uri", tracking.tracking_uri, TRACKING_SCHEMES)
    check_half_created("tracking.tracking_uri", tracking.tracking_uri)
    check_artifact_location("tracking.artifact_location", tracking.artifact_location, project or Path.cwd())
    check_reachable(tracking.tracking_uri)  # a server that is down: one clear line, at once
    if study:
        check_study_storage(config)


def check_study_storage(config: Config) -> None:
    """The Optuna storage a sweep uses (``pipeline.train`` never opens it)."""
    storage = config.tracking.storage
    check_store_uri("tracking.storage", storage, STORAGE_SCHEMES)
    check_half_created("tracking.storage", storage)
    check_reachable("", storage)


# ----- the config alone ----------------------------------------------------------------------------
def validate(config: Config) -> None:
    """Check every range and name; raise ``ConfigError`` naming the key, the value and what is allowed."""
    check_dataset(config.dataset)  # test_fraction=0: no test split, so no test metrics (the course's own runs)
    _validate_model(config)
    _validate_train(config)
    _validate_search(config)
    for key in ("seed", "sampler.seed", "pruner.report_every"):
        value = _value(config, key)
        if value is not None:
            check_range(key, value, RANGES[key])
    check_choice("sampler.name", config.sampler.name, samplers.SAMPLERS)
    check_choice("pruner.name", config.pruner.name, samplers.PRUNERS)
    check_choice("tracking.log_model", config.tracking.log_model, LOG_MODEL)
    check_choice("tracking.log_plots", config.tracking.log_plots, LOG_MODEL)
    for key in ("tracking.tracking_uri", "tracking.storage", "tracking.experiment_name", "study_name"):
        value = _value(config, key)
        if not value or not str(value).strip():
            raise ConfigError(f"{key} is empty; give a non-empty value")
    # Names become parts of paths (artifact folders, report files): no folders, no "..".
    for key in ("tracking.experiment_name", "study_name", "tracking.registered_model_name"):
        check_name(key, _value(config, key))


def _value(config: Config, key: str) -> object:
    node: object = config
    for part in key.split("."):
        node = getattr(node, part)
    return node


def _validate_settings(section: str, settings: object) -> None:
    """Every field of a ``model``/``train`` section under the rule it is declared with (``models.settings``):
    ``model.keep_prob[1]=0 is not allowed; ...``, ``train.optimizer='sgd' is not allowed; choose one of ...``."""
    for spec in dataclasses.fields(settings):
        rule, value, key = spec.metadata.get("rule"), getattr(settings, spec.name), f"{section}.{spec.name}"
        if rule is None or rule is bool or (value is None and spec.metadata["optional"]):
            continue  # no rule, or a type OmegaConf has already checked
        if spec.metadata["per_layer"] and isinstance(value, list):
            for index, entry in enumerate(value):
                check_range(f"{key}[{index}]", entry, rule)
        elif isinstance(rule, Range):
            check_range(key, value, rule)
        else:
            check_choice(key, value, rule)


def _validate_model(config: Config) -> None:
    model = config.model
    for index, units in enumerate(model.hidden_units):
        if units < 1:
            raise ConfigError(f"model.hidden_units[{index}]={units} is not allowed; expected a positive integer")
    _validate_settings("model", model)
    keep = model.keep_prob if isinstance(model.keep_prob, list) else [model.keep_prob]
    depth = len(model.hidden_units)
    if isinstance(model.keep_prob, list) and len(model.keep_prob) != depth:
        raise ConfigError(
            f"model.keep_prob={model.keep_prob} has {len(model.keep_prob)} entries for {depth} hidden layers; "
            "give one per hidden layer, or one number for all"
        )
    if depth == 0 and any(value < 1 for value in keep):
        raise ConfigError("model.keep_prob < 1 needs a hidden layer: dropout never applies to the output layer")
    if model.batch_norm and depth == 0:
        raise ConfigError("model.batch_norm=true needs a hidden layer (it normalizes hidden layers only)")


def _validate_train(config: Config) -> None:
    _validate_settings("train", config.train)


def _validate_search(config: Config) -> None:
    search = config.search
    check_range("search.n_trials", search.n_trials, RANGES["search.n_trials"])
    check_range("search.confirm_seeds", search.confirm_seeds, RANGES["search.confirm_seeds"])
    check_range("search.repeats", search.repeats, RANGES["search.repeats"])
    if not search.metrics:
        raise ConfigError("search.metric=[] names no objective; name one (val_accuracy) or several")
    if len(search.metrics) != len(search.directions):
        raise ConfigError(
            f"search.metric has {len(search.metrics)} entries {search.metrics} but search.direction has "
            f"{len(search.directions)} {search.directions}; give one direction per metric"
        )
    if len(set(search.metrics)) != len(search.metrics):
        raise ConfigError(f"search.metric={search.metrics} names a metric twice; each objective once")
    for direction in search.directions:
        check_choice("search.direction", direction, DIRECTIONS)
    check_choice("search.best", search.best, BEST_RULES)
    if search.patience is not None:
        check_range("search.patience", search.patience, Range(1, 10**9, integer=True))
    check_range("search.warm_start_top", search.warm_start_top, Range(1, 10**6, integer=True))
    if search.warm_start is not None:
        check_name("search.warm_start", search.warm_start)
    if search.refine_from is not None:
        check_name("search.refine_from", search.refine_from)
    check_range("search.workers", search.workers, RANGES["search.workers"])
    if search.timeout is not None:
        check_range("search.timeout", search.timeout, RANGES["search.timeout"])
    for name, param in search.space.items():
        _validate_param(f"search.space.{name}", param)
    limits_of(search.constraints)  # the shape of every limit; the measures once the data are known
    for share in search.data_curve:
        check_range("search.data_curve", share, Range(0.0, 1.0, low_open=True, high_open=True))


def _validate_param(key: str, param: SearchParam) -> None:
    check_choice(f"{key}.type", param.type, PARAM_TYPES)
    if param.type == "categorical":
        if not param.choices:
            raise ConfigError(f"{key}.choices is empty: a categorical parameter needs at least one choice")
        return
    for bound in ("low", "high"):
        check_range(f"{key}.{bound}", getattr(param, bound), Range(-1e300, 1e300))
    if param.low > param.high:
        raise ConfigError(f"{key}: low={param.low} > high={param.high}; bounds are inclusive, low <= high")
    if param.log and param.low <= 0:
        raise ConfigError(f"{key}: log=true needs low > 0, got low={param.low}")
    if param.type == "int" and (param.low != int(param.low) or param.high != int(param.high)):
        raise ConfigError(f"{key}: an int parameter needs whole-number bounds, got [{param.low}, {param.high}]")
    if param.step is not None:
        if param.log:
            raise ConfigError(f"{key}: step and log=true cannot be combined; drop one")
        whole = param.type == "int"
        if not (param.step > 0 and param.step < 1e300) or (whole and param.step != int(param.step)):
            raise ConfigError(f"{key}.step={param.step} must be a positive {'whole ' if whole else ''}number")


# ----- the search --------------------------------------------------------------------------------
def check_space(space: dict[str, SearchParam], config: Config) -> None:
    """Refuse a space that cannot be searched, naming the entry and the fix."""
    if not space:
        raise ConfigError("search.space is empty: name at least one value to search, e.g. learning_rate")
    if "hidden_units" in space and "width" in space:
        raise ConfigError(
            "search.space has both hidden_units (one width per layer) and width (one shared width); keep one"
        )
    for name in ARCHITECTURE:
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


def check_metric(config: Config, dataset: Dataset) -> None:
    """Refuse a metric the runs of this dataset never record, a direction that makes it worse, and, for
    several objectives, what Optuna cannot do with them (pruning, CMA-ES)."""
    search = config.search
    allowed = epoch_metrics(dataset.task, dataset.has_validation)
    allowed += list(BINARY_MEASURES) if dataset.task == "binary" and dataset.has_validation else []
    allowed_here = [*allowed, *MODEL_MEASURES] if search.multi_objective else allowed
    for metric, direction in zip(search.metrics, search.directions, strict=True):
        if metric not in allowed_here:
            raise ConfigError(
                f"search.metric={metric} is never logged for dataset {dataset.name!r} "
                f"({dataset.task}{', no validation split' if not dataset.has_validation else ''}); "
                f"choose one of {allowed_here}"
                + ("" if search.multi_objective else f" (with several objectives also {list(MODEL_MEASURES)})")
            )
        better = better_direction(metric)
        if direction != better:
            raise ConfigError(f"search.direction={direction} with search.metric={metric}: use {better}")
    check_constraints(config, dataset)
    once = [metric for metric in search.metrics if metric in BINARY_MEASURES]
    if once and not search.multi_objective and choose_pruner(config)[0] != "none":
        raise ConfigError(
            f"pruner={config.pruner.name} cannot prune on {once[0]}: it is measured once, after training, not per "
            "epoch; use pruner=none (or leave pruner=auto)"
        )
    if search.multi_objective:
        if choose_pruner(config)[0] != "none":
            raise ConfigError(
                f"pruner={config.pruner.name} cannot prune a study of several objectives (Optuna reports one "
                "value per step); use pruner=none (or leave pruner=auto)"
            )
        if choose_sampler(config)[0] in SINGLE_OBJECTIVE_SAMPLERS:
            raise ConfigError(
                f"sampler={config.sampler.name} optimizes one objective; for several use tpe, nsgaii, nsgaiii, "
                "gp, random or qmc"
            )


def check_constraints(config: Config, dataset: Dataset) -> None:
    """Refuse a satisficing limit on a measure the runs of this dataset never record."""
    allowed = [*epoch_metrics(dataset.task, dataset.has_validation), *MODEL_MEASURES, *final_metrics(dataset.task)[2:]]
    allowed += list(BIAS_VARIANCE) if dataset.has_validation else []
    allowed += list(BINARY_MEASURES) if dataset.task == "binary" and dataset.has_validation else []
    for limit in limits_of(config.search.constraints):
        if limit.measure not in allowed:
            raise ConfigError(
                f"search.constraints.{limit.measure}: no run of dataset {dataset.name!r} ({dataset.task}) records "
                f"{limit.measure}; constrain one of {allowed}"
            )


def check_colour_by(config: Config) -> None:
    """``search.colour_by`` names a parameter the space suggests."""
    wanted = config.search.colour_by
    names = parameter_names(config.search.space, default_depth=len(config.model.hidden_units))
    if wanted is not None and wanted not in names:
        raise ConfigError(f"search.colour_by={wanted!r} is not a searched parameter; choose one of {sorted(names)}")


def check_enqueue(config: Config) -> None:
    """Refuse known starting points (``search.enqueue``) that the space could not have suggested: an
    unknown name, a value outside its bounds or choices, more points than the budget."""
    points = load_points(config.search.enqueue)
    if len(points) > config.search.n_trials:
        raise ConfigError(
            f"search.enqueue has {len(points)} points but search.n_trials={config.search.n_trials}; "
            "raise search.n_trials or enqueue fewer"
        )
    for index, point in enumerate(points):
        problem = point_problem(point, config.search.space, default_depth=len(config.model.hidden_units))
        if problem:
            raise ConfigError(f"search.enqueue[{index}]={point}: {problem}")
