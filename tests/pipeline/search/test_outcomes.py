"""How a trial ended, read from its state and its ``outcome`` attribute."""

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from pipeline.search.outcomes import Outcome, outcome_of, uses_budget


def trial(state: TrialState, **user_attrs: object) -> optuna.trial.FrozenTrial:
    return optuna.trial.create_trial(
        state=state,
        value=0.5 if state == TrialState.COMPLETE else None,
        params={"x": 0.1},
        distributions={"x": FloatDistribution(0, 1)},
        user_attrs=user_attrs,
    )


@pytest.mark.parametrize("outcome", list(Outcome))
def test_a_recorded_outcome_is_read_back_when_the_state_agrees(outcome: Outcome) -> None:
    ended = trial(outcome.state, outcome=outcome.label)
    assert outcome_of(ended) is outcome and uses_budget(ended) is outcome.uses_budget


def test_a_worker_killed_between_recording_complete_and_optunas_write_died() -> None:
    """The trial stayed RUNNING with ``outcome=complete`` until the heartbeat failed it: it must not
    count as budget used, or its retry would never run and the sweep would end short."""
    failed = trial(TrialState.FAIL, outcome="complete")
    assert outcome_of(failed) is Outcome.DIED and not uses_budget(failed)


def test_running_and_waiting_trials_have_no_outcome_yet() -> None:
    assert outcome_of(trial(TrialState.RUNNING, outcome="complete")) is None
    assert outcome_of(trial(TrialState.WAITING)) is None
    assert uses_budget(trial(TrialState.RUNNING)) and not uses_budget(trial(TrialState.WAITING))


def test_a_fail_without_outcome_died_and_an_old_complete_without_one_is_complete() -> None:
    assert outcome_of(trial(TrialState.FAIL)) is Outcome.DIED
    assert outcome_of(trial(TrialState.COMPLETE)) is Outcome.COMPLETE
