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

import contextlib
import multiprocessing
import multiprocessing.connection
import multiprocessing.context
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import hydra
from omegaconf import DictConfig

from pipeline.console import Terminated, add_secrets, fail_cleanly, handle_sigterm, mask_output, run_to_exit
from pipeline.preflight import load_config, prepare_sweep
from pipeline.record_names import RUN_ID_ATTR
from pipeline.records.store_checks import check_hydra_folders
from pipeline.records.uris import absolute_sqlite_uri, mask_password, sqlite_file
from pipeline.setup.config import Config, check_override_keys, register_schemas

# Optuna, MLflow and the search modules are imported by the functions that use them: ``--help`` and a
# refused override need only Hydra and the config, and answer in a fraction of a second
# (docs/BENCHMARKS.md, time to an answer).
if TYPE_CHECKING:
    import optuna
    from optuna.storages import RDBStorage

    from pipeline.records.tracking import Tracker
    from pipeline.setup.data import Dataset

register_schemas()


class WorkerFailedError(RuntimeError):
    """A worker process other than this one ended with a non-zero exit code."""


def run_worker(
    config: Config,
    parent_run_id: str,
    worker: int,
    deadline: float | None,
    one_thread: bool,
    dataset: Dataset | None = None,
) -> None:
    """Run trials until the study's budget is used up or the deadline passes.

    ``dataset``: the data when this process has loaded them already (worker 0); others load them.
    """
    import optuna
    from threadpoolctl import threadpool_limits

    from pipeline.records.locks import StoreLock
    from pipeline.records.tracking import Tracker
    from pipeline.search import samplers
    from pipeline.search import study as studies
    from pipeline.search.objective import EXPECTED_FAILURES, Objective
    from pipeline.setup.data import load

    handle_sigterm()
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # failures are reported by the objective
    limits = threadpool_limits(1) if one_thread else None  # parallel workers must not fight over the cores
    dataset = dataset or load(config.dataset, config.seed)
    rdb = studies.storage(config.tracking.storage)
    study = optuna.load_study(study_name=config.study_name, storage=rdb, pruner=samplers.pruner(config))
    # Each worker and each resumed session draws its own random stream (the same one would repeat trials).
    study.sampler = samplers.sampler(config, stream=(worker, studies.used_budget(study)))
    tracker = Tracker(config.tracking.tracking_uri, config.tracking.experiment_name)
    lock = StoreLock(config.tracking.storage, "budget")  # exact trial counts among all workers
    # The trial exists once the objective runs: release the lock there so that others count it.
    objective = Objective(config, dataset, tracker, parent_run_id, on_start=lock.release)
    try:
        while deadline is None or time.time() < deadline:
            lock.acquire()
            try:
                studies.fail_stale_trials(study, rdb)  # a dead worker's trial must not hold budget forever
                retry_dead_trials(study, rdb, tracker)
                done = studies.used_budget(study) >= config.search.n_trials or studies.stop_if_stalled(study, config)
                if done and not studies.running_on_other_hosts(study):
                    break
                if not done:
                    study.optimize(objective, n_trials=1, catch=EXPECTED_FAILURES, gc_after_trial=False)
            finally:
                lock.release()
            if done:  # a trial on another machine may still die: wait until it ends or goes stale
                time.sleep(studies.heartbeat_timing()[0])
    finally:
        if limits is not None:
            limits.unregister()


def retry_dead_trials(study: optuna.Study, rdb: RDBStorage, tracker: Tracker) -> None:
    """Fail and retry at once the trials of workers of this machine that died (a killed process cannot
    close its trial), and close their runs KILLED: the retry then runs within this session."""
    from pipeline.records.tracking import close_stale_runs
    from pipeline.search import study as studies

    dead = studies.dead_trials(study)
    if dead:
        studies.fail_and_retry(study, rdb, dead)
        runs = [trial.user_attrs[RUN_ID_ATTR] for trial in dead if RUN_ID_ATTR in trial.user_attrs]
        close_stale_runs(tracker, runs, "the worker running this trial died (killed or out of memory); it was retried")


class _Worker:
    """A worker process started with the command: it imports and loads the data while this process
    checks the config and prepares the stores, then waits for the word to start (the parent run's id)."""

    def __init__(self, context: multiprocessing.context.SpawnContext, config: Config, index: int) -> None:
        receive, self._send = context.Pipe(duplex=False)
        self.process = context.Process(target=_worker_entry, args=(config, index, receive), name=f"worker-{index}")
        self.process.start()
        receive.close()  # the child has its own end now
        self.started = False

    def start(self, parent_run_id: str, deadline: float | None) -> None:
        self._send.send((parent_run_id, deadline))
        self.started = True

    def cancel(self) -> None:
        """Stop a worker that was never told to start (the command stops before any trial): it has
        created nothing and holds nothing, so it ends at once, without waiting for its imports."""
        if not self.started and self.process.is_alive():
            self.process.terminate()
        with contextlib.suppress(OSError):
            self._send.close()


def _worker_entry(config: Config, worker: int, start: multiprocessing.connection.Connection) -> None:
    """A worker process: exits 143 on SIGTERM, 1 when a trial hit a bug, 0 without a word if the
    command ended before the stores existed (refused input: the command itself says why; it stops a
    waiting worker with SIGTERM, which ends it at once: no handler is installed before the start).

    Ctrl-C in a terminal reaches every process of the group; the workers ignore it and let the
    command, which gets it too, stop them with one SIGTERM each (two signals could interrupt a
    worker while it closes its run).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    mask_output()
    add_secrets(config.tracking.tracking_uri, config.tracking.storage)
    dataset = _preload(config)
    try:
        message = start.recv()
    except EOFError:  # the command ended (or was killed) before the stores existed
        return
    parent_run_id, deadline = message
    try:
        run_worker(config, parent_run_id, worker, deadline, one_thread=True, dataset=dataset)
    except Terminated:
        sys.exit(143)
    except KeyboardInterrupt:
        sys.exit(130)


def _preload(config: Config) -> Dataset | None:
    """Everything a worker imports, and its data, before the command has the stores ready: the
    worker then starts trials as soon as it is told to. ``None`` where the data do not load (the
    command's pre-flight reports why and stops; a worker told to go loads them again)."""
    import pipeline.search.objective  # noqa: F401 (Optuna, MLflow and the training code)
    from pipeline.setup.data import load

    try:
        return load(config.dataset, config.seed)
    except Exception:
        return None


def start_workers(config: Config) -> list[_Worker]:
    """Workers 1..N-1 (this process is worker 0), started now so that their imports and data loading
    overlap this process's pre-flight and store preparation; fresh interpreters (``spawn``): no
    inherited locks or connections."""
    context = multiprocessing.get_context("spawn")
    return [_Worker(context, config, index) for index in range(1, config.search.workers)]


def run_workers(
    config: Config, parent_run_id: str, deadline: float | None, dataset: Dataset, workers: list[_Worker]
) -> int:
    """Run ``search.workers`` workers against the same storage; returns 1 if one hit a bug, else 0.

    A worker killed by a signal does not stop the sweep: its trial is retried and the budget finished.
    This process is worker 0; ``workers`` are the others, waiting (``start_workers``).
    """
    others = [worker.process for worker in workers]
    try:
        for worker in workers:
            worker.start(parent_run_id, deadline)
        run_worker(config, parent_run_id, 0, deadline, one_thread=True, dataset=dataset)
        for process in others:
            process.join()
        # A process killed by signal N reports -N; the shell's convention for it is 128 + N.
        codes = [128 - code if code < 0 else code for code in (process.exitcode or 0 for process in others)]
        killed = [f"worker-{index} (exit {code})" for index, code in enumerate(codes, start=1) if code >= 128]
        if killed:
            # Its trial may have died after this worker saw the budget used up: run what is left here.
            print(f"warning: {', '.join(killed)} stopped early; its trial is retried by this process", file=sys.stderr)
            run_worker(config, parent_run_id, 0, deadline, one_thread=True, dataset=dataset)
    except BaseException:
        for process in others:
            if process.is_alive():
                process.terminate()  # SIGTERM: each closes its trial and run on the way out
        for process in others:
            process.join()
        raise
    return max((code for code in codes if code < 128), default=0)  # a bug in a worker (exit 1) stops the sweep


def sweep(config: Config) -> int:
    """Create or resume the study, run its trials, and record the summary; returns the exit code."""
    workers = start_workers(config)  # they import while this process checks and prepares
    try:
        return _sweep(config, workers)
    finally:
        for worker in workers:
            worker.cancel()  # a no-op for a worker that started; stops one that never will
        for worker in workers:
            worker.process.join()


def _sweep(config: Config, workers: list[_Worker]) -> int:
    import optuna
    from optuna.trial import TrialState
    from threadpoolctl import threadpool_limits

    from pipeline.records.locks import StoreLock
    from pipeline.records.tracking import Tracker, close_dead_runs
    from pipeline.search import study as studies
    from pipeline.search import summary
    from pipeline.search.progress import Progress
    from pipeline.setup.threads import one_blas_thread

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # failures are reported by the objective
    dataset = prepare_sweep(config).dataset  # everything refused before any store is touched
    # Say which stores are used: a sweep started elsewhere would silently start another study.
    print(
        f"stores: tracking {mask_password(absolute_sqlite_uri(config.tracking.tracking_uri, create=False))}, "
        f"study {mask_password(absolute_sqlite_uri(config.tracking.storage, create=False))} "
        f"(study {config.study_name!r})"
    )
    print(search_line(config))
    # Initialise both stores once, here, before any worker starts (concurrent first-time schema
    # creation corrupts SQLite stores); the lock also covers other sweeps of the study starting now.
    tracker = Tracker(config.tracking.tracking_uri, config.tracking.experiment_name, config.tracking.artifact_location)
    with StoreLock(config.tracking.storage, "init"):
        rdb = studies.storage(config.tracking.storage)
        links: dict[str, str] = {}
        if config.search.refine_from:  # coarse to fine: the space shrunk around another study's best trials
            from pipeline.search.refine import refined

            config, links = refined(config, rdb)
        study = studies.open_study(config, dataset, rdb)
        close_dead_runs(tracker)
        parent = summary.parent_run(tracker, study, config, links)
        summary.recover(study, rdb, tracker)
    at_start = studies.used_budget(study)
    waiting = len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))
    if at_start >= config.search.n_trials and not waiting:
        print(
            f"nothing to run: study {config.study_name!r} already has {at_start} of search.n_trials="
            f"{config.search.n_trials} trials; raise search.n_trials to continue (e.g. "
            f"search.n_trials={config.search.n_trials * 2}), or start afresh with new_study=true"
        )
    elif at_start:
        print(f"resuming study {config.study_name!r}: {at_start} of {config.search.n_trials} trials done")
    deadline = time.time() + config.search.timeout if config.search.timeout else None
    status = 0
    with Progress(config, study) as progress:
        try:
            if config.search.workers == 1:
                # One worker: one BLAS thread when the products are small (pipeline/setup/threads.py), else all.
                one = one_blas_thread(config, dataset, sweep=True)
                run_worker(config, parent.run_id, 0, deadline, one_thread=one, dataset=dataset)
            else:
                status = run_workers(config, parent.run_id, deadline, dataset, workers)
                if status:  # another worker hit a bug or was killed: stop as a crash would
                    raise WorkerFailedError(f"a worker process exited with code {status}; see its output above")
        except KeyboardInterrupt as interrupt:
            progress.close()
            summary.interrupted(study, rdb, tracker, parent, interrupt)
            return 143 if isinstance(interrupt, Terminated) else 130
        except BaseException as error:
            progress.close()
            summary.crashed(study, rdb, tracker, parent, error)
            if isinstance(error, WorkerFailedError):
                print(f"error: {error}", file=sys.stderr)
                return status
            raise
    # The end-of-sweep retrainings (other seeds, the data curve) train the same small networks as the trials.
    with (
        StoreLock(config.tracking.storage, "init"),
        threadpool_limits(1 if one_blas_thread(config, dataset, True) else None),
    ):
        try:
            code = summary.finish(study, rdb, tracker, parent, config, dataset, report_folder(config))
        except BaseException as error:  # e.g. a full disk while publishing the best model
            summary.crashed(study, rdb, tracker, parent, error)
            raise
    ran = studies.used_budget(study) - at_start
    print(f"this run: {ran} trials; the study: {studies.used_budget(study)} of {config.search.n_trials}")
    return status or code


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
    handle_sigterm()
    with fail_cleanly():
        config = load_config(cfg)
        add_secrets(config.tracking.tracking_uri, config.tracking.storage)
        code = sweep(config)
    if code:
        sys.exit(code)
    return 0


if __name__ == "__main__":
    mask_output()  # before Hydra runs: no secret in any printed line, Hydra's and MLflow's included
    with fail_cleanly():
        check_hydra_folders(sys.argv[1:])  # before Hydra creates them
        check_override_keys(sys.argv[1:])  # a typo: "did you mean", not Hydra's hint to append it
    run_to_exit(main)
