"""The search benchmark (``benchmarks/bench_search.py``, which chose the default sampler and pruner) prunes as the
sweep prunes: its objective writes the values its pruning keeps before each trial is told.

Found by a review: once ``TrialPruning`` kept the values instead of writing each at once, the benchmark's objective
never wrote them, its complete trials had no intermediate values, and no trial was ever pruned (0 of 20 on digits;
6 of 20 with them written), so a rerun would have compared pruners that did nothing.
"""

import sys
from pathlib import Path

import optuna

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
import search_problems

optuna.logging.set_verbosity(optuna.logging.ERROR)


def test_the_search_benchmark_prunes_with_the_percentile_pruner() -> None:
    config = search_problems.compose(["dataset=digits", "pruner=percentile", "seed=0"])
    records = search_problems.run_study(config, search_problems.dataset_for(config), 20)
    states = [record["state"] for record in records]
    assert states.count("PRUNED") >= 1, states
    assert states.count("COMPLETE") >= 5, states
