"""``pipeline.search.pruning``: the same decisions as ``trial.should_prune()``, from one read per trial."""

from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from pipeline.search.pruning import TrialPruning, _complete_trials

optuna.logging.set_verbosity(optuna.logging.ERROR)


def _curve(rng: np.random.Generator, steps: int) -> list[float]:
    return list(np.cumsum(rng.uniform(0, 0.1, steps)) + rng.uniform(0, 0.3))


@pytest.mark.parametrize(
    ("pruner", "direction"),
    [
        (optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2, interval_steps=1), "maximize"),
        (optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0, interval_steps=3), "minimize"),
        (optuna.pruners.PercentilePruner(25.0, n_startup_trials=2, n_warmup_steps=1), "maximize"),
        (optuna.pruners.HyperbandPruner(min_resource=1, max_resource=12, reduction_factor=3), "maximize"),
        (optuna.pruners.NopPruner(), "maximize"),
    ],
)
def _decisions(storage: str, pruner, direction: str, ours: bool, stored: list) -> list[tuple[int, int, bool]]:
    """Every (trial, step, prune?) of a 14-trial study decided by TrialPruning or by Optuna itself
    (two separate studies: Hyperband's decisions write to the trial, so they are asked once each); ``stored``
    gets each trial's number, state, values and intermediate values as the storage has them at the end."""
    # One name for both: Hyperband assigns brackets by hashing it.
    study = optuna.create_study(storage=storage, study_name="pruning", direction=direction, pruner=pruner)
    rng = np.random.default_rng(0)
    decisions = []
    for number in range(14):
        trial = study.ask()
        pruning = TrialPruning(trial) if ours else None
        curve = _curve(rng, 12)
        if number % 5 == 4:
            curve[6] = float("nan")  # a NaN report prunes under a percentile pruner
        pruned = False
        for step, value in enumerate(curve):
            if pruning is not None:
                pruned = bool(pruning.report(value, step))
            else:
                trial.report(value, step)
                pruned = bool(trial.should_prune())
            decisions.append((number, step, pruned))
            if pruned:
                break
        if pruning is not None:
            pruning.flush()  # as the objective does before the trial is told
        study.tell(trial, state=TrialState.PRUNED) if pruned else study.tell(trial, curve[-1])
    stored.extend((t.number, t.state, t.values, t.intermediate_values) for t in study.trials)
    return decisions


@pytest.mark.parametrize(
    ("make_pruner", "direction"),
    [
        (lambda: optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2, interval_steps=1), "maximize"),
        (lambda: optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0, interval_steps=3), "minimize"),
        (lambda: optuna.pruners.PercentilePruner(25.0, n_startup_trials=2, n_warmup_steps=1), "maximize"),
        (lambda: optuna.pruners.HyperbandPruner(min_resource=1, max_resource=12, reduction_factor=3), "maximize"),
        (optuna.pruners.NopPruner, "maximize"),
    ],
)
def test_decisions_equal_optunas_own_at_every_report(tmp_path: Path, make_pruner, direction: str) -> None:
    our_records, optunas_records = [], []
    ours = _decisions(f"sqlite:///{tmp_path}/ours.db", make_pruner(), direction, True, our_records)
    optunas = _decisions(f"sqlite:///{tmp_path}/optuna.db", make_pruner(), direction, False, optunas_records)
    assert ours == optunas
    assert len(ours) > 50
    # The same records: intermediate values kept and written together read back as trial.report's (NaN included).
    assert repr(our_records) == repr(optunas_records)
    if make_pruner is not optuna.pruners.NopPruner:
        assert any(pruned for _, _, pruned in ours), "the case prunes some trials"


def test_a_value_reported_twice_at_one_step_keeps_the_first(tmp_path: Path) -> None:
    """As ``trial.report``: the second value at a step is ignored with a warning, and decided on the first."""
    seen = []
    for ours in (True, False):
        study = optuna.create_study(
            storage=f"sqlite:///{tmp_path}/{ours}.db",
            direction="maximize",
            pruner=optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0),
        )
        for value in (1.0, 2.0):
            trial = study.ask()
            for step in range(3):
                trial.report(value, step)
            study.tell(trial, value)
        trial = study.ask()
        pruning = TrialPruning(trial)
        decide = (
            pruning.report
            if ours
            else lambda value, step, trial=trial: trial.report(value, step) or trial.should_prune()
        )
        first = bool(decide(0.5, 0))
        with pytest.warns(UserWarning, match="already reported"):
            second = bool(decide(9.0, 0))
        pruning.flush()
        seen.append((first, second, study.trials[-1].intermediate_values))
    assert seen[0] == seen[1] == (True, True, {0: 0.5})


def test_the_last_epoch_is_reported_but_never_pruned() -> None:
    """A trial that trained every epoch keeps its value: pruning it then would save nothing."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.MedianPruner(n_startup_trials=1))
    for _ in range(2):
        trial = study.ask()
        for step in range(5):
            trial.report(0.9, step)
        study.tell(trial, 0.9)
    trial = study.ask()
    pruning = TrialPruning(trial, last_step=4)
    assert bool(pruning.report(0.1, 3)) is True, "worse than the median before the last epoch: pruned"
    assert pruning.report(0.1, 4) is False
    pruning.flush()  # as the objective does once the trial has trained
    assert study.trials[-1].intermediate_values[4] == 0.1


def test_the_complete_trials_are_the_snapshot_of_this_trial_never_of_an_earlier_one(tmp_path: Path) -> None:
    """The pruner's complete trials come from the sampler's snapshot of this trial (taken at its first
    suggestion), which Optuna drops as each trial is asked and told: a trial completed by another worker
    before that suggestion is in it, and so is the trial this worker told last."""
    storage = f"sqlite:///{tmp_path}/study.db"
    sampler = optuna.samplers.TPESampler(n_startup_trials=0, seed=0)
    study = optuna.create_study(storage=storage, study_name="s", sampler=sampler)
    elsewhere = optuna.load_study(study_name="s", storage=storage)  # another worker: its own storage object
    for _ in range(3):
        trial = study.ask()
        trial.suggest_float("x", 0, 1)
        study.tell(trial, 0.5)
    told = trial.number
    for _ in range(2):
        trial = study.ask()
        other = elsewhere.ask()
        elsewhere.tell(other, 0.1)  # completed elsewhere after this trial was asked, before its suggestion
        trial.suggest_float("x", 0, 1)
        assert study._thread_local.cached_all_trials is not None  # the snapshot this test is about
        fresh = [t.number for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
        assert [t.number for t in _complete_trials(study)] == fresh
        assert other.number in fresh and told in fresh
        study.tell(trial, 0.5)
        told = trial.number
        told = trial.number
