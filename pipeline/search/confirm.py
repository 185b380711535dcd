"""The best configuration trained again with other seeds, at the end of a sweep: is the winner luck?

A search trains each configuration once, with one seed, and keeps the highest value: the winner's value is
biased upwards (it won partly because its seed was kind) and the runners-up may be as good. Retraining the
winner with ``search.confirm_seeds`` other seeds measures the seed noise of this problem at this
configuration; the summary and the report then state the best as mean ± sd and name the other
configurations whose one-seed value lies within that noise (``pipeline.search.evidence``).

With ``search.repeats`` = k every trial already trains k seeds (``Objective``, through ``metrics_with_seed``)
and its value is their mean: the best is then stated from its own seeds, with no retraining.

The retrainings are computations only: nothing is written to a store while they run (the parent run
records their values once they are done), so a signal or a crash here leaves no half-written record.
"""

import math
import time

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from models import DivergenceError
from pipeline.record_names import SEED_VALUES_ATTR
from pipeline.search.evidence import Confirmation, within_noise
from pipeline.search.space import apply, suggest
from pipeline.setup.config import Config
from pipeline.setup.data import Dataset
from pipeline.setup.vocabulary import run_metric_name
from pipeline.training import build_network, trained_metrics

REPEAT_STREAM, CONFIRM_STREAM = 1, 2  # seed streams of a trial's repeats and of the best's retrainings


def extra_seed(root_seed: int, trial_number: int, stream: int, index: int) -> int:
    """The seed of a trial's ``index``-th extra training in ``stream``: no trial of the study uses it
    (trial seeds come from ``[root, number]``, these from ``[root, number, stream, index]``)."""
    return int(np.random.SeedSequence([root_seed, trial_number, stream, index]).generate_state(1)[0])


def trial_config(config: Config, trial: FrozenTrial) -> Config:
    """The config a finished trial trained (its seed aside), rebuilt from its parameters."""
    values = suggest(optuna.trial.FixedTrial(trial.params), config.search.space, len(config.model.hidden_units))
    return apply(config, values)


def metrics_with_seed(config: Config, dataset: Dataset, seed: int) -> dict[str, float]:
    """What a trial's objectives read after training ``config`` with ``seed``, without recording anything:
    the last epoch's metrics (``val_accuracy``, ``train_cost``, ...), the trained model's ``final_train_*``,
    ``n_parameters`` and ``train_seconds`` (per epoch). Empty if training diverged."""
    config.train.seed = seed
    network = build_network(config, dataset)
    last: dict[str, float] = {}

    def keep(epoch: int, metrics: dict[str, float]) -> None:
        last.update({run_metric_name(key): value for key, value in metrics.items()})

    validation = (dataset.X_val, dataset.Y_val) if dataset.has_validation else None
    started = time.perf_counter()
    try:
        network.fit(dataset.X_train, dataset.Y_train, config.train, callback=keep, validation=validation)
    except (DivergenceError, FloatingPointError):
        return {}
    seconds = time.perf_counter() - started
    last |= trained_metrics(network, dataset, config)
    last["train_seconds"] = seconds / max(config.train.epochs, 1)
    return last


def objective_of(metric: str, metrics: dict[str, float]) -> float:
    """One objective from ``metrics_with_seed``'s answer, read as a trial reads it (NaN when missing)."""
    if metric.startswith("train_") and f"final_{metric}" in metrics:
        return metrics[f"final_{metric}"]
    return metrics.get(metric, math.nan)


def repeat_seeds(config: Config, trial_number: int) -> list[int]:
    """The seeds of a trial's repeats 1..k-1 (``search.repeats`` = k; repeat 0 is the trial's own seed)."""
    return [extra_seed(config.seed, trial_number, REPEAT_STREAM, i) for i in range(1, config.search.repeats)]


def repeat_metrics(
    config: Config, dataset: Dataset, first: dict[str, float], seeds: list[int]
) -> tuple[dict[str, float], list[float], list[float]]:
    """Train ``config`` with each of ``seeds`` after a first training whose final metrics are ``first``.

    Returns the metrics to log on the run (every seed's ``seed<i>_<metric>`` for the validation, test and
    trained-model metrics and the objectives, and each objective's ``<objective>_mean`` and ``_sd``), each
    objective's mean over the seeds, and the first objective per seed (NaN where a seed diverged)."""
    objectives = config.search.metrics
    found = [first, *(metrics_with_seed(config, dataset, seed) for seed in seeds)]
    values = [[objective_of(objective, metrics) for objective in objectives] for metrics in found]
    # Timings are tags, not metrics: they differ between reruns, and metrics must not.
    names = {name for name in first if name.startswith(("val_", "final_train_", "test_"))} | set(objectives)
    names.discard("train_seconds")
    logged = {f"seed{i}_{name}": metrics[name] for i, metrics in enumerate(found) for name in names if name in metrics}
    means = [float(np.mean(column)) for column in zip(*values, strict=True)]
    for index, objective in enumerate(objectives):
        if objective == "train_seconds":
            continue
        logged[f"{objective}_mean"] = means[index]
        logged[f"{objective}_sd"] = float(np.std([row[index] for row in values], ddof=1))
    return logged, means, [row[0] for row in values]


def confirm_best(config: Config, dataset: Dataset, study: optuna.Study, best: FrozenTrial) -> Confirmation | None:
    """The best's value over several seeds: its own repeats (``search.repeats`` > 1), or ``search.confirm_seeds``
    retrainings; None when neither applies, or with several objectives (the Pareto set is the answer there)."""
    metric = config.search.metrics[0]
    if config.search.multi_objective:
        return None
    if SEED_VALUES_ATTR in best.user_attrs:  # trained with several seeds already
        values = [float(v) for v in best.user_attrs[SEED_VALUES_ATTR]]
    elif config.search.confirm_seeds:
        retrained = trial_config(config, best)
        seeds = [extra_seed(config.seed, best.number, CONFIRM_STREAM, i) for i in range(config.search.confirm_seeds)]
        values = [best.values[0], *(objective_of(metric, metrics_with_seed(retrained, dataset, s)) for s in seeds)]
    else:
        return None
    finite = tuple(v for v in values if math.isfinite(v))
    if not finite:
        return None
    mean = float(np.mean(finite))
    sd = float(np.std(finite, ddof=1)) if len(finite) > 1 else math.nan
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    close = within_noise(trials, best.number, mean, sd, config.search.directions[0] == "maximize")
    repeated = SEED_VALUES_ATTR in best.user_attrs
    return Confirmation(best.number, finite, close, diverged=len(values) - len(finite), repeated=repeated)
