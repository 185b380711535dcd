"""Coarse to fine: a refined space lies inside the coarse one and around its best trials."""

import math

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from pipeline.search.refine import MARGIN, best_of, narrowed
from pipeline.setup.config import SearchParam

LR = SearchParam(type="float", low=1e-4, high=1e-1, log=True)
UNITS = SearchParam(type="int", low=16, high=128, log=True)
ACT = SearchParam(type="categorical", choices=["relu", "tanh", "sigmoid"])


def coarse_study() -> optuna.Study:
    """40 trials whose value peaks at learning_rate 0.01 with relu."""
    study = optuna.create_study(direction="maximize")
    rng = np.random.default_rng(0)
    trials = []
    for _ in range(40):
        lr = float(10 ** rng.uniform(-4, -1))
        units = int(rng.integers(16, 129))
        act = ["relu", "tanh", "sigmoid"][int(rng.integers(0, 3))]
        value = 1 - abs(math.log10(lr) + 2) / 3 - (0.2 if act != "relu" else 0)
        trials.append(optuna.trial.create_trial(
            value=value, params={"learning_rate": lr, "hidden_units_l1": units, "hidden_activation": act},
            distributions={"learning_rate": FloatDistribution(1e-4, 1e-1, log=True),
                           "hidden_units_l1": IntDistribution(16, 128, log=True),
                           "hidden_activation": CategoricalDistribution(["relu", "tanh", "sigmoid"])},
        ))  # fmt: skip
    study.add_trials(trials)
    return study


def test_a_refined_space_lies_inside_the_coarse_one_around_the_best_trials() -> None:
    best = best_of(coarse_study())
    assert len(best) == 8  # the best fifth of 40
    lrs = [t.params["learning_rate"] for t in best]
    fine = narrowed(LR, lrs)
    assert LR.low <= fine.low <= min(lrs) and max(lrs) <= fine.high <= LR.high and fine.log
    # The margin is a tenth of the coarse range on the log scale, at most.
    assert math.log(min(lrs)) - math.log(fine.low) <= MARGIN * math.log(LR.high / LR.low) + 1e-12
    assert fine.high / fine.low < LR.high / LR.low  # narrower than the coarse range
    units = narrowed(UNITS, [t.params["hidden_units_l1"] for t in best])
    assert UNITS.low <= units.low <= units.high <= UNITS.high and float(units.low).is_integer()
    used = {t.params["hidden_activation"] for t in best}
    kept = narrowed(ACT, [t.params["hidden_activation"] for t in best]).choices
    assert set(kept) == used and "relu" in kept and len(kept) < len(ACT.choices)


def test_entries_the_best_trials_never_set_keep_their_coarse_range() -> None:
    assert narrowed(LR, []) == LR
    stepped = narrowed(SearchParam(type="float", low=0.0, high=1.0, step=0.25), [0.5])
    assert stepped.low in (0.25, 0.5) and stepped.high in (0.5, 0.75) and stepped.step == 0.25
