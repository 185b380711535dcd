"""The search benchmark's problems and its in-process trial: what ``benchmarks/bench_search.py`` measures.

A problem is the list of command-line overrides a user would give ``python -m pipeline.sweep``; it is
composed from ``conf/`` by Hydra and checked by the pre-flight exactly as the sweep does it. A trial
runs the sweep's own code path without MLflow: ``search.space.suggest`` and ``apply``, the per-trial
seed of ``Objective.trial_config``, ``training.build_network`` and ``config.train`` as the fit settings, the renamed
per-epoch metrics of ``EpochRecorder``, pruning through ``TrialPruning`` every ``pruner.report_every``
epochs, the value from ``objective_value`` and the failures the sweep catches (``EXPECTED_FAILURES``).

The data are loaded with the root seed 0 whatever the study's seed (``DATA_SEED``): the studies of
one problem all see the same training/validation split, and only the sampler's seed and the per-trial
initialization/batching seeds change with the benchmark's seed.
"""

import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna

from models import DivergenceError
from pipeline.search import samplers
from pipeline.search.objective import EXPECTED_FAILURES, NonFiniteMetricError, objective_value, trial_seed
from pipeline.search.pruning import TrialPruning
from pipeline.search.space import apply, suggest
from pipeline.setup.config import Config, network_seed
from pipeline.setup.data import Dataset
from pipeline.setup.vocabulary import run_metric_name
from pipeline.training import RunResult, build_network

CONF = Path(__file__).resolve().parents[1] / "conf"
COURSE_DATA = Path("/work/shared/data/course")  # the course's files: football's data.mat
DATA_SEED = 0  # the root seed the data are split (and generated) with, the same for every study


@dataclass(frozen=True)
class Problem:
    """One search problem: the sweep's overrides, and why they were chosen."""

    name: str
    overrides: tuple[str, ...]
    why: str
    needs: Path | None = None  # a file or folder the problem cannot run without


def problems(csv_folder: Path) -> dict[str, Problem]:
    """Every problem, in table order; ``csv_folder`` holds the CSV problem's ``wine.csv`` (``write_wine_csv``).

    Epochs are what a user would pick for a cheap trial (about 0.1 s or less on one core); where the
    default 50 epochs let almost every configuration reach the same score, fewer epochs or more noise
    make the hyperparameters matter (measured with ``--check``).
    """
    table = [
        Problem("planar", ("dataset=planar", "train.epochs=30"), "the course's flower; 30 epochs of 4 batches"),
        Problem(
            "moons",
            ("dataset=moons", "dataset.noise=0.35", "train.epochs=20"),
            "noisier than the default 0.2, at which most configurations reach the same accuracy",
        ),
        Problem(
            "circles",
            ("dataset=circles", "train.epochs=30"),
            "the default noise 0.1; 30 epochs, where most configurations have not separated the rings yet",
        ),
        Problem(
            "football",
            ("dataset=football", f"dataset.path={COURSE_DATA}", "train.epochs=30"),
            "the regularization assignment's 2-D data (its own test split; validation carved from training)",
            needs=COURSE_DATA / "data.mat",
        ),
        Problem(
            "breast_cancer",
            ("dataset=breast_cancer", "dataset.val_fraction=0.45", "dataset.test_fraction=0.45", "train.epochs=20"),
            "tabular, 30 features; a 10% training split (56 rows): at the default split most configurations reach 1.0",
        ),
        Problem(
            "diabetes",
            ("dataset=diabetes", "search.metric=val_rmse", "search.direction=minimize", "train.epochs=30"),
            "regression: val_rmse, minimized (the task's score in vocabulary.TASKS); targets unscaled",
        ),
        Problem(
            "wine_csv",
            ("dataset=csv", f"dataset.path={csv_folder / 'wine.csv'}", "dataset.target=target", "train.epochs=5"),
            "scikit-learn's wine written to a CSV; 5 epochs of 2 batches (at 50 nearly every network scores 1.0)",
        ),
        Problem(
            "digits",
            ("dataset=digits", "dataset.val_fraction=0.2", "dataset.test_fraction=0.7", "train.epochs=15"),
            "a 10% training split (179 images) and 15 epochs: at the default split and 50 epochs most "
            "configurations exceed 0.97",
        ),
    ]
    return {problem.name: problem for problem in table}


def write_wine_csv(folder: Path) -> Path:
    """scikit-learn's wine data as ``folder/wine.csv``: 13 feature columns and ``target``."""
    from sklearn.datasets import load_wine

    file = folder / "wine.csv"
    load_wine(as_frame=True).frame.to_csv(file, index=False)
    return file


def compose(overrides: list[str]) -> Config:
    """``conf/`` composed with ``overrides`` and checked, as ``python -m pipeline.sweep`` would run it."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from pipeline.preflight import load_config
    from pipeline.setup.config import register_schemas

    register_schemas()  # as the entry points do at import: conf/config.yaml's defaults start with base_config
    with initialize_config_dir(version_base=None, config_dir=str(CONF)):
        return load_config(hydra_compose(config_name="config", overrides=overrides))


_DATA: dict[tuple[str, ...], Dataset] = {}  # loaded once per process and problem


def dataset_for(config: Config) -> Dataset:
    """The problem's data, split with ``DATA_SEED`` (cached: every study of a problem shares them)."""
    from pipeline.setup.data import load

    key = tuple(f"{k}={v}" for k, v in vars(config.dataset).items())
    if key not in _DATA:
        _DATA[key] = load(config.dataset, DATA_SEED)
    return _DATA[key]


@dataclass
class TrialRecord:
    """One trial as the benchmark keeps it."""

    number: int
    state: str  # COMPLETE, PRUNED or FAIL
    value: float | None  # the objective value of a complete trial
    epochs: int  # epochs trained (a pruned trial's up to its pruning, a diverged one's up to divergence)
    seconds: float  # wall time of the trial, the sampler's work included
    cpu_seconds: float  # this process's CPU time for it: the cost on one core, whatever else the machine runs
    params: dict[str, Any] = field(default_factory=dict)


class BenchObjective:
    """The sweep's ``Objective`` without MLflow: one network trained per trial, pruned as the sweep prunes."""

    def __init__(self, config: Config, dataset: Dataset) -> None:
        if getattr(config.search, "repeats", 1) > 1:  # the sweep then averages seeds per trial: not mirrored here
            raise ValueError(f"search.repeats={config.search.repeats}: the benchmark trains one seed per trial")
        self.config = config
        self.dataset = dataset
        self.epochs: dict[int, int] = {}  # trial number -> epochs trained

    def trial_config(self, trial: optuna.Trial) -> Config:
        """``Objective.trial_config``: the suggested values applied, and the trial's own seed."""
        values = suggest(trial, self.config.search.space, default_depth=len(self.config.model.hidden_units))
        config = apply(self.config, values)
        per_trial = self.config.search.seed_per_trial
        seed = trial_seed(self.config.seed, trial.number) if per_trial else network_seed(self.config)
        trial.set_user_attr("train_seed", seed)
        config.train.seed = seed
        return config

    def __call__(self, trial: optuna.Trial) -> float:
        config = self.trial_config(trial)
        metric, report_every = self.config.search.metrics[0], self.config.pruner.report_every
        pruning = TrialPruning(trial, last_step=config.train.epochs - 1)
        last: dict[str, float] = {}

        def callback(epoch: int, metrics: dict[str, float]) -> None:
            named = {run_metric_name(key): value for key, value in metrics.items()}  # as EpochRecorder names them
            last.update(named)
            last["epoch"] = epoch
            self.epochs[trial.number] = epoch + 1
            if epoch % report_every == 0 and metric in named and pruning.report(named[metric], epoch):
                raise optuna.TrialPruned(f"pruned at epoch {epoch}: {metric}={named[metric]:.6g}")

        network = build_network(config, self.dataset)
        data = self.dataset
        try:
            network.fit(data.X_train, data.Y_train, config.train, callback=callback, validation=_val(data))
        except DivergenceError as error:
            self.epochs[trial.number] = error.epoch + 1  # the diverging epoch was trained too
            raise
        finally:
            pruning.flush()  # the kept values, before the trial is told, as the sweep's objective does
        result = RunResult(network, {}, _final_train(network, data, config, metric), 0.0, self.epochs[trial.number])
        value = objective_value(metric, result, last)
        if not math.isfinite(value):
            raise NonFiniteMetricError(f"{metric}={value} after the last epoch")
        return value


def _val(dataset: Dataset) -> tuple[Any, Any] | None:
    return (dataset.X_val, dataset.Y_val) if dataset.has_validation else None


def _final_train(network: Any, dataset: Dataset, config: Config, metric: str) -> dict[str, float]:
    """``train_and_record``'s ``final_train_*`` values, computed only when the metric reads them."""
    if not metric.startswith("train_"):
        return {}
    fitted = network.evaluate(dataset.X_train, dataset.Y_train, config.train.l2)
    return {f"final_train_{key}": value for key, value in fitted.items()}


def run_study(config: Config, dataset: Dataset, min_trials: int, epoch_budget: int = 0, cap: int = 0) -> list[dict]:
    """Run an in-memory study of ``config``'s sampler and pruner for at least ``min_trials`` trials and
    until the epochs trained reach ``epoch_budget`` (at most ``cap`` trials); returns every trial."""
    study = optuna.create_study(
        directions=config.search.directions, sampler=samplers.sampler(config), pruner=samplers.pruner(config)
    )
    objective = BenchObjective(config, dataset)
    records: list[dict] = []
    trained = 0
    while len(records) < min_trials or (trained < epoch_budget and len(records) < max(cap, min_trials)):
        started, cpu = time.perf_counter(), time.process_time()
        with samplers.quiet_experimental():
            study.optimize(objective, n_trials=1, catch=EXPECTED_FAILURES, gc_after_trial=False)
        frozen = study.trials[-1]
        epochs = objective.epochs.get(frozen.number, 0)
        trained += epochs
        complete = frozen.state == optuna.trial.TrialState.COMPLETE
        value = frozen.value if complete else None
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        records.append(vars(TrialRecord(frozen.number, frozen.state.name, value, epochs, seconds, cpu, frozen.params)))
    return records


def make_temp_folder() -> Path:
    """A folder for the CSV problem's file (the caller removes it)."""
    return Path(tempfile.mkdtemp(prefix="bench-search-"))
