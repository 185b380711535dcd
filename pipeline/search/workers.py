"""The worker pool and the trial loop: ``search.workers`` processes against one study, each running trials under
the budget lock until the budget is used up, the deadline passes or the search has stalled.

Worker 0 is the command's own process; workers 1..N-1 are started first thing (``start_workers``) so that their
imports and data loading overlap the command's pre-flight, then told to go (``run_workers``). Between trials each
worker fails and retries the trials of dead workers (``search/recovery.py``).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import multiprocessing.context
import signal
import sys
import time
from typing import TYPE_CHECKING

from pipeline.console import add_secrets, handle_sigterm, mask_output
from pipeline.interrupts import Terminated, critical
from pipeline.records.locks import StoreLock
from pipeline.records.tracking import Tracker
from pipeline.search import samplers
from pipeline.search import study as studies
from pipeline.search.recovery import StaleCheck, heartbeat_timing, retry_dead_trials
from pipeline.setup.config import Config
from pipeline.setup.data import load

if TYPE_CHECKING:
    import optuna
    from optuna.storages import RDBStorage

    from pipeline.setup.data import Dataset


class WorkerFailedError(RuntimeError):
    """A worker process other than this one ended with a non-zero exit code (``code``)."""

    def __init__(self, code: int) -> None:
        super().__init__(f"a worker process exited with code {code}; see its output above")
        self.code = code


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

    from pipeline.search.objective import EXPECTED_FAILURES, Objective
    from pipeline.search.recovery import running_on_other_hosts
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
    check_stale = StaleCheck(study, rdb)
    try:
        while deadline is None or time.time() < deadline:
            lock.acquire()
            try:
                checked = check_stale()  # a dead worker's trial must not hold budget forever
                done, trials = budget_used_up(study, rdb, tracker, config)
                if done and not checked:  # before leaving: a trial gone stale since the last look
                    check_stale(force=True)
                    done, trials = budget_used_up(study, rdb, tracker, config)
                samplers.lie_only_beside_others(study.sampler, config, trials)
                if done and not running_on_other_hosts(study):
                    break
                if not done:
                    # A signal waits while Optuna creates and tells the trial (a state write cut in half left
                    # the trial RUNNING with its run closed); the objective trains interruptibly inside.
                    with critical():
                        study.optimize(objective, n_trials=1, catch=EXPECTED_FAILURES, gc_after_trial=False)
            finally:
                lock.release()
            if done:  # a trial on another machine may still die: wait until it ends or goes stale
                time.sleep(heartbeat_timing()[0])
    finally:
        if limits is not None:
            limits.unregister()


def budget_used_up(
    study: optuna.Study, rdb: RDBStorage, tracker: Tracker, config: Config
) -> tuple[bool, list[optuna.trial.FrozenTrial]]:
    """Whether this worker should start no trial, and the study's trials it read to decide: the budget is used
    once this machine's dead workers' trials are failed and retried (the retry, WAITING, no longer counts; the
    dead trial, RUNNING, did), or the search has stalled (``search.patience``). One read of the study's trials
    serves both checks (and the sampler's liar: ``samplers.lie_only_beside_others``) unless retries changed it."""
    trials = study.get_trials(deepcopy=False)
    if retry_dead_trials(study, rdb, tracker, trials):
        trials = study.get_trials(deepcopy=False)  # read it again
    used = studies.used_budget(study, trials) >= config.search.n_trials
    return used or studies.stop_if_stalled(study, config, trials), trials


class Worker:
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

    try:
        return load(config.dataset, config.seed)
    except Exception:
        return None


def start_workers(config: Config) -> list[Worker]:
    """Workers 1..N-1 (this process is worker 0), started now so that their imports and data loading
    overlap this process's pre-flight and store preparation; fresh interpreters (``spawn``): no
    inherited locks or connections."""
    context = multiprocessing.get_context("spawn")
    return [Worker(context, config, index) for index in range(1, config.search.workers)]


def run_all(
    config: Config, parent_run_id: str, deadline: float | None, dataset: Dataset, workers: list[Worker]
) -> None:
    """Run the sweep's trials: in this process alone, or with ``workers`` (``run_workers``); raises
    ``WorkerFailedError`` when another worker hit a bug or was killed, to stop the sweep as a crash would."""
    from pipeline.setup.threads import one_blas_thread

    if config.search.workers == 1:
        # One worker: one BLAS thread when the products are small (pipeline/setup/threads.py), else all.
        one = one_blas_thread(config, dataset, sweep=True)
        run_worker(config, parent_run_id, 0, deadline, one_thread=one, dataset=dataset)
        return
    status = run_workers(config, parent_run_id, deadline, dataset, workers)
    if status:
        raise WorkerFailedError(status)


def run_workers(
    config: Config, parent_run_id: str, deadline: float | None, dataset: Dataset, workers: list[Worker]
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
