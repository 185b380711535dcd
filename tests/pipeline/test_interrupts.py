"""Signals and Optuna's own writes (``pipeline.interrupts``), with real Optuna and real signals to this process.

A SIGTERM that lands while Optuna tells a trial its state must wait until the write is done: the trial ends
in the state its objective earned and the stop is raised after ``optimize`` returns (it used to surface as
Optuna's ``UnboundLocalError`` with the trial left RUNNING). A SIGTERM during the objective's training still
stops it at once.
"""

import os
import signal
from collections.abc import Iterator

import optuna
import pytest
from optuna.storages import InMemoryStorage
from optuna.trial import TrialState

from pipeline.interrupts import Terminated, _state, critical, handle_signals, interruptible, raise_pending


@pytest.fixture(autouse=True)
def signals() -> Iterator[None]:
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    handle_signals()
    _state.requested, _state.raised, _state.depth = None, False, 0
    yield
    signal.signal(signal.SIGTERM, before[0])
    signal.signal(signal.SIGINT, before[1])
    _state.requested, _state.raised, _state.depth = None, False, 0


class SignalInsideTell(InMemoryStorage):
    """Optuna's in-memory storage that receives a SIGTERM in the middle of writing a trial's final state."""

    def set_trial_state_values(self, trial_id, state, values=None):
        if state.is_finished():
            os.kill(os.getpid(), signal.SIGTERM)  # delivered here, inside the write
        return super().set_trial_state_values(trial_id, state, values)


def objective(trial: optuna.Trial) -> float:
    with interruptible():  # as pipeline.search.objective.Objective does
        return trial.suggest_float("x", 0, 1)


def test_a_sigterm_inside_optunas_state_write_waits_until_the_trial_is_told() -> None:
    study = optuna.create_study(storage=SignalInsideTell())
    with pytest.raises(Terminated), critical():  # as pipeline.search.workers.run_worker wraps study.optimize
        study.optimize(objective, n_trials=1)
    (trial,) = study.trials
    assert trial.state == TrialState.COMPLETE and trial.value is not None


def test_a_sigterm_during_training_stops_it_at_once_and_the_trial_is_failed() -> None:
    def training(trial: optuna.Trial) -> float:
        with interruptible():
            os.kill(os.getpid(), signal.SIGTERM)
            raise AssertionError("the signal should have stopped the training")

    study = optuna.create_study()
    with pytest.raises(Terminated), critical():
        study.optimize(training, n_trials=1)
    assert study.trials[0].state == TrialState.FAIL


def test_a_signal_held_back_before_the_objective_is_raised_as_it_starts() -> None:
    started = []

    def held(trial: optuna.Trial) -> float:
        with interruptible():
            started.append(True)
            return 0.0

    with pytest.raises(Terminated), critical():
        os.kill(os.getpid(), signal.SIGTERM)  # arrives while Optuna creates the trial, say
        optuna.create_study().optimize(held, n_trials=1)
    assert not started


def test_a_signal_whose_exception_python_drops_in_a_finalizer_is_delivered_again() -> None:
    """The garbage collector runs weakref callbacks and finalizers at any bytecode; a signal raised inside
    one is printed and dropped by Python. It must still stop the process, not be forgotten."""
    import gc
    import weakref

    class Thing:
        pass

    def on_collected(_: object) -> None:  # runs inside the collector, as a WeakKeyDictionary's cleanup does
        os.kill(os.getpid(), signal.SIGTERM)
        sum(range(1000))  # bytecode after the kill: the handler runs and raises here, inside the callback

    thing = Thing()
    watcher = weakref.ref(thing, on_collected)
    with pytest.raises(Terminated):
        del thing
        gc.collect()
        assert watcher() is None and not _state.raised  # dropped by Python, and known to be
        raise_pending()  # as the training does between epochs
    assert _state.raised
