"""The Optuna side of a sweep: storage, creating or resuming the study, starting points and the budget
(trials whose worker died are ``search/recovery.py``'s).
"""

import json
import time
from typing import Any

import optuna
from optuna.storages import RDBStorage
from optuna.trial import TrialState

from pipeline.errors import ConfigError
from pipeline.record_names import (
    DATA_SOURCE_ATTR,
    SETTINGS_ATTR,
    STOPPED_ATTR,
)
from pipeline.records.locks import StoreLock, create_atomically, enable_wal
from pipeline.records.outage import patiently
from pipeline.records.uris import absolute_sqlite_uri, mask_password, sqlite_file
from pipeline.search.constraints import feasible
from pipeline.search.outcomes import uses_budget
from pipeline.search.patient_storage import PatientStorage
from pipeline.search.recovery import heartbeat_timing, retry_trial
from pipeline.search.samplers import pruner, quiet_experimental, sampler
from pipeline.search.space import load_points, point_problem
from pipeline.setup.config import Config
from pipeline.setup.data import Dataset


class StudyMismatchError(ConfigError):
    """The command's settings differ from those the existing study was created with."""


def _create_schema(url: str) -> None:
    """Optuna's tables in a new SQLite file (its engine closed again before the file is renamed)."""
    rdb = RDBStorage(url)
    rdb.engine.dispose()


def storage(url: str) -> RDBStorage:
    """Optuna's RDB storage with heartbeats; SQLite waits for locks instead of failing at once."""
    url = absolute_sqlite_uri(url)
    database = sqlite_file(url)
    if database is not None and not database.exists():
        with StoreLock(url, "init"):  # whole or not at all: a kill mid-creation must not brick the store
            if not database.exists():
                create_atomically(database, _create_schema)
    engine_kwargs = {"connect_args": {"timeout": 120}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    interval, grace = heartbeat_timing()
    options = {
        "engine_kwargs": engine_kwargs,
        "heartbeat_interval": interval,
        "grace_period": grace,
        "heartbeat_stale_trial_callback": retry_trial,
    }
    # A database server may restart under a sweep: its calls wait it out (records/outage.py), and so does opening
    # it (a second worker process may connect just then, and Optuna's constructor reads the schema); a file cannot.
    with quiet_experimental():
        rdb = RDBStorage(url, **options) if url.startswith("sqlite") else patiently(url, PatientStorage, url, **options)
    enable_wal(url)
    return rdb


def settings(config: Config, dataset: Dataset) -> dict[str, Any]:
    """What a study's results depend on; resuming with any of it changed would mix incomparable trials."""
    return {
        "dataset": config.dataset.name,
        "data_fingerprint": dataset.fingerprint,
        "metric": config.search.metric,
        # As studies have always recorded it: one direction, or a list for several objectives.
        "direction": config.search.directions if config.search.multi_objective else config.search.directions[0],
        "space": {name: vars(param) for name, param in sorted(config.search.space.items())},
        "fixed": {"model": vars(config.model), "train": {**results_of(vars(config.train)), "seed": None}},
        "seed": config.seed,
        # Only when set: studies made before constraints existed resume as they were.
        **({"constraints": config.search.constraints} if config.search.constraints else {}),
    }


DISPLAY_ONLY = ("print_every",)  # train settings that change what is printed, never a result


def results_of(train: dict[str, Any]) -> dict[str, Any]:
    """The train settings that shape results (``DISPLAY_ONLY`` left out)."""
    return {key: value for key, value in train.items() if key not in DISPLAY_ONLY}


def _differences(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    changes = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            changes += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            changes.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return changes


# The fixed settings a study records (``settings()["fixed"]``), by the version that added them. A study recorded
# before a setting existed trained with the value given here (the behaviour before the setting was a setting):
# it resumes as long as the setting is left at that value. A new model or train setting goes in a new version
# here; tests/pipeline/search/test_study_settings.py fails until it does (not from today's dataclass defaults, which
# may change).
FIRST_SETTINGS = {  # version 1 (2026-11-29)
    "model": ("hidden_units", "hidden_activation", "output", "init", "dtype"),
    "train": ("optimizer", "learning_rate", "epochs", "batch_size", "l2", "log_every", "seed"),
}
ADDED_SETTINGS: dict[int, dict[str, dict[str, Any]]] = {
    2: {  # 2026-12-02: the course's second part
        "model": {"init_generator": None, "keep_prob": 1.0, "dropout_masks": "default", "batch_norm": False,
                  "batch_norm_momentum": 0.9, "batch_norm_epsilon": 1e-5},
        "train": {"momentum": 0.9, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "decay": "none",
                  "decay_rate": 1.0, "time_interval": 1000, "batch_order": "default"},
    },
}  # fmt: skip


def _settled(recorded: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """``recorded`` completed with the settings later versions added, at the values runs had before they
    existed (``ADDED_SETTINGS``), where ``wanted`` leaves them there: a study made before a setting existed
    resumes as long as the setting is left alone."""
    settled = json.loads(json.dumps(recorded))
    fixed = settled.get("fixed", {})
    for added in ADDED_SETTINGS.values():
        for section, values in added.items():
            for key, value in values.items():
                if key not in fixed.get(section, {}) and wanted["fixed"][section].get(key) == value:
                    fixed.setdefault(section, {})[key] = value
    return settled


def open_study(config: Config, dataset: Dataset, rdb: RDBStorage) -> optuna.Study:
    """Create the study, or resume it if one of that name exists with the same settings.

    With ``new_study=true`` an existing study is first archived as ``<name>-archived-<time>``.
    """
    name, wanted = config.study_name, json.loads(json.dumps(settings(config, dataset), default=str))
    # The names alone: the summaries read every trial of every study (1.5 s for a 1000-trial study).
    exists = name in optuna.get_all_study_names(rdb)
    # Read and checked before anything is created or archived: a warm start from a study that is not there,
    # or more starting points than the budget, changes nothing (a warm start from the study being replaced
    # reads it before it is archived).
    points = starting_points(config, rdb) if config.new_study or not exists else []
    if len(points) > config.search.n_trials:
        raise ConfigError(
            f"{len(points)} starting points (search.enqueue and the warm start's best trials) but search.n_trials="
            f"{config.search.n_trials}: they would wait forever; raise search.n_trials or lower "
            f"search.warm_start_top"
        )
    if exists and config.new_study:
        archive = f"{name}-archived-{time.strftime('%Y%m%d-%H%M%S')}"
        optuna.copy_study(from_study_name=name, from_storage=rdb, to_storage=rdb, to_study_name=archive)
        optuna.delete_study(study_name=name, storage=rdb)
    study = optuna.create_study(
        storage=rdb,
        study_name=name,
        directions=config.search.directions,
        sampler=sampler(config),
        pruner=pruner(config),
        load_if_exists=True,
    )
    attrs = study.user_attrs
    recorded = attrs.get(SETTINGS_ATTR)
    if recorded is None:
        study.set_user_attr(SETTINGS_ATTR, wanted)
        study.set_user_attr(DATA_SOURCE_ATTR, data_source(config))
        enqueue_starting_points(study, points)  # once per study: a resume does not enqueue again
    elif _settled(recorded, wanted) != wanted:
        changes = "; ".join(
            _data_change(attrs.get(DATA_SOURCE_ATTR), data_source(config), change)
            for change in _differences(_settled(recorded, wanted), wanted)
        )
        raise StudyMismatchError(
            f"study {name!r} in {mask_password(rdb.url)} was created with other settings ({changes}). "
            f"Resume it with its original settings, choose another name (study_name=...), or archive it and "
            f"start afresh with new_study=true"
        )
    forget_an_old_stop(study, config, attrs)
    return study


def data_source(config: Config) -> str:
    """Where a study's data came from, as a user names it: the file or folder, else the dataset's name."""
    return config.dataset.path or config.dataset.name


def _data_change(old_source: str | None, new_source: str, change: str) -> str:
    """A changed data fingerprint said with the two sources (``data: a.csv -> b.csv``), not two 64-hex digests."""
    if not change.startswith("data_fingerprint:"):
        return change
    before = old_source or "the data the study was created with"
    if before == new_source:
        return f"data: {new_source} changed since the study was created (its fingerprint differs)"
    return f"data: {before} -> {new_source}"


def starting_points(config: Config, rdb: RDBStorage) -> list[dict[str, Any]]:
    """``search.enqueue``'s points, then the best ``warm_start_top`` trials of the study
    ``search.warm_start`` in the same storage whose parameters fit this space."""
    points = load_points(config.search.enqueue)
    if config.search.warm_start:
        points += warm_start_points(config, rdb)
    return points


def enqueue_starting_points(study: optuna.Study, points: list[dict[str, Any]]) -> int:
    """Enqueue the starting points in a new study (they run first, with exactly those values)."""
    for point in points:
        study.enqueue_trial(point, user_attrs={"enqueued": True}, skip_if_exists=True)
    study.set_user_attr("enqueued_points", len(points))
    return len(points)


def other_study(rdb: RDBStorage, key: str, name: str) -> optuna.Study:
    """The study ``name`` a setting (``key``: ``search.warm_start``, ``search.refine_from``) reads from the same
    storage; ``ConfigError`` naming the studies there when it does not exist."""
    try:
        return optuna.load_study(study_name=name, storage=rdb)
    except KeyError:
        known = sorted(optuna.get_all_study_names(rdb))
        raise ConfigError(f"{key}={name!r}: no such study in this storage; studies: {known}") from None


def warm_start_points(config: Config, rdb: RDBStorage) -> list[dict[str, Any]]:
    """The best complete trials of ``search.warm_start`` (its first objective) that this space could suggest."""
    name = config.search.warm_start
    source = other_study(rdb, "search.warm_start", name)
    maximize = source.directions[0] == optuna.study.StudyDirection.MAXIMIZE
    complete = source.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    ranked = sorted(complete, key=lambda t: t.values[0], reverse=maximize)
    depth = len(config.model.hidden_units)
    fitting = [t.params for t in ranked if point_problem(t.params, config.search.space, depth) is None]
    skipped = len(ranked) - len(fitting)
    chosen = fitting[: config.search.warm_start_top]
    note = f" ({skipped} of its trials do not fit this space)" if skipped else ""
    print(f"warm start: the best {len(chosen)} trials of study {name!r} run first{note}")
    return chosen


def trials_since_best(study: optuna.Study, maximize: bool, trials: list[optuna.trial.FrozenTrial] | None = None) -> int:
    """How many ended trials came after the best value so far (of the first objective) without beating it.
    ``trials``: the study's trials as just read, when the caller has them."""
    trials = study.get_trials(deepcopy=False) if trials is None else trials
    unended = (TrialState.RUNNING, TrialState.WAITING)
    ended = sorted((t for t in trials if t.state not in unended), key=lambda t: t.number)
    best, since = None, 0
    for trial in ended:
        # An infeasible trial (search.constraints) is no improvement, whatever its value.
        value = trial.values[0] if trial.state == TrialState.COMPLETE and feasible(trial) else None
        if value is not None and (best is None or (value > best if maximize else value < best)):
            best, since = value, 0
        elif uses_budget(trial):
            since += 1
    return since


def stalled_for(
    study: optuna.Study, config: Config, trials: list[optuna.trial.FrozenTrial] | None = None
) -> int | None:
    """The trials in a row that did not improve, once ``search.patience`` of them have run; else None."""
    patience = config.search.patience
    if patience is None:
        return None
    since = trials_since_best(study, config.search.directions[0] == "maximize", trials)
    return since if since >= patience else None


def forget_an_old_stop(study: optuna.Study, config: Config, user_attrs: dict[str, Any]) -> str:
    """A stop recorded by ``search.patience`` that no longer holds: at a resume with a larger patience or none,
    and at the summary when a trial of another worker, ending after the stop, improved on the best. Checked
    then, not before every trial (a read of the study's attributes each time); ``user_attrs``: the study's, as
    just read. Returns the stop's reason that still holds ("" for none)."""
    stopped = user_attrs.get(STOPPED_ATTR) or ""
    if stopped and stalled_for(study, config) is None:
        study.set_user_attr(STOPPED_ATTR, "")
        return ""
    return stopped


def stop_if_stalled(study: optuna.Study, config: Config, trials: list[optuna.trial.FrozenTrial] | None = None) -> bool:
    """``search.patience``: record why and return True once that many trials in a row did not improve.
    ``trials``: the study's trials as just read, when the caller has them."""
    patience, since = config.search.patience, stalled_for(study, config, trials)
    if since is None:
        return False
    recorded = study.user_attrs.get(STOPPED_ATTR, "")
    if not recorded.startswith(f"search.patience={patience}:"):
        reason = f"search.patience={patience}: {since} trials in a row did not improve {config.search.metrics[0]}"
        study.set_user_attr(STOPPED_ATTR, reason)
    return True


def used_budget(study: optuna.Study, trials: list[optuna.trial.FrozenTrial] | None = None) -> int:
    """Trials that count toward ``search.n_trials``: running or ended, except those that did not use
    budget (``Outcome.uses_budget``); waiting ones (retries, enqueued points) count once they run.
    ``trials``: the study's trials as just read, when the caller has them (each read is a few SQL queries)."""
    return sum(uses_budget(trial) for trial in (study.get_trials(deepcopy=False) if trials is None else trials))
