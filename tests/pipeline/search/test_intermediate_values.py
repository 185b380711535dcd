"""Intermediate values kept and written in one transaction read back as ``trial.report``'s, on every storage."""

import math
from pathlib import Path

import optuna
import pytest
from optuna.exceptions import UpdateFinishedTrialError

from pipeline.search import intermediate_values
from pipeline.search import pruning as pruning_module
from pipeline.search.intermediate_values import write_intermediate_values
from pipeline.search.objective import Objective
from pipeline.search.outcomes import Outcome
from pipeline.search.pruning import TrialPruning

optuna.logging.set_verbosity(optuna.logging.ERROR)
VALUES = {0: 0.25, 2: float("inf"), 4: float("-inf"), 6: float("nan"), 8: -1e308, 10: 0.0}


def storages(tmp_path: Path) -> dict[str, object]:
    return {"sqlite": f"sqlite:///{tmp_path}/values.db", "in memory": None}


@pytest.mark.parametrize("kind", ["sqlite", "in memory"])
def test_values_written_together_read_back_as_reported_one_by_one(tmp_path: Path, kind: str) -> None:
    if kind == "sqlite":
        assert intermediate_values._BATCHED, "Optuna's private names moved: one transaction per value again"
    study = optuna.create_study(storage=storages(tmp_path)[kind])
    reported, written = study.ask(), study.ask()
    for step, value in VALUES.items():
        reported.report(value, step)
    write_intermediate_values(written.storage, written._trial_id, VALUES)
    ours, optunas = (study.trials[t.number].intermediate_values for t in (written, reported))
    assert ours.keys() == optunas.keys() == VALUES.keys()
    for step in VALUES:
        same = ours[step] == optunas[step] or (math.isnan(ours[step]) and math.isnan(optunas[step]))
        assert same, (step, ours[step], optunas[step])


@pytest.mark.parametrize("kind", ["sqlite", "in memory"])
def test_a_step_stored_already_keeps_its_value_and_a_finished_trial_takes_none(tmp_path: Path, kind: str) -> None:
    study = optuna.create_study(storage=storages(tmp_path)[kind])
    trial = study.ask()
    write_intermediate_values(trial.storage, trial._trial_id, {0: 0.5, 1: 0.6})
    write_intermediate_values(trial.storage, trial._trial_id, {1: 9.0, 2: 0.7})  # a retried write, say
    assert study.trials[0].intermediate_values == {0: 0.5, 1: 0.6, 2: 0.7}
    study.tell(trial, 0.7)
    with pytest.raises(UpdateFinishedTrialError):
        write_intermediate_values(trial.storage, trial._trial_id, {3: 0.8})


def test_kept_values_reach_the_study_only_when_written_and_at_least_every_flush_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    study = optuna.create_study(storage=f"sqlite:///{tmp_path}/kept.db", pruner=optuna.pruners.NopPruner())
    trial = study.ask()
    pruning = TrialPruning(trial)
    pruning.report(0.1, 0)
    pruning.report(0.2, 1)
    assert study.trials[0].intermediate_values == {}, "kept, not yet written"
    monkeypatch.setattr(pruning_module, "FLUSH_SECONDS", 0.0)  # the interval has passed at the next report
    pruning.report(0.3, 2)
    assert study.trials[0].intermediate_values == {0: 0.1, 1: 0.2, 2: 0.3}
    monkeypatch.setattr(pruning_module, "FLUSH_SECONDS", 3600.0)
    pruning.report(0.4, 3)
    pruning.flush()
    assert study.trials[0].intermediate_values == {0: 0.1, 1: 0.2, 2: 0.3, 3: 0.4}


def test_hyperband_reads_the_trials_values_so_they_are_written_as_reported(tmp_path: Path) -> None:
    pruner = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=9, reduction_factor=3)
    study = optuna.create_study(storage=f"sqlite:///{tmp_path}/hyperband.db", pruner=pruner)
    trial = study.ask()
    TrialPruning(trial).report(0.1, 0)
    assert study.trials[0].intermediate_values == {0: 0.1}


class _Unclosable:
    """A run whose store is full: every write fails (the case a trial ends WRITE_FAILED on)."""

    def add_tags(self, tags: dict) -> None:
        pass

    def log_text(self, text: str, name: str) -> None:
        raise OSError(28, "No space left on device")

    def finish(self, status: str, reason: str | None = None) -> None:
        raise OSError(28, "No space left on device")


def test_a_trial_whose_run_cannot_be_closed_still_keeps_the_values_it_reported(tmp_path: Path) -> None:
    """Found by a review: the kept values were written after the run was closed, so a run that could not be
    closed cost them too; ``trial.report`` would have stored every one."""
    study = optuna.create_study(storage=f"sqlite:///{tmp_path}/full.db", pruner=optuna.pruners.NopPruner())
    trial = study.ask()
    pruning = TrialPruning(trial)
    for step in range(3):
        pruning.report(0.1 * step, step)
    full = OSError(28, "No space left on device")
    with pytest.raises(OSError, match="No space left"):
        Objective._end(trial, _Unclosable(), Outcome.WRITE_FAILED, full, "trial-0", pruning=pruning)  # type: ignore[arg-type]
    assert study.trials[0].intermediate_values == {0: 0.0, 1: 0.1, 2: 0.2}
