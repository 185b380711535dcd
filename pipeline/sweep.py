"""``python -m pipeline.sweep``: an Optuna study over the configured search space, every trial an MLflow run.

Examples::

    python -m pipeline.sweep                                  # digits, 40 trials, CMA-ES + median pruning
    python -m pipeline.sweep search.n_trials=60 search.workers=2 sampler=random pruner=hyperband
    python -m pipeline.sweep dataset=breast_cancer search=extended

Running the same command again resumes the study (same ``study_name``) until ``search.n_trials``
trials have finished in total. Exit codes: 0 done, 1 refused input or a trial crashed on a bug,
130 Ctrl-C, 143 SIGTERM.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import hydra
from omegaconf import DictConfig

from pipeline.console import Terminated, fail_cleanly
from pipeline.preflight import command_config, prepare_sweep, run_command
from pipeline.records.uris import absolute_sqlite_uri, mask_password, sqlite_file
from pipeline.setup.config import Config, register_schemas

# Optuna, MLflow and the search modules are imported by the functions that use them: ``--help`` and a
# refused override need only Hydra and the config, and answer in a fraction of a second
# (docs/BENCHMARKS.md, time to an answer).
if TYPE_CHECKING:
    import optuna
    from optuna.storages import RDBStorage

    from pipeline.records.tracking import RunRecorder, Tracker
    from pipeline.search.drawer import Drawer
    from pipeline.search.workers import Worker
    from pipeline.setup.data import Dataset

register_schemas()


def sweep(config: Config) -> int:
    """Create or resume the study, run its trials, and record the summary; returns the exit code."""
    from pipeline.search.workers import start_workers

    workers = start_workers(config)  # they import while this process checks and prepares
    try:
        return _sweep(config, workers)
    finally:
        for worker in workers:
            worker.cancel()  # a no-op for a worker that started; stops one that never will
        for worker in workers:
            worker.process.join()


def _sweep(config: Config, workers: list[Worker]) -> int:
    import optuna

    from pipeline.records.locks import StoreLock
    from pipeline.records.tracking import Tracker, close_dead_runs
    from pipeline.search import study as studies
    from pipeline.search import summary
    from pipeline.search.drawer import Drawer
    from pipeline.search.recovery import recover

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # failures are reported by the objective
    dataset = prepare_sweep(config).dataset  # everything refused before any store is touched
    announce(config)
    tracker = Tracker(config.tracking.tracking_uri, config.tracking.experiment_name, config.tracking.artifact_location)
    # Initialise both stores once, here, before any worker starts (concurrent first-time schema
    # creation corrupts SQLite stores); the lock also covers other sweeps of the study starting now.
    with StoreLock(config.tracking.storage, "init"):
        rdb = studies.storage(config.tracking.storage)
        links: dict[str, str] = {}
        if config.search.refine_from:  # coarse to fine: the space shrunk around another study's best trials
            from pipeline.search.refine import refined

            config, links = refined(config, rdb)
        study = studies.open_study(config, dataset, rdb)
        close_dead_runs(tracker)
        parent = summary.parent_run(tracker, study, config, links)
        recover(study, rdb, tracker)
    at_start = studies.used_budget(study)
    where_it_stands(config, study, at_start)
    # One worker trains on one core: the report's drawing child warms up on another meanwhile.
    spare_core = config.search.workers == 1 and len(os.sched_getaffinity(0)) > 1
    drawer = Drawer() if config.tracking.report and spare_core else None
    try:
        return _trials_then_summary(config, workers, dataset, (study, rdb, tracker, parent), at_start, drawer)
    finally:
        if drawer is not None:
            drawer.cancel()  # not given the study (the sweep stopped before its summary, or had none to draw)


def _trials_then_summary(
    config: Config,
    workers: list[Worker],
    dataset: Dataset,
    stores: tuple[optuna.Study, RDBStorage, Tracker, RunRecorder],
    at_start: int,
    drawer: Drawer | None,
) -> int:
    """Run the trials, then the summary (``drawer``: the report's drawing child, if one was forked); the exit
    code, 130 or 143 when interrupted, a worker's when one failed."""
    from threadpoolctl import threadpool_limits

    from pipeline.records.locks import StoreLock
    from pipeline.search import study as studies
    from pipeline.search import summary
    from pipeline.search.progress import Progress
    from pipeline.search.recovery import crashed, interrupted
    from pipeline.search.workers import WorkerFailedError, run_all
    from pipeline.setup.threads import one_blas_thread

    study, rdb, tracker, parent = stores
    deadline = time.time() + config.search.timeout if config.search.timeout else None
    with Progress(config, study) as progress:
        try:
            run_all(config, parent.run_id, deadline, dataset, workers)
        except KeyboardInterrupt as interrupt:
            progress.close()
            interrupted(study, rdb, tracker, parent, interrupt)
            return 143 if isinstance(interrupt, Terminated) else 130
        except BaseException as error:
            progress.close()
            crashed(study, rdb, tracker, parent, error)
            if isinstance(error, WorkerFailedError):
                print(f"error: {error}", file=sys.stderr)
                return error.code
            raise
    # The end-of-sweep retrainings (other seeds, the data curve) train the same small networks as the trials.
    with (
        StoreLock(config.tracking.storage, "init"),
        threadpool_limits(1 if one_blas_thread(config, dataset, True) else None),
    ):
        try:
            code = summary.finish(study, rdb, tracker, parent, config, dataset, report_folder(config), drawer)
        except BaseException as error:  # e.g. a full disk while publishing the best model
            crashed(study, rdb, tracker, parent, error)
            raise
    ran = studies.used_budget(study) - at_start
    print(f"this run: {ran} trials; the study: {studies.used_budget(study)} of {config.search.n_trials}")
    return code


def announce(config: Config) -> None:
    """Say which stores are used (a sweep started elsewhere would silently start another study) and how it
    searches."""
    print(
        f"stores: tracking {mask_password(absolute_sqlite_uri(config.tracking.tracking_uri, create=False))}, "
        f"study {mask_password(absolute_sqlite_uri(config.tracking.storage, create=False))} "
        f"(study {config.study_name!r})"
    )
    print(search_line(config))


def where_it_stands(config: Config, study: optuna.Study, at_start: int) -> None:
    """``nothing to run`` when the budget is used, ``resuming ...`` when the study has trials already."""
    from optuna.trial import TrialState

    waiting = len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))
    if at_start >= config.search.n_trials and not waiting:
        print(
            f"nothing to run: study {config.study_name!r} already has {at_start} of search.n_trials="
            f"{config.search.n_trials} trials; raise search.n_trials to continue (e.g. "
            f"search.n_trials={config.search.n_trials * 2}), or start afresh with new_study=true"
        )
    elif at_start:
        print(f"resuming study {config.study_name!r}: {at_start} of {config.search.n_trials} trials done")


def search_line(config: Config) -> str:
    """``search: sampler tpe (auto: one objective; ...), pruner percentile (auto: one objective)``."""
    from pipeline.search.constraints import BLIND_SAMPLERS
    from pipeline.search.samplers import choose_pruner, choose_sampler

    parts = []
    for kind, (name, why) in (("sampler", choose_sampler(config)), ("pruner", choose_pruner(config))):
        parts.append(f"{kind} {name}" + (f" (auto: {why})" if getattr(config, kind).name == "auto" else ""))
    line = "search: " + ", ".join(parts)
    if config.search.constraints and choose_sampler(config)[0] in BLIND_SAMPLERS:
        line += (
            f"\nsearch.constraints: sampler {choose_sampler(config)[0]} does not read them when it samples (tpe, gp, "
            "nsgaii and nsgaiii do); every trial still records them and the best is chosen among those that meet them"
        )
    return line


def report_folder(config: Config) -> Path:
    """Where study reports are written: ``reports/`` beside a SQLite study storage, else ``./reports``.

    With server stores nothing local may look like a store, so the report does not go into ``mlruns/``.
    """
    database = sqlite_file(config.tracking.storage)
    return (database.parent if database is not None else Path.cwd()) / "reports"


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> int:
    with fail_cleanly():
        code = sweep(command_config(cfg))
    if code:
        sys.exit(code)
    return 0


if __name__ == "__main__":
    run_command(main)
