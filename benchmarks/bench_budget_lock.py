"""What a worker does under the budget lock before each trial, on a PostgreSQL study of 100 and 1000 trials.

The lock (a PostgreSQL advisory lock, ``records/locks.py``) is held while a worker checks the budget (stale and
dead trials, the budget used, trials running elsewhere) and while Optuna's sampler asks for the next trial, so
its hold time bounds the trial starts per second of all workers together (docs/MACHINES.md section 5)::

    python benchmarks/bench_budget_lock.py postgresql+psycopg://USER:PASSWORD@127.0.0.1:5432/EMPTY_DATABASE
"""

import statistics
import sys
import time

import optuna

from pipeline.search import recovery
from pipeline.search import study as studies

REPEATS = 15


def main(url: str) -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    distributions = {"x": optuna.distributions.FloatDistribution(0, 1)}
    for n in (100, 1000):
        rdb = studies.storage(url)
        study = optuna.create_study(study_name=f"budget-lock-{n}-{time.time_ns()}", storage=rdb)
        attrs = {"worker": "elsewhere:1", "mlflow_run_id": "r"}
        made = optuna.trial.create_trial
        study.add_trials(
            [made(params={"x": i / n}, distributions=distributions, value=i / n, user_attrs=attrs) for i in range(n)]
        )
        checks = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            recovery.fail_stale_trials(study, rdb)
            recovery.dead_trials(study)
            studies.used_budget(study)
            recovery.running_on_other_hosts(study)
            checks.append(time.perf_counter() - started)
        study.sampler = optuna.samplers.TPESampler(seed=0)
        asks = []
        for _ in range(5):
            started = time.perf_counter()
            trial = study.ask(distributions)
            asks.append(time.perf_counter() - started)
            study.tell(trial, 0.5)
        check, ask = statistics.median(checks) * 1000, statistics.median(asks) * 1000
        print(f"{n} trials: budget check {check:.1f} ms, TPE ask {ask:.1f} ms (medians); the ask is {ask / check:.1f}x")


if __name__ == "__main__":
    main(sys.argv[1])
