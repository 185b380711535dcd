"""How a trial ended, in one table: its Optuna state, its MLflow run status, and whether it uses budget.

The objective records the outcome as the trial's ``outcome`` user attribute once the trial's run is
closed; every reader (the budget, the recovery, the summary, the report) asks ``outcome_of``. A
trial whose worker process died cannot record anything: a FAIL trial without the attribute died.
"""

from dataclasses import dataclass
from enum import Enum

from optuna.trial import FrozenTrial, TrialState

from pipeline.record_names import OUTCOME_ATTR
from pipeline.records.tracking import STATUS_FAILED, STATUS_FINISHED, STATUS_KILLED


@dataclass(frozen=True)
class _Facts:
    state: TrialState  # the trial's final Optuna state
    run_status: str  # the MLflow status its run is closed with
    uses_budget: bool  # counts toward search.n_trials
    meaning: str


class Outcome(Enum):
    """Every way a trial can end. Pruned runs are FINISHED, not KILLED: pruning is a normal end of a
    trial, and MLflow draws KILLED like a crash; the run's ``trial_state`` tag says PRUNED."""

    COMPLETE = _Facts(TrialState.COMPLETE, STATUS_FINISHED, True, "trained every epoch")
    PRUNED = _Facts(TrialState.PRUNED, STATUS_FINISHED, True, "stopped early by the pruner")
    FAILED = _Facts(TrialState.FAIL, STATUS_FAILED, True, "training failed (diverged, non-finite metric, no memory)")
    ERROR = _Facts(TrialState.FAIL, STATUS_FAILED, True, "a bug in training: the sweep stopped")
    INTERRUPTED = _Facts(TrialState.FAIL, STATUS_KILLED, False, "Ctrl-C or SIGTERM: a new trial takes its place")
    WRITE_FAILED = _Facts(TrialState.FAIL, STATUS_FAILED, False, "a store write failed (disk full): not its fault")
    DIED = _Facts(TrialState.FAIL, STATUS_KILLED, False, "its worker process died: retried with the same values")

    @property
    def label(self) -> str:
        """The value stored in the trial's ``outcome`` attribute: ``complete``, ``pruned``, ..."""
        return self.name.lower()

    @property
    def state(self) -> TrialState:
        return self.value.state

    @property
    def run_status(self) -> str:
        return self.value.run_status

    @property
    def uses_budget(self) -> bool:
        return self.value.uses_budget


_BY_LABEL = {outcome.label: outcome for outcome in Outcome}


def outcome_of(trial: FrozenTrial) -> Outcome | None:
    """How ``trial`` ended, or None while it is RUNNING or WAITING."""
    if trial.state in (TrialState.RUNNING, TrialState.WAITING):
        return None
    label = trial.user_attrs.get(OUTCOME_ATTR)
    if label is None:  # nobody closed it: the worker died (or, for COMPLETE/PRUNED, an older version ran it)
        return {TrialState.COMPLETE: Outcome.COMPLETE, TrialState.PRUNED: Outcome.PRUNED}.get(trial.state, Outcome.DIED)
    outcome = _BY_LABEL[label]
    # The outcome is recorded just before Optuna writes the state: a worker killed in between leaves,
    # say, ``complete`` on a trial the heartbeat later fails. It died; it must not hold budget.
    return outcome if outcome.state == trial.state else Outcome.DIED


def uses_budget(trial: FrozenTrial) -> bool:
    """Whether a trial counts toward ``search.n_trials``: running ones do, waiting ones not yet."""
    if trial.state == TrialState.WAITING:
        return False
    outcome = outcome_of(trial)
    return outcome is None or outcome.uses_budget
