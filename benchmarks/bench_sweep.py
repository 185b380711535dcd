"""Sweep benchmarks: per-trial overhead, worker scaling, the default sweep, and pruning's savings.

Every figure comes from the real command (``python -m pipeline.sweep``) writing real SQLite stores in
a temporary folder, read back through Optuna and MLflow. Peers measured in the same run:

- overhead: Optuna driving the same network with optuna-integration's ``MLflowCallback`` (which
  logs only parameters and the final value per trial), and bare in-memory Optuna (the floor);
- default sweep: scikit-learn's ``MLPClassifier`` with its defaults on the same split.

Usage: ``python benchmarks/bench_sweep.py [--quick]``; prints a table of figures and ratios.
"""

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mlflow
import optuna
from mlflow import MlflowClient

ROOT = Path(__file__).resolve().parents[1]
ENV = {**{k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}, "PYTHONPATH": str(ROOT)}


def sweep(folder: Path, *overrides: str) -> float:
    """Run the real command in ``folder``; returns its wall time in seconds."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.sweep", *overrides], cwd=folder, env=ENV, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    return time.perf_counter() - started


def trials_and_runs(folder: Path, study_name: str) -> tuple[list[optuna.trial.FrozenTrial], MlflowClient]:
    study = optuna.load_study(study_name=study_name, storage=f"sqlite:///{folder}/mlruns/optuna.db")
    return study.trials, MlflowClient(f"sqlite:///{folder}/mlruns/mlflow.db")


def overhead_ours(folder: Path, trials: int) -> float:
    """Median per-trial time outside training: from one trial's end to the next one's end, minus the
    next one's training time (so it includes sampling, Optuna's writes, MLflow's run, artifacts)."""
    sweep(folder, "dataset=iris", "train.epochs=5", "pruner=none", f"search.n_trials={trials}")
    done, client = trials_and_runs(folder, "iris-sweep")
    done.sort(key=lambda t: t.datetime_complete)
    gaps = []
    for previous, trial in itertools.pairwise(done):
        train = float(client.get_run(trial.user_attrs["mlflow_run_id"]).data.tags["train_seconds"])
        gaps.append((trial.datetime_complete - previous.datetime_complete).total_seconds() - train)
    return statistics.median(gaps)


def overhead_peer(folder: Path, trials: int, with_mlflow: bool) -> float:
    """The same trials driven by Optuna directly, with optuna-integration's MLflowCallback or bare."""
    from models import DeepNetwork
    from pipeline.setup.data import load_dataset

    data = load_dataset("iris")
    times: list[tuple[float, float]] = []  # (end of trial, its training seconds)

    def objective(trial: optuna.Trial) -> float:
        depth = trial.suggest_int("depth", 1, 3)
        units = [trial.suggest_int(f"hidden_units_l{i}", 16, 128, log=True) for i in range(1, depth + 1)]
        network = DeepNetwork(
            [data.n_features, *units, data.n_outputs],
            hidden_activation=trial.suggest_categorical("hidden_activation", ["relu", "tanh", "leaky_relu", "sigmoid"]),
            output=data.output,
        )
        started = time.perf_counter()
        network.fit(
            data.X_train,
            data.Y_train,
            learning_rate=trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True),
            epochs=5,
            batch_size=64,
            optimizer="adam",
            validation=(data.X_val, data.Y_val),
        )
        times.append((0.0, time.perf_counter() - started))
        return network.evaluate(data.X_val, data.Y_val)["accuracy"]

    callbacks = []
    if with_mlflow:
        from optuna_integration.mlflow import MLflowCallback

        mlflow.set_tracking_uri(f"sqlite:///{folder}/peer.db")
        callbacks.append(MLflowCallback(tracking_uri=f"sqlite:///{folder}/peer.db", metric_name="val_accuracy"))
    storage = f"sqlite:///{folder}/peer-optuna.db" if with_mlflow else None
    study = optuna.create_study(storage=storage, direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
    ends = []
    callbacks.append(lambda study, trial: ends.append(time.perf_counter()))
    study.optimize(objective, n_trials=trials, callbacks=callbacks)
    gaps = [b - a - times[i + 1][1] for i, (a, b) in enumerate(itertools.pairwise(ends))]
    return statistics.median(gaps)


def trials_per_minute(folder: Path, workers: int, trials: int) -> tuple[float, float]:
    """Throughput of ``search.workers=workers`` on trials of equal cost (a fixed [64, 32] network,
    only the learning rate searched): over the whole command, and in steady state (from the
    completion of the tenth trial to the last, once every worker has started)."""
    fixed = ("~search.space.depth", "~search.space.hidden_units", "~search.space.hidden_activation")
    overrides = ("dataset=digits", "train.epochs=100", "pruner=none", f"search.n_trials={trials}", *fixed)
    seconds = sweep(folder, *overrides, f"search.workers={workers}")
    done, _ = trials_and_runs(folder, "digits-sweep")
    completions = sorted(t.datetime_complete for t in done)
    steady = (completions[-1] - completions[9]).total_seconds()
    return trials / seconds * 60, (len(completions) - 10) / steady * 60


def default_sweep(folder: Path) -> tuple[float, float, float]:
    """Wall time, best trial's val and test accuracy of ``python -m pipeline.sweep`` with no arguments."""
    seconds = sweep(folder)
    study = optuna.load_study(study_name="digits-sweep", storage=f"sqlite:///{folder}/mlruns/optuna.db")
    client = MlflowClient(f"sqlite:///{folder}/mlruns/mlflow.db")
    test = client.get_run(study.best_trial.user_attrs["mlflow_run_id"]).data.metrics["test_accuracy"]
    return seconds, study.best_value, test


def mlp_default_accuracy() -> float:
    from sklearn.neural_network import MLPClassifier

    from pipeline.setup.data import load_dataset

    data = load_dataset("digits")
    model = MLPClassifier(random_state=0, max_iter=500).fit(data.X_train.T, data.Y_train.ravel())
    return float(model.score(data.X_test.T, data.Y_test.ravel()))


def pruning(folder: Path, trials: int, epochs: int) -> dict[str, tuple[int, float]]:
    """Epochs trained in all and best validation accuracy, with the median pruner and without.

    The random sampler draws the same parameters whatever was pruned, so both sweeps try the same
    configurations."""
    results = {}
    for pruner in ("median", "none"):
        where = folder / pruner
        where.mkdir()
        sweep(where, "sampler=random", f"pruner={pruner}", f"search.n_trials={trials}", f"train.epochs={epochs}")
        done, client = trials_and_runs(where, "digits-sweep")
        epochs_run = sum(len(client.get_metric_history(t.user_attrs["mlflow_run_id"], "train_cost")) for t in done)
        best = max(t.value for t in done if t.value is not None)
        results[pruner] = (epochs_run, best)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer trials (a smoke test, not for the docs)")
    args = parser.parse_args()
    n = 10 if args.quick else 40
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        for name in ("ours", "peer", "bare", "w1", "w2", "default", "pruning"):
            (root / name).mkdir()
        ours = overhead_ours(root / "ours", n)
        peer = overhead_peer(root / "peer", n, with_mlflow=True)
        bare = overhead_peer(root / "bare", n, with_mlflow=False)
        print(
            f"per-trial overhead (median, ms): ours {ours * 1e3:.1f} | Optuna + MLflowCallback {peer * 1e3:.1f} "
            f"| bare in-memory Optuna {bare * 1e3:.1f} | ours/MLflowCallback {ours / peer:.2f}"
        )
        one, one_steady = trials_per_minute(root / "w1", 1, n)
        two, two_steady = trials_per_minute(root / "w2", 2, n)
        print(
            f"trials per minute, {n} trials of digits [64, 32] x 100 epochs: whole command: 1 worker {one:.1f} "
            f"| 2 workers {two:.1f} | ratio {two / one:.2f}; steady state: {one_steady:.1f} | {two_steady:.1f} "
            f"| ratio {two_steady / one_steady:.2f}"
        )
        seconds, val, test = default_sweep(root / "default")
        print(
            f"default sweep: {seconds:.1f} s | best val_accuracy {val:.4f} | its test_accuracy {test:.4f} "
            f"| MLPClassifier defaults, same split: test {mlp_default_accuracy():.4f}"
        )
        found = pruning(root / "pruning", n, 50)
        (pruned, best_pruned), (full, best_full) = found["median"], found["none"]
        print(
            f"pruning (random sampler, {n} trials x 50 epochs): epochs {pruned} with median vs {full} without "
            f"= {1 - pruned / full:.0%} saved | best val_accuracy {best_pruned:.4f} vs {best_full:.4f}"
        )


if __name__ == "__main__":
    main()
