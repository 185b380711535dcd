"""When a worker dies: its trials found (dead on this machine, stale elsewhere, never claimed), failed and retried
with the same parameters, and every run made to mirror its trial again.

One protocol, three moments: between trials (``retry_dead_trials``, ``fail_stale_trials``, called by each
worker under the budget lock), when a sweep starts or resumes (``recover``), and when it stops (``interrupted``,
``crashed``). How a trial ended, and what that means for its run, is ``search/outcomes.py``'s table.
"""

import os
import socket
import sys
import time

import optuna
from optuna.storages import RDBStorage
from optuna.trial import FrozenTrial, TrialState

from pipeline.errors import ConfigError
from pipeline.record_names import (
    FAILURE_ATTR,
    KIND_TAG,
    OUTCOME_ATTR,
    OUTCOME_TAG,
    PARENT_ATTR,
    RETRY_OF_ATTR,
    RUN_ID_ATTR,
    STUDY_TAG,
    TRIAL_NUMBER_TAG,
    TRIAL_STATE_TAG,
    WORKER_ATTR,
    WORKER_STARTED_ATTR,
)
from pipeline.records.tracking import (
    STATUS_FAILED,
    STATUS_FINISHED,
    STATUS_KILLED,
    RunRecorder,
    Tracker,
    close_stale_runs,
    fail_abandoned_models,
    process_alive,
    remove_partial_files,
)
from pipeline.search.outcomes import Outcome, outcome_of
from pipeline.search.samplers import quiet_experimental

HEARTBEAT_SECONDS = 10  # a live worker writes a heartbeat this often


GRACE_SECONDS = 60  # a trial on another machine without heartbeat for this long is failed and retried


GRACE_VARIABLE = "DEEPSWEEP_HEARTBEAT_GRACE"  # overrides GRACE_SECONDS (tests, slow networks)


def heartbeat_timing() -> tuple[int, int]:
    """``(heartbeat interval, grace)`` in seconds: the defaults, or the grace DEEPSWEEP_HEARTBEAT_GRACE
    gives with a heartbeat at least six times as often, so that a live worker is never taken for dead."""
    text = os.environ.get(GRACE_VARIABLE, "").strip()
    if not text:
        return HEARTBEAT_SECONDS, GRACE_SECONDS
    if not text.isdigit() or not 2 <= int(text) <= 86_400:
        raise ConfigError(
            f"{GRACE_VARIABLE}={text!r} is not allowed; expected whole seconds from 2 to 86400 (unset: {GRACE_SECONDS})"
        )
    grace = int(text)
    return max(1, min(HEARTBEAT_SECONDS, grace // 6)), grace


MAX_RETRIES = 2  # a trial whose worker died is retried this many times with the same parameters


def dead_trials(study: optuna.Study, trials: list[FrozenTrial] | None = None) -> list[FrozenTrial]:
    """RUNNING trials started on this machine by a process that no longer exists (among ``trials``, the
    study's trials as just read, when the caller has them; else read here)."""
    host = socket.gethostname()
    dead = []
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)) if trials is None else trials
    for trial in (trial for trial in running if trial.state == TrialState.RUNNING):
        worker_host, _, pid = str(trial.user_attrs.get(WORKER_ATTR, "")).rpartition(":")
        started = trial.user_attrs.get(WORKER_STARTED_ATTR) or None  # None: older trials, or /proc could not say
        if worker_host == host and pid.isdigit() and not process_alive(int(pid), started):
            dead.append(trial)
    return dead


# User attributes that describe one attempt, not the trial: a retry starts without them (a stale
# ``worker`` would make the retry itself look dead until its objective starts).
ATTEMPT_ATTRS = (WORKER_ATTR, WORKER_STARTED_ATTR, RUN_ID_ATTR, OUTCOME_ATTR, FAILURE_ATTR)


def running_on_other_hosts(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """RUNNING trials of workers on other machines: any of them may yet die, which only the heartbeat
    grace can tell, so a worker that found the budget used up waits for them before it leaves."""
    host = socket.gethostname()
    return [
        trial
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if str(trial.user_attrs.get(WORKER_ATTR, "")).rpartition(":")[0] != host
    ]


def retry_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """Enqueue a failed trial again with the same parameters and seed, at most ``MAX_RETRIES`` times."""
    history = [*trial.system_attrs.get("retry_history", []), trial.number]
    if len(history) > MAX_RETRIES:
        return
    study.add_trial(
        optuna.create_trial(
            state=TrialState.WAITING,
            params=trial.params,
            distributions=trial.distributions,
            user_attrs={
                **{key: value for key, value in trial.user_attrs.items() if key not in ATTEMPT_ATTRS},
                RETRY_OF_ATTR: trial.number,
            },
            system_attrs={"failed_trial": history[0], "retry_history": history},
        )
    )


UNCLAIMED_SECONDS = 300  # a RUNNING trial that names no worker this long after it started is dead


def fail_stale_trials(study: optuna.Study, rdb: RDBStorage) -> None:
    """Fail, and retry, trials whose worker (on any machine) sent no heartbeat for the grace period.

    Optuna does this only as a worker starts a trial; a sweep whose budget is used up by such a
    trial would never start one, so the sweep asks for it itself. Optuna never finds stale a trial
    with no heartbeat at all (its worker was killed between creating it and its first heartbeat);
    such a trial names no worker either, since a live one names itself once its sampler has chosen
    (milliseconds; seconds for a large GP study): after ``UNCLAIMED_SECONDS`` (at least three graces)
    without a worker, it is failed and retried here.
    """
    with quiet_experimental():
        optuna.storages.fail_stale_trials(study)
    _, grace = heartbeat_timing()
    limit, now = max(3 * grace, UNCLAIMED_SECONDS), time.time()
    unclaimed = [
        trial
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if WORKER_ATTR not in trial.user_attrs
        and trial.datetime_start is not None
        and now - trial.datetime_start.timestamp() > limit
    ]
    fail_and_retry(study, rdb, unclaimed)


class StaleCheck:
    """``fail_stale_trials`` between one worker's trials, at most once per heartbeat interval.

    A trial goes stale only after a grace of several heartbeat intervals without one, and Optuna checks
    heartbeats itself as each trial starts, so a check before every trial found nothing more and cost ~5 ms
    of a trial's ~150 ms of bookkeeping. ``force``: check now whatever the time (a worker about to leave
    because the budget looks used up; one that waits sleeps an interval, so its next look checks anyway).
    Returns whether it checked.
    """

    def __init__(self, study: optuna.Study, rdb: RDBStorage) -> None:
        self.study, self.rdb = study, rdb
        self.due = 0.0  # time.monotonic() of the next check: the first look checks

    def __call__(self, force: bool = False) -> bool:
        now = time.monotonic()
        if now < self.due and not force:
            return False
        fail_stale_trials(self.study, self.rdb)
        self.due = now + heartbeat_timing()[0]
        return True


def fail_and_retry(study: optuna.Study, rdb: RDBStorage, trials: list[optuna.trial.FrozenTrial]) -> None:
    """Fail trials whose worker died and enqueue each again with the same parameters."""
    for trial in trials:
        try:
            rdb.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # another process got there first
        retry_trial(study, rdb.get_trial(trial._trial_id))


def recover(study: optuna.Study, rdb: RDBStorage, tracker: Tracker) -> None:
    """Fail (and retry) trials whose worker died (on this machine: its pid is gone; elsewhere: no
    heartbeat for the grace period), give every ended trial's run its trial's status, and mark
    FAILED the logged models that a killed process left PENDING."""
    fail_and_retry(study, rdb, dead_trials(study))
    fail_stale_trials(study, rdb)
    reconcile(study, tracker)
    fail_abandoned_models(tracker)
    remove_partial_files(tracker)


REASONS = {
    Outcome.DIED: "the worker running this trial died (killed, out of memory, or its record could not be written)",
    Outcome.INTERRUPTED: "interrupted (Ctrl-C or SIGTERM)",
}


def reconcile(study: optuna.Study, tracker: Tracker) -> None:
    """Make every ended trial's run mirror it (``Outcome.run_status``), whatever stopped what.

    A killed worker leaves its run RUNNING; a kill while a model is being logged, or a store write
    that failed after the run was closed, can leave a run whose status says otherwise than its trial;
    a trial interrupted before its run existed has none. Each trial ends with exactly one run whose
    status is the one its outcome maps to (runs are found by their ``trial_number`` tag under the
    study's parent run, so a trial whose ``mlflow_run_id`` could not be stored is still found).
    """
    parent_id = study.user_attrs.get(PARENT_ATTR)
    if parent_id is None:
        return
    # Trials first, runs second: a trial's run exists before the trial ends, so every trial ended in this read
    # has its run in the next one. The other order missed the run of a short trial that another worker started
    # and ended between the two reads, and gave that trial a second run.
    trials = study.get_trials(deepcopy=False)
    ended = [(trial, outcome) for trial in trials if (outcome := outcome_of(trial)) is not None]
    runs = _runs_to_check(tracker, parent_id, ended)
    for trial, outcome in ended:
        found = runs.get(str(trial.number))
        if found is None:
            continue  # its run is FINISHED, as its outcome says
        if not found:
            recorder = tracker.start_run(
                f"trial-{trial.number} [{outcome.label}]",
                {KIND_TAG: "trial", STUDY_TAG: study.study_name, TRIAL_NUMBER_TAG: str(trial.number)},
                parent_run_id=parent_id,
            )
            recorder.add_tags({TRIAL_STATE_TAG: outcome.state.name, OUTCOME_TAG: outcome.label})
            recorder.finish(outcome.run_status, f"{REASONS.get(outcome, outcome.value.meaning)} before its run existed")
            continue
        for run in found:
            if run.info.status != outcome.run_status:
                reason = None if outcome.run_status == STATUS_FINISHED else REASONS.get(outcome, outcome.value.meaning)
                recorder = tracker.recorder(run.info.run_id)
                # The tags repeat the outcome: a worker killed after tagging its run ``complete`` died.
                recorder.add_tags({TRIAL_STATE_TAG: outcome.state.name, OUTCOME_TAG: outcome.label})
                recorder.finish(outcome.run_status, reason)


def _runs_to_check(tracker: Tracker, parent_id: str, ended: list[tuple[FrozenTrial, Outcome]]) -> dict[str, list]:
    """The runs of the ended trials that may not mirror them, by trial number (``[]``: the trial has none; a trial
    left out has one FINISHED run, as its outcome wants).

    Reading every run of the study took 3 s at 1000 trials, at every start and end of a command; what can disagree
    is few. The runs that are not FINISHED (a killed worker's RUNNING run, a KILLED or FAILED one) in one search;
    every run of a trial whose outcome is not FINISHED (failed, died, interrupted: its run may have been closed
    FINISHED first), and of a trial that recorded no run id (it may have none), by its ``trial_number`` tag. A
    trial that recorded its run id and ended COMPLETE or PRUNED has that run, which is either FINISHED or in the
    first search.
    """
    under = f"tags.`mlflow.parentRunId` = '{parent_id}'"
    found: dict[str, list] = {}
    for run in tracker.search(f"{under} and attributes.status != '{STATUS_FINISHED}'"):
        found.setdefault(run.data.tags.get(TRIAL_NUMBER_TAG, ""), []).append(run)
    for trial, outcome in ended:
        if outcome.run_status != STATUS_FINISHED or RUN_ID_ATTR not in trial.user_attrs:
            found[str(trial.number)] = tracker.search(f"{under} and tags.`{TRIAL_NUMBER_TAG}` = '{trial.number}'")
    return found


def interrupted(
    study: optuna.Study, rdb: RDBStorage, tracker: Tracker, parent: RunRecorder, error: BaseException
) -> None:
    """Ctrl-C or SIGTERM: close what the workers could not, and mark the parent KILLED."""
    fail_and_retry(study, rdb, dead_trials(study))
    reconcile(study, tracker)
    parent.finish(STATUS_KILLED, f"interrupted ({type(error).__name__}); run the same command to resume")
    print(f"{type(error).__name__}: the sweep stopped; run the same command to resume it", file=sys.stderr)


def crashed(study: optuna.Study, rdb: RDBStorage, tracker: Tracker, parent: RunRecorder, error: BaseException) -> None:
    """A trial hit a bug (or a write failed): close what can be closed; the caller re-raises ``error``."""
    try:
        reconcile(study, tracker)
        parent.finish(STATUS_FAILED, f"{type(error).__name__}: {error}")
    except Exception as also:  # the store may be what failed; the original error is the one to report
        print(f"could not close the parent run: {also}", file=sys.stderr)


def retry_dead_trials(
    study: optuna.Study, rdb: RDBStorage, tracker: Tracker, trials: list[FrozenTrial] | None = None
) -> list[FrozenTrial]:
    """Fail and retry at once the trials of workers of this machine that died (a killed process cannot
    close its trial), and close their runs KILLED: the retry then runs within this session. ``trials``:
    the study's trials as just read, if the caller has them. Returns the dead trials (the study changed)."""
    dead = dead_trials(study, trials)
    if dead:
        fail_and_retry(study, rdb, dead)
        runs = [trial.user_attrs[RUN_ID_ATTR] for trial in dead if RUN_ID_ATTR in trial.user_attrs]
        close_stale_runs(tracker, runs, "the worker running this trial died (killed or out of memory); it was retried")
    return dead
