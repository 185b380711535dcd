"""Search quality: which sampler and which pruner find the best network soonest, on eight problems.

Every study runs in this process (or a pool of them) with Optuna's in-memory storage and no MLflow,
through the sweep's own code: configs composed from ``conf/`` by Hydra and checked by the pre-flight,
the space's ``suggest``/``apply``, per-trial seeds, ``build_network`` (``config.train`` fits), pruning through
``TrialPruning`` (``benchmarks/search_problems.py`` holds the problems and the trial). Samplers and
pruners are the keys of ``SAMPLERS``/``PRUNERS`` (minus grid, nsgaii, nsgaiii), so a new name is
benchmarked without edits; each study sets ``search.n_trials`` to its budget, as ``sampler=auto`` may
read it. The data split is the same for every seed (root seed 0); seed ``s`` sets ``seed=s`` (hence
the per-trial seeds) and ``sampler.seed=s``.

Measured, per problem and sampler/pruner, median and interquartile range over seeds:

- the best validation metric after 10, 20 and 40 trials;
- the trials needed to match random search's best at 100 trials (median over seeds of its best);
- epochs trained and wall seconds per study;
- pruning at equal cost: each pruner, with the default sampler (``conf/config.yaml``'s), runs until
  it has trained as many epochs as the unpruned 40-trial study of the same seed (epochs stand for
  time: both wall times are shown); its best value, trials (complete, pruned, failed) and epochs;
- outside references on the same split: scikit-learn's RandomizedSearchCV and HalvingRandomSearchCV
  (resource: epochs) over MLPClassifier/MLPRegressor (adam, the problem's batch size and epochs, no
  L2) with the problem's learning-rate, depth and width bounds and relu/tanh/logistic; scored by
  accuracy, or by the negated RMSE turned back into ``val_rmse``.

Then a decision rule: each sampler's rank (pruner none) per problem at 20 and 40 trials, its mean
rank, the winner and on how many problems it beats random; for each pruner, whether its equal-cost
best is no worse than the unpruned best (medians over seeds) and how many epochs it saved.

    python benchmarks/bench_search.py                          # 10 seeds, 40 trials, random at 100 (long)
    python benchmarks/bench_search.py --fast                   # 3 seeds, 20 trials, random at 40, 4 problems
    python benchmarks/bench_search.py --check                  # each problem's spread over random configs
    python benchmarks/bench_search.py --problems moons planar --seeds 2 --samplers tpe random --processes 2
    python benchmarks/bench_search.py --json results.json      # every per-seed curve, for the docs table

Unpruned studies run first, then the pruned ones (their epoch budgets come from the unpruned). Tables
go to stdout as Markdown, progress to stderr.
"""

import argparse
import datetime
import json
import math
import multiprocessing
import os
import platform
import shlex
import shutil
import statistics
import sys
import time
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import search_problems as sp

CHECKPOINTS = (10, 20, 40)
DECISION_AT = (20, 40)  # the trial counts the sampler ranking is taken at
# Samplers left out by default: they need a finite grid, or are made for several objectives.
NOT_BENCHMARKED = {"grid": "needs a finite grid", "nsgaii": "several objectives", "nsgaiii": "several objectives"}
FAST = {"seeds": 3, "trials": 20, "random_trials": 40, "problems": ["planar", "breast_cancer", "diabetes", "digits"]}
CAP = 10  # an equal-cost study stops after CAP x trials even if its epochs have not reached the budget
CHECK_TRIALS = 8


@dataclass(frozen=True)
class Job:
    """One unit of work for the pool: a study, or the scikit-learn references, of one problem and seed."""

    kind: str  # study or sklearn
    problem: str
    overrides: tuple[str, ...]
    seed: int
    sampler: str = ""
    pruner: str = ""
    n_trials: int = 0  # trials to run (at least)
    budget: int = 0  # epochs to reach (pruned studies at equal cost); 0: just the trials


# ----- running ---------------------------------------------------------------------------------------------
def quiet() -> None:
    """One BLAS/OpenMP thread per process, no Optuna chatter, no experimental or convergence warnings."""
    from threadpoolctl import threadpool_limits

    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"  # for libraries loaded later: PyTorch (the gp sampler) reads OMP_NUM_THREADS
    threadpool_limits(1)  # for those loaded already: NumPy's BLAS
    # Failed (diverged) trials are counted in the tables; Optuna would print a warning for each.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def job_config(job: Job) -> Any:
    """The job's checked config: the problem's overrides, then its seed, sampler, pruner and budget
    (``search.n_trials``: what ``sampler=auto`` may look at)."""
    overrides = [*job.overrides, f"seed={job.seed}"]
    if job.kind == "study":
        overrides += [f"sampler={job.sampler}", f"sampler.seed={job.seed}", f"pruner={job.pruner}"]
        overrides.append(f"search.n_trials={job.n_trials}")
    return sp.compose(overrides)


def run_job(job: Job) -> dict[str, Any]:
    """Run one job; returns its figures as plain data (what ``--json`` writes)."""
    config = job_config(job)
    dataset = sp.dataset_for(config)
    started = time.perf_counter()
    if job.kind == "sklearn":
        figures: dict[str, Any] = {"sklearn": sklearn_references(config, dataset, job.seed, job.n_trials)}
    else:
        figures = {"trials": sp.run_study(config, dataset, job.n_trials, job.budget, CAP * job.n_trials)}
    metric = config.search.metrics[0]
    figures |= {"direction": config.search.directions[0], "metric": metric, "epochs": config.train.epochs}
    return {**asdict(job), **figures, "wall_seconds": time.perf_counter() - started}


def run_jobs(jobs: list[Job], processes: int) -> list[dict[str, Any]]:
    """Every job, in a pool of ``processes`` (1: in this process), with a progress line for each."""
    jobs = sorted(jobs, key=lambda job: (job.sampler == "gp", job.n_trials, job.budget), reverse=True)
    done: list[dict[str, Any]] = []
    if processes > 1:
        with multiprocessing.Pool(processes, initializer=quiet) as pool:
            for result in pool.imap_unordered(run_job, jobs):
                done.append(result)
                progress(result, len(done), len(jobs))
    else:
        for job in jobs:
            done.append(run_job(job))
            progress(done[-1], len(done), len(jobs))
    return done


def progress(result: dict[str, Any], count: int, total: int) -> None:
    """One line on stderr per finished job."""
    what = "sklearn references" if result["kind"] == "sklearn" else f"{result['sampler']}/{result['pruner']}"
    extra = f" {len(result['trials'])} trials" if "trials" in result else ""
    line = f"[{count}/{total}] {result['problem']} {what} seed {result['seed']}:{extra} {result['wall_seconds']:.1f} s"
    print(line, file=sys.stderr, flush=True)


# ----- the outside references ------------------------------------------------------------------------------
class HiddenLayers:
    """``hidden_layer_sizes`` drawn as the project's space draws them: a depth, then a log-uniform width each."""

    def __init__(self, depths: tuple[int, int], widths: tuple[int, int]) -> None:
        self.depths, self.widths = depths, widths

    def rvs(self, random_state: Any = None) -> tuple[int, ...]:
        """One draw, as scipy's distributions are asked by ``ParameterSampler``."""
        from sklearn.utils import check_random_state

        rng = check_random_state(random_state)
        depth = int(rng.randint(self.depths[0], self.depths[1] + 1))
        low, high = math.log(self.widths[0]), math.log(self.widths[1])
        return tuple(round(math.exp(rng.uniform(low, high))) for _ in range(depth))


def sklearn_space(config: Any) -> dict[str, Any]:
    """The problem's learning-rate, depth and width bounds; activations relu, tanh, logistic (no leaky ReLU)."""
    from scipy.stats import loguniform

    space = config.search.space
    rate, units = space["learning_rate"], space["hidden_units"]
    depth = space.get("depth")
    depths = (int(depth.low), int(depth.high)) if depth else (len(config.model.hidden_units),) * 2
    return {
        "learning_rate_init": loguniform(rate.low, rate.high),
        "hidden_layer_sizes": HiddenLayers(depths, (int(units.low), int(units.high))),
        "activation": ["relu", "tanh", "logistic"],
    }


def sklearn_problem(config: Any, dataset: Any, seed: int) -> tuple[Any, Any, Any, Any, str, float]:
    """``(estimator, X, y, fold, scoring, sign)``: train+val with a ``PredefinedSplit`` (the study's own
    split); ``sign * score`` is the project's metric (accuracy, or val_rmse from the negated RMSE)."""
    from sklearn.model_selection import PredefinedSplit
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    X = np.concatenate([dataset.X_train.T, dataset.X_val.T])
    y = np.concatenate([dataset.Y_train.T, dataset.Y_val.T])
    y = y.ravel() if y.shape[1] == 1 else y
    fold = PredefinedSplit(np.r_[np.full(dataset.X_train.shape[1], -1), np.zeros(dataset.X_val.shape[1])])
    epochs, batch = config.train.epochs, config.train.batch_size or dataset.X_train.shape[1]
    # alpha=0: the project's l2 is 0; n_iter_no_change above max_iter: every fit trains all its epochs.
    settings = {"solver": "adam", "batch_size": batch, "max_iter": epochs, "alpha": 0.0, "random_state": seed}
    settings["n_iter_no_change"] = epochs + 1
    if dataset.task == "regression":
        return MLPRegressor(**settings), X, y, fold, "neg_root_mean_squared_error", -1.0
    return MLPClassifier(**settings), X, y, fold, "accuracy", 1.0


def sklearn_references(config: Any, dataset: Any, seed: int, trials: int) -> dict[str, Any]:
    """RandomizedSearchCV with ``trials`` candidates (its first n are the n-candidate search: with a
    distribution in the space each candidate is drawn in turn) and HalvingRandomSearchCV with n candidates."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV, RandomizedSearchCV

    estimator, X, y, fold, scoring, sign = sklearn_problem(config, dataset, seed)
    space, common = sklearn_space(config), {"cv": fold, "scoring": scoring, "random_state": seed, "refit": False}
    common |= {"n_jobs": 1, "error_score": math.nan}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # expected: every fit stops at the problem's epochs
        warnings.simplefilter("ignore", UserWarning)  # batch_size clipped to a small training split
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow in a diverging fit: scored as a failure
        search = RandomizedSearchCV(estimator, space, n_iter=trials, **common).fit(X, y)
        results = search.cv_results_
        scores = [sign * s if math.isfinite(s) else None for s in results["mean_test_score"]]
        seconds = list(np.asarray(results["mean_fit_time"]) + np.asarray(results["mean_score_time"]))
        random = {"values": scores, "seconds": seconds, "epochs": config.train.epochs}
        halving = {}
        for n in checkpoints(trials):
            started = time.perf_counter()
            options = {"n_candidates": n, "resource": "max_iter", "max_resources": config.train.epochs}
            found = HalvingRandomSearchCV(estimator, space, min_resources="exhaust", factor=3, **options, **common)
            found.fit(X, y)
            best = sign * found.best_score_ if math.isfinite(found.best_score_) else None
            epochs = int(sum(c * r for c, r in zip(found.n_candidates_, found.n_resources_, strict=True)))
            halving[n] = {"best": best, "seconds": time.perf_counter() - started, "epochs": epochs}
    return {"random": random, "halving": halving}


# ----- figures -----------------------------------------------------------------------------------------------
def checkpoints(trials: int) -> list[int]:
    """The trial counts figures are taken at: 10, 20, 40 up to ``trials``, and ``trials`` itself."""
    return sorted({*(c for c in CHECKPOINTS if c <= trials), trials})


def worst(direction: str) -> float:
    """The value every real value beats: what a study that found nothing scores."""
    return -math.inf if direction == "maximize" else math.inf


def best_so_far(values: Iterable[float | None], direction: str) -> list[float]:
    """The best value after each trial (failed and pruned trials have ``None``; before any: the worst)."""
    pick = max if direction == "maximize" else min
    best, curve = worst(direction), []
    for value in values:
        best = best if value is None else pick(best, value)
        curve.append(best)
    return curve


def best_after(values: list[float | None], n: int, direction: str) -> float:
    """The best value among the first ``n`` trials (the worst value if none completed)."""
    curve = best_so_far(values[:n], direction)
    return curve[-1] if curve else worst(direction)


def reaches(values: list[float | None], target: float, direction: str, limit: int) -> float:
    """The first trial (1-based) whose best-so-far is at least as good as ``target``; inf if none within ``limit``."""
    for number, best in enumerate(best_so_far(values[:limit], direction), start=1):
        if (best >= target) if direction == "maximize" else (best <= target):
            return number
    return math.inf


def quartiles(values: list[float]) -> tuple[float, float]:
    """``(median, interquartile range)``; a study that found nothing counts as the worst value."""
    if not values:
        return math.nan, math.nan
    low, median, high = np.percentile(np.asarray(values, dtype=float), [25, 50, 75])
    spread = high - low if math.isfinite(high - low) else math.nan
    return float(median), float(spread)


def trial_values(result: dict[str, Any]) -> list[float | None]:
    """A study's values in trial order, ``None`` for pruned and failed trials."""
    return [trial["value"] for trial in result["trials"]]


def prefix_sum(result: dict[str, Any], field: str, n: int) -> float:
    """The sum of ``field`` (epochs, seconds) over a study's first ``n`` trials."""
    return float(sum(trial[field] for trial in result["trials"][:n]))


def equal_cost(result: dict[str, Any], budget: int) -> dict[str, Any]:
    """A study's figures at the first trial where its epochs reach ``budget`` (all its trials if never)."""
    trials, total = result["trials"], 0
    count = len(trials)
    for number, trial in enumerate(trials, start=1):
        total += trial["epochs"]
        if total >= budget:
            count = number
            break
    kept = trials[:count]
    states = [trial["state"] for trial in kept]
    return {
        "best": best_after(trial_values(result), count, result["direction"]),
        "trials": count,
        "complete": states.count("COMPLETE"),
        "pruned": states.count("PRUNED"),
        "failed": states.count("FAIL"),
        "epochs": sum(trial["epochs"] for trial in kept),
        "budget": budget,
        "seconds": sum(trial["seconds"] for trial in kept),
        "reached": total >= budget,
    }


# ----- the plan ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    """What to run: problems (name -> overrides), samplers, pruners, seeds, trial counts."""

    problems: dict[str, tuple[str, ...]]
    samplers: list[str]
    pruners: list[str]
    seeds: int
    trials: int
    random_trials: int
    default_sampler: str
    cross: bool = False
    references: bool = True

    def unpruned_jobs(self) -> list[Job]:
        """Phase 1: every sampler without pruning (random to ``random_trials``), and the references."""
        samplers = set(self.samplers) | {"random"} | ({self.default_sampler} if self.pruned_pairs() else set())
        jobs = []
        for problem, overrides in self.problems.items():
            for seed in range(self.seeds):
                for sampler in sorted(samplers):
                    trials = max(self.trials, self.random_trials) if sampler == "random" else self.trials
                    jobs.append(Job("study", problem, overrides, seed, sampler, "none", trials))
                if self.references:
                    jobs.append(Job("sklearn", problem, overrides, seed, n_trials=self.trials))
        return jobs

    def pruned_pairs(self) -> list[tuple[str, str]]:
        """``(sampler, pruner)`` of every pruned study: the default sampler's (every sampler's with ``cross``)."""
        samplers = self.samplers if self.cross else [self.default_sampler]
        return [(sampler, pruner) for sampler in samplers for pruner in self.pruners if pruner != "none"]

    def pruned_jobs(self, budgets: dict[tuple[str, str, int], int]) -> list[Job]:
        """Phase 2: each pruner, until its epochs reach the unpruned study's of the same sampler and seed."""
        jobs = []
        for problem, overrides in self.problems.items():
            for seed in range(self.seeds):
                for sampler, pruner in self.pruned_pairs():
                    budget = budgets[(problem, sampler, seed)]
                    jobs.append(Job("study", problem, overrides, seed, sampler, pruner, self.trials, budget))
        return jobs


def budgets_from(results: list[dict[str, Any]], trials: int) -> dict[tuple[str, str, int], int]:
    """(problem, sampler, seed) -> epochs its unpruned study trained in its first ``trials`` trials."""
    return {
        (r["problem"], r["sampler"], r["seed"]): int(prefix_sum(r, "epochs", trials))
        for r in results
        if r["kind"] == "study" and r["pruner"] == "none"
    }


def runnable(names: Iterable[str], group: str) -> list[str]:
    """The names that compose (``conf/<group>/<name>.yaml``) and build (e.g. gp needs PyTorch); others are
    reported and skipped."""
    from pipeline.errors import ConfigError
    from pipeline.search import samplers

    kept = []
    for name in names:
        if not (sp.CONF / group / f"{name}.yaml").is_file():
            print(f"skipped {group}={name}: no conf/{group}/{name}.yaml", file=sys.stderr)
            continue
        try:
            getattr(samplers, group)(sp.compose([f"{group}={name}"]))
        except ConfigError as error:
            print(f"skipped {group}={name}: {error}", file=sys.stderr)
            continue
        kept.append(name)
    return kept


def chosen_problems(names: list[str] | None, folder: Path, fast: bool) -> dict[str, tuple[str, ...]]:
    """The problems to run (name -> overrides); one whose data are absent is skipped with a printed reason."""
    table = sp.problems(folder)
    wanted = names or (FAST["problems"] if fast else list(table))
    unknown = [name for name in wanted if name not in table]
    if unknown:
        raise SystemExit(f"unknown problem(s) {unknown}; choose from {list(table)}")
    kept = {}
    for name in wanted:
        needs = table[name].needs
        if needs is not None and not needs.exists():
            print(f"skipped problem {name}: {needs} not found", file=sys.stderr)
            continue
        kept[name] = table[name].overrides
    return kept


# ----- grouping and measures ---------------------------------------------------------------------------------
class Figures:
    """The results grouped by problem and sampler/pruner, seeds in order, with every measure's raw per-seed
    numbers (``measures``: what ``--json`` keeps besides the curves)."""

    def __init__(self, plan: Plan, results: list[dict[str, Any]]) -> None:
        self.plan = plan
        self.studies: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        self.refs: dict[str, list[dict[str, Any]]] = {}
        self.about: dict[str, dict[str, Any]] = {}  # problem -> metric, direction, epochs
        for result in sorted(results, key=lambda r: r["seed"]):
            if result["kind"] == "sklearn":
                self.refs.setdefault(result["problem"], []).append(result)
            else:
                self.studies.setdefault((result["problem"], result["sampler"], result["pruner"]), []).append(result)
            self.about[result["problem"]] = {k: result[k] for k in ("metric", "direction", "epochs")}
        self.problems = [p for p in plan.problems if p in self.about]
        unpruned = [s for s in [*plan.samplers, "random"] if s in {k[1] for k in self.studies if k[2] == "none"}]
        self.samplers = list(dict.fromkeys(unpruned))  # plan order, random included (the baseline), once
        self.pairs = [(s, "none") for s in self.samplers] + plan.pruned_pairs()

    def direction(self, problem: str) -> str:
        """``maximize`` or ``minimize``: the problem's ``search.direction``."""
        return self.about[problem]["direction"]

    def best(self, n: int) -> dict[str, dict[str, list[float]]]:
        """problem -> column -> the best value after ``n`` trials, per seed (the worst value if none)."""
        table: dict[str, dict[str, list[float]]] = {}
        for problem in self.problems:
            way = self.direction(problem)
            row = {
                label(pair): [best_after(trial_values(r), n, way) for r in self.runs(problem, pair)]
                for pair in self.pairs
            }
            if problem in self.refs:
                refs = self.refs[problem]
                row["RandomizedSearchCV"] = [best_after(r["sklearn"]["random"]["values"], n, way) for r in refs]
                row["HalvingRandomSearchCV"] = [_or_worst(r["sklearn"]["halving"][n]["best"], way) for r in refs]
            table[problem] = row
        return table

    def runs(self, problem: str, pair: tuple[str, str]) -> list[dict[str, Any]]:
        """The studies of one problem and ``(sampler, pruner)``, in seed order."""
        return self.studies.get((problem, *pair), [])

    def target(self, problem: str) -> float:
        """Random search's best at ``random_trials`` trials, median over seeds: what the others must match."""
        runs = self.runs(problem, ("random", "none"))
        return float(
            np.median([best_after(trial_values(r), self.plan.random_trials, self.direction(problem)) for r in runs])
        )

    def to_match(self) -> dict[str, dict[str, list[float]]]:
        """problem -> column -> per seed, the first trial whose best reaches ``target`` (inf: not within the limit)."""
        table = {}
        for problem in self.problems:
            way, target = self.direction(problem), self.target(problem)
            row: dict[str, list[float]] = {}
            for pair in self.pairs:
                limit = self.limit(pair)
                row[label(pair)] = [reaches(trial_values(r), target, way, limit) for r in self.runs(problem, pair)]
            if problem in self.refs:
                curves = [r["sklearn"]["random"]["values"] for r in self.refs[problem]]
                row["RandomizedSearchCV"] = [reaches(c, target, way, self.plan.trials) for c in curves]
            table[problem] = row
        return table

    def limit(self, pair: tuple[str, str]) -> int:
        """How many trials a column's studies ran (random without pruning: up to its reference budget)."""
        return max(self.plan.trials, self.plan.random_trials) if pair == ("random", "none") else self.plan.trials

    def cost(self, field: str) -> dict[str, dict[str, list[float]]]:
        """problem -> column -> per seed, the epochs or seconds of the first ``trials`` trials."""
        n, table = self.plan.trials, {}
        for problem in self.problems:
            row = {label(pair): [prefix_sum(r, field, n) for r in self.runs(problem, pair)] for pair in self.pairs}
            for r in self.refs.get(problem, []):
                sk = r["sklearn"]
                random = n * sk["random"]["epochs"] if field == "epochs" else sum(sk["random"]["seconds"][:n])
                row.setdefault("RandomizedSearchCV", []).append(random)
                row.setdefault("HalvingRandomSearchCV", []).append(sk["halving"][n][field])
            table[problem] = row
        return table

    def equal_cost(self, pair: tuple[str, str]) -> dict[str, list[dict[str, Any]]]:
        """problem -> per seed, ``equal_cost`` figures of a pruned study at its unpruned twin's epochs."""
        return {problem: [equal_cost(r, r["budget"]) for r in self.runs(problem, pair)] for problem in self.problems}


def label(pair: tuple[str, str]) -> str:
    """A column's name: the sampler alone without pruning, else ``sampler+pruner``."""
    sampler, pruner = pair
    return sampler if pruner == "none" else f"{sampler}+{pruner}"


def _or_worst(value: float | None, direction: str) -> float:
    return worst(direction) if value is None else value


def better(a: float, b: float, direction: str) -> bool:
    """``a`` at least as good as ``b``."""
    return a >= b if direction == "maximize" else a <= b


def ranks(medians: dict[str, float], direction: str) -> dict[str, float]:
    """1 = best; ties share the mean of the ranks they span; NaN counts as the worst."""
    sign = -1.0 if direction == "maximize" else 1.0
    keys = {name: (sign * value if math.isfinite(value) else math.inf) for name, value in medians.items()}
    return {
        name: sum(k < key for k in keys.values()) + (sum(k == key for k in keys.values()) + 1) / 2
        for name, key in keys.items()
    }


# ----- printing ----------------------------------------------------------------------------------------------
def markdown(headers: list[str], rows: list[list[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def number(value: float, metric: str) -> str:
    """A metric value: accuracies with 4 decimals, other values (RMSE) with 2; not found: a dash."""
    if not math.isfinite(value):
        return "—"
    return f"{value:.4f}" if metric.endswith("accuracy") else f"{value:.2f}"


def spread_cell(values: list[float], metric: str) -> str:
    """``median (IQR)`` over seeds."""
    median, spread = quartiles(values)
    return f"{number(median, metric)} ({number(spread, metric)})" if values else "—"


def trials_cell(values: list[float], limit: int) -> str:
    """The median trial count over seeds, ``>limit`` when the median seed never got there."""
    if not values:
        return "—"
    median = statistics.median(values)
    return f">{limit}" if not math.isfinite(median) else f"{median:g}"


def print_table(title: str, table: dict[str, dict[str, list[float]]], figures: Figures, render: Any) -> None:
    """One measure: problems as rows (with their metric), columns in ``figures.pairs`` order then the references."""
    columns = list(dict.fromkeys(column for row in table.values() for column in row))
    rows = []
    for problem, row in table.items():
        about = figures.about[problem]
        metric = f"{about['metric']} ({about['direction'][:3]})"
        rows.append([problem, metric, *(render(row.get(column, []), about["metric"], column) for column in columns)])
    print(f"\n### {title}\n")
    print(markdown(["problem", "metric", *columns], rows))


def print_measures(figures: Figures) -> dict[str, Any]:
    """Every measure's table; returns their raw per-seed numbers."""
    plan, measures = figures.plan, {}
    for n in checkpoints(plan.trials):
        measures[f"best_after_{n}"] = table = figures.best(n)
        title = f"Best validation metric after {n} trials: median (IQR) over {plan.seeds} seeds"
        print_table(title, table, figures, lambda values, metric, _: spread_cell(values, metric))
    measures["trials_to_match_random"] = table = figures.to_match()
    targets = ", ".join(f"{p} {number(figures.target(p), figures.about[p]['metric'])}" for p in figures.problems)
    title = f"Trials to match random search's best at {plan.random_trials} trials (median over seeds; {targets})"
    limit = {label(pair): figures.limit(pair) for pair in figures.pairs}
    print_table(title, table, figures, lambda values, _, column: trials_cell(values, limit.get(column, plan.trials)))
    for field, unit in (("epochs", "epochs trained"), ("seconds", "wall seconds")):
        measures[field] = table = figures.cost(field)
        title = f"{unit.capitalize()} per study of {plan.trials} trials (median over seeds)"
        print_table(title, table, figures, lambda values, _, __: f"{statistics.median(values):.4g}" if values else "—")
    return measures


EQUAL_COST_HEADERS = ["problem", "best at equal epochs (IQR)", "unpruned best", "no worse", "trials", "complete"]
EQUAL_COST_HEADERS += ["pruned", "failed", "epochs", "unpruned epochs", "wall s", "unpruned wall s", "budget missed"]


def equal_cost_row(figures: Figures, problem: str, pair: tuple[str, str], seeds: list[dict[str, Any]]) -> list[str]:
    """One problem's equal-cost figures, medians over seeds, beside the unpruned study's."""
    metric, way, n = figures.about[problem]["metric"], figures.direction(problem), figures.plan.trials
    twins = figures.runs(problem, (pair[0], "none"))
    unpruned = float(np.median([best_after(trial_values(r), n, way) for r in twins]))
    best = float(np.median([s["best"] for s in seeds]))
    cells = [problem, spread_cell([s["best"] for s in seeds], metric), number(unpruned, metric)]
    cells.append("yes" if better(best, unpruned, way) else "**no**")
    cells += [f"{statistics.median(s[key] for s in seeds):.4g}" for key in ("trials", "complete", "pruned", "failed")]
    cells += [f"{statistics.median(s[key] for s in seeds):.4g}" for key in ("epochs", "budget", "seconds")]
    cells.append(f"{statistics.median(prefix_sum(r, 'seconds', n) for r in twins):.4g}")
    return [*cells, str(sum(not s["reached"] for s in seeds))]


def print_equal_cost(figures: Figures) -> dict[str, Any]:
    """Per pruned pair: its figures once it has trained as many epochs as the unpruned study of its seed."""
    found = {}
    for pair in figures.plan.pruned_pairs():
        found[label(pair)] = table = figures.equal_cost(pair)
        rows = [equal_cost_row(figures, problem, pair, seeds) for problem, seeds in table.items() if seeds]
        print(f"\n### Pruning at equal cost: {label(pair)} run until its epochs reach those of {pair[0]}'s ", end="")
        print(f"unpruned {figures.plan.trials}-trial study of the same seed (medians over seeds)\n")
        print(markdown(EQUAL_COST_HEADERS, rows))
    return found


# ----- the decision rule -------------------------------------------------------------------------------------
def sampler_ranks(figures: Figures, bests: dict[int, dict[str, dict[str, list[float]]]]) -> dict[str, Any]:
    """Each unpruned sampler's rank of its median best per problem at the decision trial counts, the mean
    ranks, the winner and on how many problems it beats random."""
    at = [n for n in DECISION_AT if n in bests] or [max(bests)]
    per_problem = {}
    for problem in figures.problems:
        way = figures.direction(problem)
        per_problem[problem] = {
            n: ranks({s: quartiles(bests[n][problem].get(s, []))[0] for s in figures.samplers}, way) for n in at
        }
    problems, samplers = figures.problems, figures.samplers
    mean = {n: {s: statistics.mean(per_problem[p][n][s] for p in problems) for s in samplers} for n in at}
    combined = {s: statistics.mean(mean[n][s] for n in at) for s in figures.samplers}
    winner = min(combined, key=combined.get)
    beats = {}
    for n in at:
        median = {p: {s: quartiles(bests[n][p][s])[0] for s in (winner, "random")} for p in figures.problems}
        beats[n] = sum(
            better(median[p][winner], median[p]["random"], figures.direction(p))
            and median[p][winner] != median[p]["random"]
            for p in figures.problems
        )
    return {"at": at, "per_problem": per_problem, "mean": mean, "combined": combined, "winner": winner, "beats": beats}


def print_sampler_decision(figures: Figures, decision: dict[str, Any]) -> None:
    """The rank table, the mean ranks, the winner and its count of problems won against random."""
    at, samplers = decision["at"], figures.samplers
    headers = ["problem", *(f"{s} @{n}" for s in samplers for n in at)]
    rows = [[p, *(f"{decision['per_problem'][p][n][s]:g}" for s in samplers for n in at)] for p in figures.problems]
    rows.append(["**mean rank**", *(f"{decision['mean'][n][s]:.2f}" for s in samplers for n in at)])
    print("\n### Decision: sampler ranks of the median best (pruner none; 1 = best, ties share)\n")
    print(markdown(headers, rows))
    winner, count = decision["winner"], len(figures.problems)
    order = ", ".join(f"{s} {r:.2f}" for s, r in sorted(decision["combined"].items(), key=lambda item: item[1]))
    print(f"\nMean rank at {' and '.join(map(str, at))} trials combined: {order}.")
    tied = [s for s, rank in decision["combined"].items() if rank == decision["combined"][winner]]
    if len(tied) > 1:
        print(f"No single winner: {', '.join(tied)} share the best mean rank (below: the first of them).")
    if winner == "random":
        print("Winner: **random** search itself: no sampler's mean rank beats it.")
        return
    beats = "; ".join(f"{decision['beats'][n]}/{count} problems at {n} trials" for n in at)
    print(f"Winner: **{winner}**; its median best is strictly better than random's on {beats}.")


def pruner_decision(figures: Figures) -> dict[str, dict[str, Any]]:
    """Per pruned pair and problem: is the equal-cost best no worse than the unpruned best (medians over
    seeds), and how many fewer epochs its first ``trials`` trials trained (median of per-seed savings)."""
    n, found = figures.plan.trials, {}
    for pair in figures.plan.pruned_pairs():
        rows = {}
        for problem, seeds in figures.equal_cost(pair).items():
            if not seeds:
                continue
            way, twins = figures.direction(problem), figures.runs(problem, (pair[0], "none"))
            pruned = figures.runs(problem, pair)
            unpruned = float(np.median([best_after(trial_values(r), n, way) for r in twins]))
            pairs = zip(pruned, twins, strict=True)
            saved = [1 - prefix_sum(p, "epochs", n) / max(prefix_sum(u, "epochs", n), 1) for p, u in pairs]
            rows[problem] = {
                "no_worse": better(float(np.median([s["best"] for s in seeds])), unpruned, way),
                "best_at_n": float(np.median([best_after(trial_values(r), n, way) for r in pruned])),
                "unpruned_best_at_n": unpruned,
                "epochs_saved": float(np.median(saved)),
            }
        found[label(pair)] = rows
    return found


def print_pruner_decision(figures: Figures, decision: dict[str, dict[str, Any]], default_pruner: str) -> None:
    """Per pruned pair: each problem's verdict and epochs saved, then on how many problems both hold."""
    n = figures.plan.trials
    for name, rows in decision.items():
        if not rows:
            continue
        lines = []
        for problem, row in rows.items():
            metric = figures.about[problem]["metric"]
            lines.append(
                [problem, "yes" if row["no_worse"] else "**no**", number(row["best_at_n"], metric),
                 number(row["unpruned_best_at_n"], metric), f"{100 * row['epochs_saved']:.0f}%"]
            )  # fmt: skip
        default = " (the default pruner)" if name.endswith(f"+{default_pruner}") else ""
        print(f"\n### Decision: {name}{default}\n")
        headers = ["problem", "equal-cost best ≥ unpruned", f"best @{n}", f"unpruned best @{n}", f"epochs saved @{n}"]
        print(markdown(headers, lines))
        held = sum(row["no_worse"] and row["epochs_saved"] > 0 for row in rows.values())
        print(f"\nNo worse at equal cost while training fewer epochs: {held}/{len(rows)} problems.")


# ----- --check: does the metric vary on each problem? --------------------------------------------------------
def check(problems: dict[str, tuple[str, ...]], trials: int) -> dict[str, Any]:
    """``trials`` random configurations per problem (seed 0, no pruning): the metric's spread and a trial's cost."""
    rows, found = [], {}
    for problem, overrides in problems.items():
        config = sp.compose([*overrides, "sampler=random", "pruner=none"])
        dataset = sp.dataset_for(config)
        records = sp.run_study(config, dataset, trials)
        values = [r["value"] for r in records if r["value"] is not None]
        way, metric = config.search.directions[0], config.search.metrics[0]
        found[problem] = {"values": values, "trials": records}
        spread = np.percentile(values, [0, 50, 100]) if values else [math.nan] * 3
        at_best = sum(v == best_after(values, len(values), way) for v in values)
        cost = [statistics.median(r[key] for r in records) for key in ("cpu_seconds", "seconds")]
        sizes = [config.train.epochs, dataset.X_train.shape[1], dataset.X_val.shape[1]]
        rows.append([problem, metric, *map(str, sizes), *(number(v, metric) for v in spread)])
        rows[-1] += [f"{at_best}/{len(values)}", str(len(records) - len(values)), *(f"{c:.3f}" for c in cost)]
    headers = ["problem", "metric", "epochs", "m_train", "m_val", "min", "median", "max", "at best", "failed"]
    print(f"\n### Spread of the metric over {trials} random configurations (seed 0, pruner none)\n")
    print(markdown([*headers, "trial CPU s (median)", "trial wall s (median)"], rows))
    return found


# ----- the machine and the run -------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    """Where and when this ran, and how it was started."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    import sklearn

    from pipeline.run_record import git_commit

    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_start": os.getloadavg(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": shlex.join(["python", *sys.argv]),
        "versions": {"numpy": np.__version__, "optuna": optuna.__version__, "scikit-learn": sklearn.__version__},
        "git_commit": git_commit(),
    }


def print_machine(about: dict[str, Any]) -> None:
    """The run's header: command, machine, load, versions."""
    load = ", ".join(f"{x:.2f}" for x in about["load_start"])
    versions = ", ".join(f"{k} {v}" for k, v in about["versions"].items())
    print(f"# Search benchmark, {about['date']}\n")
    print(f"- command: `{about['command']}`")
    print(f"- machine: {about['platform']}, {about['cpu']}, {about['cores']} cores; load average at start {load}")
    print(f"- Python {about['python']}, {versions}; deepsweep {about['git_commit']}")


def describe(problems: dict[str, tuple[str, ...]], folder: Path) -> dict[str, Any]:
    """The problems' settings (as composed) and why they were chosen, printed as a table."""
    table, rows = sp.problems(folder), []
    found = {}
    for name, overrides in problems.items():
        config = sp.compose(list(overrides))
        data = sp.dataset_for(config)
        shown = [o for o in overrides if not o.startswith("dataset.path=")]
        found[name] = {"overrides": list(overrides), "metric": config.search.metrics[0], "epochs": config.train.epochs}
        found[name] |= {"m_train": data.X_train.shape[1], "m_val": data.X_val.shape[1], "task": data.task}
        rows.append(
            [name, " ".join(shown), data.task, found[name]["metric"], str(config.train.epochs),
             str(config.train.batch_size), f"{data.X_train.shape[1]}/{data.X_val.shape[1]}", table[name].why]
        )  # fmt: skip
    print("\n### Problems (search=default: learning_rate, depth 1-3, hidden_units 16-128, hidden_activation)\n")
    print(markdown(["problem", "overrides", "task", "metric", "epochs", "batch", "m train/val", "why"], rows))
    return found


def arguments() -> argparse.Namespace:
    """The command line, with ``--fast``'s or the full run's values where not given."""
    from pipeline.search.samplers import PRUNERS, SAMPLERS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fast", action="store_true", help=f"{FAST} unless given")
    parser.add_argument("--check", action="store_true", help="the metric's spread over random configs, then stop")
    parser.add_argument("--problems", nargs="+", help=f"default: all (fast: {' '.join(FAST['problems'])})")
    samplers = [name for name in SAMPLERS if name not in NOT_BENCHMARKED]
    parser.add_argument("--samplers", nargs="+", default=samplers, choices=list(SAMPLERS))
    parser.add_argument("--pruners", nargs="+", default=list(PRUNERS), choices=list(PRUNERS))
    parser.add_argument("--seeds", type=int, help="seeds 0..N-1 (default 10, fast 3)")
    parser.add_argument("--trials", type=int, help="trials per study (default 40, fast 20)")
    parser.add_argument("--random-trials", type=int, help="random search's reference budget (default 100, fast 40)")
    parser.add_argument("--cross", action="store_true", help="every sampler with every pruner (default: pruners "
                        "with the default sampler only)")  # fmt: skip
    parser.add_argument("--no-references", action="store_true", help="skip scikit-learn's searches")
    parser.add_argument("--processes", type=int, default=1, help="worker processes, one BLAS thread each")
    parser.add_argument(
        "--json", type=Path, help="write every per-seed curve and figure here (null: nothing found / never reached)"
    )
    args = parser.parse_args()
    defaults = FAST if args.fast else {"seeds": 10, "trials": 40, "random_trials": 100}
    for key in ("seeds", "trials", "random_trials"):
        if getattr(args, key) is None:
            setattr(args, key, defaults[key])
    return args


def make_plan(args: argparse.Namespace, problems: dict[str, tuple[str, ...]]) -> Plan:
    """The plan from the command line; the default sampler is the one ``conf/config.yaml`` names."""
    defaults = sp.compose([])  # the project's default sampler and pruner, as conf/config.yaml names them
    return Plan(
        problems,
        runnable(args.samplers, "sampler"),
        runnable(args.pruners, "pruner"),
        args.seeds,
        args.trials,
        args.random_trials,
        defaults.sampler.name,
        args.cross,
        not args.no_references,
    )


def auto_choices(plan: Plan) -> dict[str, str]:
    """What ``sampler=auto`` and ``pruner=auto`` resolve to on each problem at the plan's budget (when the
    project has them), printed once; returns problem -> the resolution."""
    from pipeline.search import samplers

    found = {}
    for problem, overrides in plan.problems.items():
        config = sp.compose([*overrides, "sampler=auto", "pruner=auto", f"search.n_trials={plan.trials}"])
        parts = []
        for group, chooser in (("sampler", "choose_sampler"), ("pruner", "choose_pruner")):
            if "auto" in getattr(plan, f"{group}s") and hasattr(samplers, chooser):
                name, why = getattr(samplers, chooser)(config)
                parts.append(f"{group}=auto is {name} ({why})")
        if parts:
            found[problem] = "; ".join(parts)
    for text in sorted(set(found.values())):
        print(f"- {text}: {', '.join(p for p, t in found.items() if t == text)}")
    return found


def benchmark(plan: Plan, processes: int, default_pruner: str) -> dict[str, Any]:
    """Run the plan's two phases and print every table; returns the raw results and figures."""
    results = run_jobs(plan.unpruned_jobs(), processes)
    results += run_jobs(plan.pruned_jobs(budgets_from(results, plan.trials)), processes)
    figures = Figures(plan, results)
    measures = print_measures(figures)
    equal = print_equal_cost(figures)
    bests = {n: measures[f"best_after_{n}"] for n in checkpoints(plan.trials)}
    samplers = sampler_ranks(figures, bests)
    print_sampler_decision(figures, samplers)
    pruners = pruner_decision(figures)
    print_pruner_decision(figures, pruners, default_pruner)
    decision = {"samplers": samplers, "pruners": pruners}
    return {"results": results, "measures": measures, "equal_cost": equal, "decision": decision}


def plain(value: Any) -> Any:
    """``value`` as standard JSON data: a non-finite number (nothing found, never reached) becomes null."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value if value is None or isinstance(value, str | int | bool) else str(value)


def main() -> None:
    """Print the header and the problems, then the check or the benchmark's tables; write ``--json``."""
    args = arguments()
    quiet()
    about = machine()
    folder = sp.make_temp_folder()
    try:
        sp.write_wine_csv(folder)
        problems = chosen_problems(args.problems, folder, args.fast)
        print_machine(about)
        output: dict[str, Any] = {"machine": about, "problems": describe(problems, folder)}
        if args.check:
            output["check"] = check(problems, CHECK_TRIALS)
        else:
            plan = make_plan(args, problems)
            print(f"- plan: {plan.seeds} seeds, {plan.trials} trials (random {plan.random_trials}), samplers "
                  f"{plan.samplers}, pruners {plan.pruners}, default sampler {plan.default_sampler}")  # fmt: skip
            output["plan"] = asdict(plan)
            output["auto"] = auto_choices(plan)
            output |= benchmark(plan, args.processes, sp.compose([]).pruner.name)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    about["load_end"] = os.getloadavg()
    print(f"\nLoad average at the end: {', '.join(f'{x:.2f}' for x in about['load_end'])}")
    if args.json:
        args.json.write_text(json.dumps(plain(output), indent=1, allow_nan=False), encoding="utf-8")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
