"""What a study's conclusions rest on: how many trials, how noisy, how sure the ranking of parameters is.

Every conclusion the report and the summary state carries its evidence: the number of complete
trials each figure is drawn from, a plain warning when that is too few for the number of searched
parameters, the importances with their spread over resamples of the trials, and the best value with
its spread over seeds (``Confirmation``, from ``pipeline.search.confirm``).

Importances are f-ANOVA's (Hutter et al. 2014: the share of the metric's variance each parameter explains
in a random forest fitted to the trials), not Optuna 5's default PED-ANOVA: PED-ANOVA compares the top 10 %
of trials with the rest, which at 40 trials is 4 trials, and with conditional parameters
(``hidden_units_l2`` exists only for depth >= 2) it ranked a layer width nobody could have learnt anything
about above the activation (docs/BENCHMARKS.md). f-ANOVA is the evaluator Optuna used by default until
version 5 and the one its importance plots were known by.
"""

import copy as copy_module
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from pipeline.search.constraints import feasible

MIN_COMPLETE = 10  # below this many complete trials no ranking of parameters is worth stating
PER_PARAMETER = 3  # ... nor below this many complete trials per searched parameter
RESAMPLES = 8  # bootstrap resamples of the complete trials for the importances' spread
TREES = 16  # trees per f-ANOVA forest: a quarter of Optuna's 64, so that RESAMPLES forests cost about two of its own
NOISE_SDS = 2.0  # a value within this many seed standard deviations of the best is "within noise"


@dataclass(frozen=True)
class Evidence:
    """How many trials the study's figures rest on, and whether that is enough to rank parameters."""

    total: int
    complete: int
    pruned: int
    failed: int
    parameters: int  # searched parameters the complete trials have (``hidden_units_l1``.. counted apart)
    epochs_trained: int = 0  # by the complete and pruned trials
    epochs_planned: int = 0  # had those trials all trained every epoch

    def saved(self) -> str:
        """``pruning saved 1,240 of 2,000 epochs (62 %)``, or '' when nothing was pruned."""
        if not self.pruned or not self.epochs_planned:
            return ""
        saved = self.epochs_planned - self.epochs_trained
        return f"pruning saved {saved:,} of {self.epochs_planned:,} epochs ({saved / self.epochs_planned:.0%})"

    @property
    def needed(self) -> int:
        """Complete trials below which the report warns: at least MIN_COMPLETE, PER_PARAMETER per parameter."""
        return max(MIN_COMPLETE, PER_PARAMETER * self.parameters)

    @property
    def thin(self) -> bool:
        return self.complete < self.needed

    def warning(self, repeats: int = 1) -> str:
        """A plain-words warning, or '' when the evidence is not thin."""
        if not self.thin:
            return ""
        seeds = "once, with one seed" if repeats == 1 else f"with {repeats} seeds"
        pruned = f" ({self.pruned} of {self.total} were pruned)" if self.pruned else ""
        return (
            f"Thin evidence: only {self.complete} complete trial{'s' if self.complete != 1 else ''}{pruned} for "
            f"{self.parameters} searched parameters (at least {self.needed} are needed to rank them). Each trial "
            f"trained {seeds}, so the importances, the slice and contour plots and the choice of the best trial can "
            f"be noise. Run more trials (raise search.n_trials) before drawing conclusions."
        )


def evidence_of(trials: list[FrozenTrial], epochs: int = 0) -> Evidence:
    """The evidence of ``trials``; ``epochs`` (each trial's planned epochs, 0: unknown) to count what pruning saved.
    A pruned trial trained up to its last report (its last intermediate value's epoch)."""
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    names = {name for trial in complete for name in trial.params}
    trained = len(complete) * epochs + sum(min(max(t.intermediate_values, default=0) + 1, epochs) for t in pruned)
    return Evidence(
        total=len(trials),
        complete=len(complete),
        pruned=len(pruned),
        failed=sum(t.state == TrialState.FAIL for t in trials),
        parameters=len(names),
        epochs_trained=trained if epochs else 0,
        epochs_planned=(len(complete) + len(pruned)) * epochs,
    )


@dataclass(frozen=True)
class Importance:
    """One parameter's f-ANOVA importance: the median over resamples and its 10th-90th percentile range."""

    median: float
    low: float
    high: float


def importances(
    study: optuna.Study, resamples: int = RESAMPLES, target: Callable[[FrozenTrial], float] | None = None
) -> dict[str, Importance]:
    """f-ANOVA importances of the first objective (or of ``target``, over the trials where it is finite) over
    the complete trials, with their spread over bootstrap resamples of those trials (each resample its own
    forest seed); most important first. Empty when fewer than two complete trials or no parameter is shared
    by all of them."""
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    if target is not None:
        complete = [t for t in complete if math.isfinite(target(t))]
    if len(complete) < 2:
        return {}
    rng = np.random.default_rng(0)  # the same study gives the same report
    draws: dict[str, list[float]] = {}
    for resample in range(resamples):
        chosen = complete if resample == 0 else [complete[i] for i in rng.integers(0, len(complete), len(complete))]
        found = _fanova(study, chosen, seed=resample, target=target)
        for name in {*draws, *found}:
            draws.setdefault(name, [0.0] * resample).append(found.get(name, 0.0))
    ranked = {
        name: Importance(float(np.median(v)), float(np.percentile(v, 10)), float(np.percentile(v, 90)))
        for name, v in draws.items()
    }
    return dict(sorted(ranked.items(), key=lambda item: -item[1].median))


def observable(trial: FrozenTrial) -> FrozenTrial:
    """``trial`` with each distribution widened to hold its value. A trial added through Optuna's own API
    (``enqueue_trial``, ``add_trial``) may hold a value outside the space it was suggested from; it trained,
    so it is an observation like any other, and a copy of the study must not refuse it."""
    distributions = dict(trial.distributions)
    numeric = (optuna.distributions.FloatDistribution, optuna.distributions.IntDistribution)
    for name, value in trial.params.items():
        found = distributions.get(name)
        if isinstance(found, optuna.distributions.CategoricalDistribution) and value not in found.choices:
            distributions[name] = optuna.distributions.CategoricalDistribution([*found.choices, value])
        elif isinstance(found, numeric) and not found._contains(found.to_internal_repr(value)):
            step = None if isinstance(found, optuna.distributions.FloatDistribution) else 1  # the finest
            bounds = {"low": min(found.low, value), "high": max(found.high, value)}
            distributions[name] = type(found)(**bounds, log=found.log, step=step)
    if distributions == trial.distributions:
        return trial
    copy = copy_module.copy(trial)
    copy.distributions = distributions
    return copy


def _fanova(
    study: optuna.Study, trials: list[FrozenTrial], seed: int, target: Callable[[FrozenTrial], float] | None = None
) -> dict[str, float]:
    """f-ANOVA on ``trials`` (of ``target``, else the first objective) as if they were the whole study ({} when it
    cannot be computed)."""
    sample = optuna.create_study(directions=study.directions)
    value = (lambda t: t.values) if target is None else (lambda t: [target(t), *list(t.values[1:])])
    sample.add_trials(
        [optuna.trial.create_trial(params=t.params, distributions=t.distributions, values=value(t))
         for t in map(observable, trials)]
    )  # fmt: skip
    evaluator = optuna.importance.FanovaImportanceEvaluator(n_trees=TREES, seed=seed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = optuna.importance.get_param_importances(sample, evaluator=evaluator, target=lambda t: t.values[0])
    except (ValueError, RuntimeError, ZeroDivisionError):
        return {}
    return {name: float(value) for name, value in found.items() if math.isfinite(value)}


@dataclass(frozen=True)
class Confirmation:
    """The best configuration trained again with other seeds: how much of its value is luck.

    ``values`` are the search's own value first, then one per extra seed that trained to a finite value."""

    trial: int
    values: tuple[float, ...]
    within_noise: tuple[int, ...]  # other complete trials whose value is within NOISE_SDS sds of the mean
    diverged: int = 0  # retrainings that diverged (not in ``values``)
    repeated: bool = False  # the values are the trial's own repeats (search.repeats), not retrainings

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def sd(self) -> float:
        return float(np.std(self.values, ddof=1)) if len(self.values) > 1 else math.nan

    def sentence(self, metric: str) -> str:
        """``val_accuracy 0.9806 ± 0.0040 over 4 seeds (trial 12); 3 other configurations within noise``."""
        others = len(self.within_noise)
        tail = (
            f"{others} other configuration{'s' if others != 1 else ''} within noise (their value is within "
            f"{NOISE_SDS:g} sd of this mean: trials {', '.join(map(str, self.within_noise))})"
            if others
            else "no other configuration within noise: the winner is ahead by more than seed noise"
        )
        diverged = f"; {self.diverged} more diverged" if self.diverged else ""
        how = (
            "its own repeats (search.repeats)"
            if self.repeated
            else f"the search's value {self.values[0]:.4f} and {len(self.values) - 1} retrainings"
        )
        return (
            f"{metric} {self.mean:.4f} ± {self.sd:.4f} (mean ± sd over {len(self.values)} seeds of trial "
            f"{self.trial}: {how}{diverged}); {tail}"
        )


def within_noise(trials: list[FrozenTrial], best: int, mean: float, sd: float, maximize: bool) -> tuple[int, ...]:
    """Complete trials other than ``best`` whose value is within NOISE_SDS seed sds of the best's mean."""
    if not math.isfinite(sd):
        return ()
    band = NOISE_SDS * sd
    close = [
        t.number
        for t in trials
        if t.state == TrialState.COMPLETE
        and t.number != best
        and feasible(t)  # a trial that missed a search.constraints limit is no alternative
        and (t.values[0] >= mean - band if maximize else t.values[0] <= mean + band)
    ]
    return tuple(sorted(close))
