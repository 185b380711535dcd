"""Pruning decisions without a storage read at every report.

``trial.should_prune()`` hands the pruner the study, and the median pruner asks it for the complete
trials at every report; the study's storage answers by re-reading every unfinished trial from the
database (about 2.5 ms on SQLite, 14 reports per trial in a default sweep: a third of a trial's
bookkeeping, docs/BENCHMARKS.md). The complete trials do not change while a trial runs on one worker,
so ``TrialPruning`` takes them once, when the trial starts (from the snapshot the sampler took, when it
took one), and asks the same pruner with the same
arguments: the same decisions, bit for bit (tests/e2e/test_records_unchanged.py). With several
workers a trial completed elsewhere meanwhile is seen from the next trial on.

Pruners that read more than the complete trials (Hyperband's brackets) keep ``trial.should_prune()``.

With a pruner that decides here (or none), the trial's values are not needed in the storage before it ends:
they are kept and written together (``search/intermediate_values.py``, one transaction instead of one per
value) when the trial is pruned or has trained, and every ``FLUSH_SECONDS`` meanwhile, so that a long trial's
values still reach optuna-dashboard as it trains.
"""

import time
import warnings

import optuna
from optuna.pruners import NopPruner, PercentilePruner
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from pipeline.search.intermediate_values import write_intermediate_values

FLUSH_SECONDS = 5.0  # longest a running trial's reported values wait to be written (a live dashboard)


def _complete_trials(study: optuna.Study) -> list[FrozenTrial]:
    """The study's complete trials, from the snapshot Optuna's samplers took of the study at this trial's first
    suggestion when they took one (``Study._get_trials(use_cache=True)``: TPE, CMA-ES, GP, QMC, NSGA-II do;
    Optuna drops it as each trial is asked and told), else read now: one storage read (~3 ms) less a trial.
    The snapshot is older by the trial's run creation (milliseconds; seconds while a busy store is retried);
    a trial another worker completes meanwhile counts from the next trial on, as it would anyway."""
    cached = getattr(study, "_get_trials", None)  # private; the public read below if a later Optuna drops it
    if cached is None:
        return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return cached(deepcopy=False, states=(TrialState.COMPLETE,), use_cache=True)


class _CompleteAtStart:
    """The part of a study a percentile pruner reads: its direction and its complete trials, as they
    were when the trial started."""

    def __init__(self, study: optuna.Study) -> None:
        self.direction: StudyDirection = study.direction
        self.directions = study.directions
        self._complete = _complete_trials(study)

    def get_trials(self, deepcopy: bool = True, states: tuple[TrialState, ...] | None = None) -> list[FrozenTrial]:
        if states is None or tuple(states) != (TrialState.COMPLETE,):
            raise NotImplementedError(f"only the complete trials are kept, not {states}")
        return list(self._complete)


class TrialPruning:
    """Reports one trial's intermediate values and says when to prune it.

    ``report(value, step)`` records the value for the study (the report's plots, optuna-dashboard and
    Hyperband read it) and returns whether the study's pruner prunes the trial now. A report at
    ``last_step`` (the last epoch) never prunes: the training it would save is already done, and pruning
    then would only throw a finished trial's value away. ``flush()`` writes what is still kept: the
    objective calls it before the trial's outcome is told (a pruned trial's value is its last one).
    """

    def __init__(self, trial: optuna.Trial, last_step: int | None = None) -> None:
        self.trial = trial
        self.last_step = last_step
        self.pruner = trial.study.pruner
        self.reported: dict[int, float] = {}
        # NopPruner never prunes; a percentile (median) pruner needs only the complete trials.
        self._never = isinstance(self.pruner, NopPruner)
        self._view = _CompleteAtStart(trial.study) if isinstance(self.pruner, PercentilePruner) else None
        # Hyperband reads this trial's values from the storage at each decision: they are written as reported.
        self._kept: dict[int, float] | None = {} if self._never or self._view is not None else None
        self._written = time.monotonic()

    def report(self, value: float, step: int) -> bool:
        if self._kept is None:
            self.trial.report(value, step)
        elif step in self.reported:
            warnings.warn(f"The reported value is ignored because this `{step=}` is already reported.", stacklevel=2)
        else:
            self._kept[step] = float(value)
            if time.monotonic() - self._written >= FLUSH_SECONDS:
                self.flush()
        if step not in self.reported:  # Optuna keeps the first value reported at a step
            self.reported[step] = float(value)
        if self._never or (self.last_step is not None and step >= self.last_step):
            return False
        prune = self.trial.should_prune() if self._view is None else self.pruner.prune(self._view, self._frozen())
        if prune:
            self.flush()  # before the trial is told: a pruned trial's value is its last one
        return prune

    def flush(self) -> None:
        """Write the values kept since the last write (one transaction)."""
        if self._kept:
            write_intermediate_values(self.trial.storage, self.trial._trial_id, self._kept)
            self._kept = {}
        self._written = time.monotonic()

    def _frozen(self) -> FrozenTrial:
        """This trial as the pruner sees it: its reported values (all a percentile pruner reads of it)."""
        return FrozenTrial(
            number=self.trial.number,
            state=TrialState.RUNNING,
            value=None,
            datetime_start=None,
            datetime_complete=None,
            params={},
            distributions={},
            user_attrs={},
            system_attrs={},
            intermediate_values=dict(self.reported),
            trial_id=self.trial.number,  # not read by the pruner (only the storage uses ids)
        )
