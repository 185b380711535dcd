"""Search efficiency on digits: the best validation accuracy after 10, 20 and 40 trials for each sampler,
mean and spread over several sampler seeds, with scikit-learn's RandomizedSearchCV over MLPClassifier on
the same budget and the same validation split as the outside reference.

    python benchmarks/bench_search.py                 # tpe random gp cmaes qmc, 5 seeds, 40 trials
    python benchmarks/bench_search.py --samplers tpe random --seeds 3

Every sweep is the real ``python -m pipeline.sweep`` with the default space, pruner and training
(only the sampler and its seed change), each in a fresh folder; the figures are read from its study.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import optuna

CHECKPOINTS = (10, 20, 40)
ENV = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")} | {"OPENBLAS_NUM_THREADS": "1"}


def best_after(values: list[float], budget: int) -> float:
    seen = [v for v in values[:budget] if v is not None]
    return max(seen) if seen else float("nan")


def sweep_curve(sampler: str, seed: int, trials: int) -> list[float | None]:
    """Each trial's val_accuracy in trial order (None for pruned and failed trials)."""
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "pipeline.sweep", f"sampler={sampler}", f"sampler.seed={seed}"]
        command += [f"search.n_trials={trials}", "tracking.log_model=none", "tracking.log_plots=none"]
        result = subprocess.run(command, cwd=folder, env=ENV, capture_output=True, text=True, timeout=1800)
        if result.returncode != 0:
            raise RuntimeError(f"{sampler} seed {seed} failed:\n{result.stderr[-2000:]}")
        study = optuna.load_study(study_name="digits-sweep", storage=f"sqlite:///{folder}/mlruns/optuna.db")
        ordered = sorted(study.trials, key=lambda t: t.number)
        return [t.value if t.state == optuna.trial.TrialState.COMPLETE else None for t in ordered]


def sklearn_curve(seed: int, trials: int) -> list[float]:
    """RandomizedSearchCV over MLPClassifier (adam, batches of 64, 50 epochs) on the sweep's own split."""
    from scipy.stats import loguniform
    from sklearn.model_selection import PredefinedSplit, RandomizedSearchCV
    from sklearn.neural_network import MLPClassifier

    from pipeline.setup.config import DatasetConfig
    from pipeline.setup.data import load

    data = load(DatasetConfig(), 0)  # the default sweep's digits split (seed 0), scaled on its train split
    X = np.concatenate([data.X_train.T, data.X_val.T])
    y = np.concatenate([data.Y_train.ravel(), data.Y_val.ravel()])
    fold = PredefinedSplit(np.r_[np.full(data.X_train.shape[1], -1), np.zeros(data.X_val.shape[1])])
    sizes = [(w,) for w in (16, 32, 64, 128)] + [(w, w) for w in (16, 32, 64, 128)] + [(64, 32), (128, 64)]
    space = {
        "learning_rate_init": loguniform(1e-4, 1e-1),
        "hidden_layer_sizes": sizes,
        "activation": ["relu", "tanh", "logistic"],
    }
    model = MLPClassifier(solver="adam", batch_size=64, max_iter=50, random_state=seed)
    search = RandomizedSearchCV(model, space, n_iter=trials, cv=fold, random_state=seed, refit=False, n_jobs=1)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at 50 epochs, as the sweep's 50 epochs
        search.fit(X, y)
    return list(search.cv_results_["mean_test_score"])


def summary(curves: list[list[float | None]], trials: int) -> str:
    cells = []
    for budget in (b for b in CHECKPOINTS if b <= trials):
        bests = [best_after(curve, budget) for curve in curves]
        spread = statistics.stdev(bests) if len(bests) > 1 else 0.0
        cells.append(f"{statistics.mean(bests):.4f} ± {spread:.4f}")
    return " | ".join(cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samplers", nargs="+", default=["tpe", "random", "gp", "cmaes", "qmc"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=40)
    args = parser.parse_args()
    print(f"best val_accuracy after {', '.join(map(str, CHECKPOINTS))} trials (mean ± stdev over {args.seeds} seeds)")
    print(f"| search | {' | '.join(f'after {b}' for b in CHECKPOINTS if b <= args.trials)} | seconds per sweep |")
    means = {}
    for sampler in args.samplers:
        started = time.perf_counter()
        curves = [sweep_curve(sampler, seed, args.trials) for seed in range(args.seeds)]
        seconds = (time.perf_counter() - started) / args.seeds
        means[sampler] = statistics.mean(best_after(c, 20) for c in curves)
        print(f"| deepsweep {sampler} | {summary(curves, args.trials)} | {seconds:.1f} |", flush=True)
    started = time.perf_counter()
    curves = [sklearn_curve(seed, args.trials) for seed in range(args.seeds)]
    seconds = (time.perf_counter() - started) / args.seeds
    print(f"| RandomizedSearchCV(MLPClassifier) | {summary(curves, args.trials)} | {seconds:.1f} |")
    if "tpe" in means and "random" in means:
        verdict = "beats" if means["tpe"] > means["random"] else "does NOT beat"
        print(f"TPE {verdict} random at 20 trials on the mean ({means['tpe']:.4f} vs {means['random']:.4f})")


if __name__ == "__main__":
    main()
