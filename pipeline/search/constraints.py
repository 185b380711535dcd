"""Satisficing metrics (the course's term): limits other measures must meet while the sweep optimizes its metric.

``search.constraints`` maps a measure to its limits, e.g. ``{train_seconds: {max: 0.05}, n_parameters:
{max: 20000}, val_cost: {finite: true}}``. Each trial that completes records one Optuna constraint value per
limit (``trial.set_constraint``: at most 0 is feasible, above 0 by how much it misses), so the samplers that
understand constraints (TPE, GP, NSGA-II/III) steer away from infeasible regions; Optuna's ``best_trial``
and ``best_trials`` then keep to feasible trials, and so do the registered model and the rerun command.
Samplers that sample blind (random, QMC, grid, CMA-ES) still train every trial; the best is then chosen
among the feasible ones all the same, and the sweep says so once.

A measure is one of the objectives' names (a per-epoch metric's last value, a ``final_train_*`` for the
training split, ``n_parameters``, ``train_seconds`` per epoch) or anything else the run records once after
training (``final_val_error``, ``avoidable_bias``, ``variance``, ``test_*`` is refused: the test split
never chooses).
"""

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.errors import ConfigError

if TYPE_CHECKING:  # the pre-flight reads the limits without loading Optuna
    from optuna.trial import FrozenTrial

LIMITS = ("max", "min", "finite")
BLIND_SAMPLERS = ("random", "qmc", "grid", "cmaes")  # they never read a trial's constraint values


@dataclass(frozen=True)
class Limit:
    """One satisficing limit: ``measure`` at most ``max``, at least ``min``, or finite."""

    measure: str
    bound: str  # max, min or finite
    value: float = math.nan

    @property
    def key(self) -> str:
        """The constraint's name in Optuna's storage: ``n_parameters<=20000``."""
        return f"{self.measure}{self.symbol}{self.value:g}" if self.bound != "finite" else f"{self.measure} finite"

    @property
    def symbol(self) -> str:
        return "<=" if self.bound == "max" else ">="

    def violation(self, measured: float) -> float:
        """Optuna's constraint value: at most 0 when ``measured`` meets the limit, else how far it misses
        (a missing or non-finite measure misses every limit)."""
        if not math.isfinite(measured):
            return math.inf
        if self.bound == "finite":
            return 0.0
        return measured - self.value if self.bound == "max" else self.value - measured


def limits_of(constraints: dict[str, object] | None) -> list[Limit]:
    """``search.constraints`` as limits, in the order given; ``ConfigError`` for anything else than
    ``{measure: {max: x, min: y, finite: true}}``."""
    found = []
    for measure, spec in (constraints or {}).items():
        if measure.startswith("test_"):
            raise ConfigError(
                f"search.constraints.{measure}: the test split never chooses a model (that would overfit it); "
                "constrain a validation or training measure instead"
            )
        if not isinstance(spec, dict) or not spec or set(spec) - set(LIMITS):
            raise ConfigError(
                f"search.constraints.{measure}={spec!r}: give a mapping of {list(LIMITS)}, e.g. "
                f"search.constraints.{measure}={{max: 0.5}}"
            )
        for bound, value in spec.items():
            if bound == "finite":
                if value is not True:
                    raise ConfigError(f"search.constraints.{measure}.finite={value!r}: only true is a limit")
                found.append(Limit(measure, "finite"))
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ConfigError(f"search.constraints.{measure}.{bound}={value!r} must be a finite number")
            found.append(Limit(measure, bound, float(value)))
    return found


def feasible(trial: "FrozenTrial") -> bool:
    """Whether a trial meets every constraint it recorded (a trial with none is feasible)."""
    return all(value <= 0 for value in trial.constraints.values())


def missed(trial: "FrozenTrial") -> list[str]:
    """The names of the limits a trial missed: ``["train_seconds<=0.05"]``."""
    return [key for key, value in trial.constraints.items() if value > 0]


def infeasible_counts(trials: "list[FrozenTrial]") -> dict[str, int]:
    """Complete trials that missed each limit (a trial may miss several)."""
    counts: dict[str, int] = {}
    for trial in trials:
        for key in missed(trial):
            counts[key] = counts.get(key, 0) + 1
    return counts


def describe_infeasible(trials: "list[FrozenTrial]") -> str:
    """``3 of 27 complete trials infeasible (2 missed train_seconds<=0.05, 1 missed n_parameters<=2e+04)``,
    or '' when every trial met its limits."""
    bad = [t for t in trials if not feasible(t)]
    if not bad:
        return ""
    counts = ", ".join(f"{count} missed {key}" for key, count in infeasible_counts(trials).items())
    return f"{len(bad)} of {len(trials)} complete trials infeasible ({counts})"
