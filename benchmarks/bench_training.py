"""Time full-batch gradient-descent training of ``DeepNetwork`` against its peers and the BLAS floor.

Contenders, each on one BLAS thread (``threadpoolctl``) and ``torch.set_num_threads(1)``:

* ``ours``     — ``models.DeepNetwork(...).fit(X, Y, learning_rate=..., epochs=...)``, ReLU + softmax, full batch.
* ``torch``    — the same architecture as ``nn.Linear``/``nn.ReLU``, ``F.cross_entropy``, ``optim.SGD``
  full batch, started from *the same weights* as ours (skipped with a message when torch is missing).
* ``sklearn``  — ``MLPClassifier`` on the same architecture and data: plain SGD (no momentum), batch = m,
  ``alpha=0``, no shuffling, no early stopping, never stops before ``max_iter=epochs``.
* ``floor``    — only the matrix products one epoch needs (``W·A`` per layer, ``dZ·A_prevᵀ`` per layer,
  ``Wᵀ·dZ`` for layers 2..L) with ``np.dot`` into preallocated arrays of the same shapes and dtype.

Cases: ``small`` is [64, 64, 32, 10] on scikit-learn's digits (1797 examples, standardized);
``large`` is [784, 256, 128, 10] on 10000 synthetic examples (see ``synthetic_data``).

``default`` is training as the default sweep runs it: the sweep's own digits split (``pipeline.setup.data``,
seed 0: 1077 training and 360 validation examples), [64, 64, 32, 10] ReLU + softmax, He initialization, Adam
(learning rate 0.01, β1 0.9, β2 0.999, ε 1e-8), mini-batches of 64 reshuffled every epoch, and the
validation cost and accuracy measured after every epoch. Its contenders:

* ``ours``        — ``DeepNetwork(...).fit(X, Y, optimizer="adam", batch_size=64, validation=(X_val, Y_val))``.
* ``torch``       — the same network and weights, ``torch.optim.Adam``, ``randperm`` mini-batches, the epoch's
  cost and accuracy accumulated from the batches, then the validation set's under ``no_grad``.
* ``sklearn``     — ``MLPClassifier(solver="adam", batch_size=64, alpha=0, shuffle=True)``'s ``fit`` for
  ``max_iter=epochs`` epochs (never stopping early). It does *no* validation (``fit`` cannot validate on a
  given set): less work than the others, the strict reference for the target.
* ``sklearn+val`` — the same classifier trained one epoch per ``partial_fit`` call, then ``predict_proba`` on
  the validation set for its cost and accuracy: the same work as ours.
* ``floor``       — the matrix products alone: per mini-batch ``W·A``, ``dZ·A_prevᵀ``, ``Wᵀ·dZ``, and the
  validation set's forward ``W·A``, into preallocated arrays.

A second table times ours with the training features that change the forward and backward passes:
``dropout`` (``keep_prob=0.8`` on every hidden layer), ``batch_norm`` (every hidden layer) and both, on the
same data, architecture, dtype and thread limit as ``ours``, and prints each one's time per epoch over the
plain network's (``--skip features`` leaves it out).

Each timing covers a whole training run of ``epochs`` epochs (each contender's public training call,
so its one-off input checks are included) and is reported per epoch; every contender is warmed up
first, repeats are interleaved, and the median (and the best) over the repeats is reported.

Run from the repository root::

    python benchmarks/bench_training.py            # full run (about 3 minutes on 2 cores)
    python benchmarks/bench_training.py --cases default --skip features   # the sweep's configuration only
    python benchmarks/bench_training.py --quick    # smoke run (about 20 seconds), figures are noisy

The figures mean something only on an otherwise idle machine: the load average is printed before and
after, and a ``cpu/wall`` below 1 in the table shows that another process took the core.
"""

import argparse
import gc
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info, threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout, without installing the package
    sys.path.insert(0, str(ROOT))

from models import DeepNetwork  # noqa: E402

try:
    import torch
except ImportError:  # torch is an optional peer (the "bench" extra)
    torch = None

LEARNING_RATE = 0.05
SEED = 0
DTYPES = ("float64", "float32")
# Variables that change which OpenBLAS kernel runs or how it blocks: shown so that figures can be compared.
BLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")


@dataclass(frozen=True)
class Case:
    """One benchmark problem: ``X`` ``(n_x, m)``, integer ``labels`` ``(m,)`` and the run lengths."""

    name: str
    layer_dims: tuple[int, ...]
    X: np.ndarray
    labels: np.ndarray
    epochs: int
    repeats: int
    description: str
    X_val: np.ndarray | None = None  # the default case's validation set, measured after every epoch
    labels_val: np.ndarray | None = None


def digits_data() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8×8 digits, standardized per pixel: ``X`` ``(64, 1797)``, labels ``(1797,)``."""
    digits = load_digits()
    return StandardScaler().fit_transform(digits.data).T.copy(), digits.target.astype(np.int64)


def synthetic_data(n_x: int = 784, m: int = 10_000, classes: int = 10, seed: int = SEED) -> tuple:
    """``X`` ``(n_x, m)`` standard normal from ``default_rng(seed)``; each label is the argmax of a random
    linear teacher ``T·x`` (``T`` ``(classes, n_x)``, drawn next from the same generator), so the
    classes are learnable and about balanced."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_x, m))
    teacher = rng.standard_normal((classes, n_x))
    return X, (teacher @ X).argmax(axis=0).astype(np.int64)


class Stopwatch:
    """Wall and process CPU seconds of a ``with`` block; CPU ≈ wall shows that only one thread worked."""

    def __enter__(self) -> "Stopwatch":
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


# ----- contenders: each returns (stopwatch, last cost) for one training run -------------------------------
def run_ours(case: Case, dtype: str, epochs: int) -> tuple[Stopwatch, float]:
    network = DeepNetwork(case.layer_dims, output="softmax", init="he", seed=SEED, dtype=dtype)
    X, Y = case.X.astype(dtype), case.labels.reshape(1, -1)
    with Stopwatch() as watch:
        history = network.fit(X, Y, learning_rate=LEARNING_RATE, epochs=epochs)
    return watch, history["cost"][-1]


def run_torch(case: Case, dtype: str, epochs: int) -> tuple[Stopwatch, float]:
    # The same initial weights as ours: He-scaled normal draws from the same seed.
    start_parameters = DeepNetwork(case.layer_dims, output="softmax", init="he", seed=SEED, dtype=dtype).parameters
    layers: list = []
    for l in range(1, len(case.layer_dims)):
        linear = torch.nn.Linear(case.layer_dims[l - 1], case.layer_dims[l], dtype=getattr(torch, dtype))
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(start_parameters[f"W{l}"]))
            linear.bias.copy_(torch.from_numpy(start_parameters[f"b{l}"].ravel()))
        layers += [linear, torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])  # no ReLU after the output layer: cross_entropy takes logits
    X = torch.from_numpy(np.ascontiguousarray(case.X.T, dtype=dtype))  # torch's layout: examples as rows
    y = torch.from_numpy(case.labels)
    sgd = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    costs = []
    with Stopwatch() as watch:
        for _ in range(epochs):
            sgd.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(X), y)
            loss.backward()
            sgd.step()
            costs.append(loss.item())  # ours keeps a cost history too
    return watch, costs[-1]


def run_sklearn(case: Case, dtype: str, epochs: int) -> tuple[Stopwatch, float]:
    m = case.X.shape[1]
    classifier = MLPClassifier(
        hidden_layer_sizes=case.layer_dims[1:-1],
        activation="relu",
        solver="sgd",
        alpha=0.0,
        batch_size=m,
        learning_rate="constant",
        learning_rate_init=LEARNING_RATE,
        max_iter=epochs,
        shuffle=False,
        random_state=SEED,
        tol=0.0,  # tol must be >= 0; n_iter_no_change beyond max_iter is what keeps every epoch
        n_iter_no_change=epochs + 1,
        momentum=0.0,
        nesterovs_momentum=False,
        early_stopping=False,
    )
    X = np.ascontiguousarray(case.X.T, dtype=dtype)  # scikit-learn's layout: examples as rows
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # reaching max_iter is the point here
        with Stopwatch() as watch:
            classifier.fit(X, case.labels)
    assert classifier.n_iter_ == epochs, f"MLPClassifier stopped after {classifier.n_iter_} of {epochs} epochs"
    return watch, classifier.loss_curve_[-1]


def run_floor(case: Case, dtype: str, epochs: int) -> tuple[Stopwatch, float]:
    """Only the matrix products of forward and backward propagation, on arrays allocated once."""
    dims, m = case.layer_dims, case.X.shape[1]
    rng = np.random.default_rng(SEED)
    L = len(dims) - 1
    A = [case.X.astype(dtype)] + [rng.standard_normal((dims[l], m)).astype(dtype) for l in range(1, L + 1)]
    W = [None] + [rng.standard_normal((dims[l], dims[l - 1])).astype(dtype) for l in range(1, L + 1)]
    dW = [None] + [np.empty_like(W[l]) for l in range(1, L + 1)]
    dZ = [None] + [rng.standard_normal((dims[l], m)).astype(dtype) for l in range(1, L + 1)]
    dA = [None] + [np.empty_like(A[l]) for l in range(1, L)]  # dA[l-1] = W[l]ᵀ·dZ[l], l = 2..L
    with Stopwatch() as watch:
        for _ in range(epochs):
            for l in range(1, L + 1):
                np.dot(W[l], A[l - 1], out=A[l])
            for l in range(L, 0, -1):
                np.dot(dZ[l], A[l - 1].T, out=dW[l])
                if l > 1:
                    np.dot(W[l].T, dZ[l], out=dA[l - 1])
    return watch, float("nan")


# ----- the default sweep configuration: Adam, mini-batches of 64, validation every epoch ---------------
ADAM_RATE = 0.01  # conf/train/default.yaml
BATCH = 64


def sweep_digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The default sweep's digits split (``pipeline.setup.data``, seed 0): X_train, labels, X_val, labels_val."""
    from pipeline.setup.data import load_dataset

    data = load_dataset("digits", seed=0)
    return data.X_train, data.Y_train.ravel(), data.X_val, data.Y_val.ravel()


def run_ours_default(case: Case, dtype: str, epochs: int) -> tuple[Stopwatch, float]:
    network = DeepNetwork(case.layer_dims, output="softmax", init="he", seed=SEED, dtype=dtype)
    # float64 arrays, as the sweep passes its Dataset's: the cast to dtype is part of fit
    Y, Y_val = case.labels.reshape(1, -1), case.labels_val.reshape(1, -1)
    with Stopwatch() as watch:
        history = network.fit(
            case.X,
            Y,
            learning_rate=ADAM_RATE,
            epochs=epochs,
            batch_size=BATCH,
            optimizer="adam",
            validation=(case.X_val, Y_val),
        )
    return watch, history["cost"][-1]


def _torch_model(case: Case, dtype: str) -> Any:
    """``nn.Sequential`` of Linear/ReLU with the same initial weights as ours (same seed)."""
    start_parameters = DeepNetwork(case.layer_dims, output="softmax", init="he", seed=SEED, dtype=dtype).parameters
    layers: list = []
    for l in range(1, len(case.layer_dims)):
        linear = torch.nn.Linear(case.layer_dims[l - 1], case.layer_dims[l], dtype=getattr(torch, dtype))
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(start_parameters[f"W{l}"]))
            linear.bias.copy_(torch.from_numpy(start_parameters[f"b{l}"].ravel()))
        layers += [linear, torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def run_torch_default(case: Case, dtype: str, epochs: int) -> tuple[Stopwatch, float]:
    model = _torch_model(case, dtype)
    X = torch.from_numpy(np.ascontiguousarray(case.X.T, dtype=dtype))
    y = torch.from_numpy(case.labels)
    X_val = torch.from_numpy(np.ascontiguousarray(case.X_val.T, dtype=dtype))
    y_val = torch.from_numpy(case.labels_val)
    adam = torch.optim.Adam(model.parameters(), lr=ADAM_RATE, betas=(0.9, 0.999), eps=1e-8)
    generator = torch.Generator().manual_seed(SEED)
    cross_entropy = torch.nn.functional.cross_entropy
    m = X.shape[0]
    costs, val = [], []
    with Stopwatch() as watch:
        for _ in range(epochs):
            order = torch.randperm(m, generator=generator)
            total, correct = 0.0, 0
            for start in range(0, m, BATCH):
                index = order[start : start + BATCH]
                xb, yb = X[index], y[index]
                adam.zero_grad(set_to_none=True)
                logits = model(xb)
                loss = cross_entropy(logits, yb)
                loss.backward()
                adam.step()
                total += loss.item() * index.shape[0]
                correct += int((logits.argmax(dim=1) == yb).sum())
            costs.append(total / m)
            with torch.no_grad():
                logits = model(X_val)
                val.append((cross_entropy(logits, y_val).item(), float((logits.argmax(dim=1) == y_val).float().mean())))
    return watch, costs[-1]


def _adam_classifier(case: Case, epochs: int) -> MLPClassifier:
    return MLPClassifier(
        hidden_layer_sizes=case.layer_dims[1:-1],
        activation="relu",
        solver="adam",
        alpha=0.0,
        batch_size=BATCH,
        learning_rate_init=ADAM_RATE,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        max_iter=epochs,
        shuffle=True,
        random_state=SEED,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        early_stopping=False,
    )


def run_sklearn_default(case: Case, dtype: str, epochs: int) -> tuple[Stopwatch, float]:
    classifier = _adam_classifier(case, epochs)
    X = np.ascontiguousarray(case.X.T, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with Stopwatch() as watch:
            classifier.fit(X, case.labels)
    assert classifier.n_iter_ == epochs, f"MLPClassifier stopped after {classifier.n_iter_} of {epochs} epochs"
    return watch, classifier.loss_curve_[-1]


def run_sklearn_default_val(case: Case, dtype: str, epochs: int) -> tuple[Stopwatch, float]:
    classifier = _adam_classifier(case, epochs)
    X = np.ascontiguousarray(case.X.T, dtype=dtype)
    X_val = np.ascontiguousarray(case.X_val.T, dtype=dtype)
    classes = np.unique(case.labels)
    rows = np.arange(X_val.shape[0])
    val = []
    with Stopwatch() as watch:
        for _ in range(epochs):
            classifier.partial_fit(X, case.labels, classes=classes)  # one epoch of mini-batches
            proba = classifier.predict_proba(X_val)
            cost = -np.log(np.clip(proba[rows, case.labels_val], 1e-15, 1.0)).mean()
            val.append((cost, (proba.argmax(axis=1) == case.labels_val).mean()))
    return watch, classifier.loss_curve_[-1]


def run_floor_default(case: Case, dtype: str, epochs: int) -> tuple[Stopwatch, float]:
    """The matrix products of each epoch's mini-batches (forward and backward) and of the validation forward."""
    dims, m, m_val = case.layer_dims, case.X.shape[1], case.X_val.shape[1]
    rng = np.random.default_rng(SEED)
    L = len(dims) - 1
    W = [None] + [rng.standard_normal((dims[l], dims[l - 1])).astype(dtype) for l in range(1, L + 1)]
    dW = [None] + [np.empty_like(W[l]) for l in range(1, L + 1)]
    sizes = [BATCH] * (m // BATCH) + ([m % BATCH] if m % BATCH else [])

    def buffers(width: int) -> tuple[list, list, list]:
        A = [rng.standard_normal((dims[l], width)).astype(dtype) for l in range(L + 1)]
        dZ = [None] + [rng.standard_normal((dims[l], width)).astype(dtype) for l in range(1, L + 1)]
        dA = [None] + [np.empty((dims[l], width), dtype) for l in range(1, L)]
        return A, dZ, dA

    shapes = {width: buffers(width) for width in set(sizes)}
    A_val = buffers(m_val)[0]
    with Stopwatch() as watch:
        for _ in range(epochs):
            for width in sizes:
                A, dZ, dA = shapes[width]
                for l in range(1, L + 1):
                    np.dot(W[l], A[l - 1], out=A[l])
                for l in range(L, 0, -1):
                    np.dot(dZ[l], A[l - 1].T, out=dW[l])
                    if l > 1:
                        np.dot(W[l].T, dZ[l], out=dA[l - 1])
            for l in range(1, L + 1):
                np.dot(W[l], A_val[l - 1], out=A_val[l])
    return watch, float("nan")


DEFAULT_CONTENDERS = {
    "ours": run_ours_default,
    "torch": run_torch_default,
    "sklearn": run_sklearn_default,
    "sklearn+val": run_sklearn_default_val,
    "floor": run_floor_default,
}


# Ours with the features that add work to every step, each against the plain network.
FEATURES = {
    "plain": {},
    "dropout": {"keep_prob": 0.8},
    "batch_norm": {"batch_norm": True},
    "dropout+bn": {"keep_prob": 0.8, "batch_norm": True},
}


def run_feature(case: Case, dtype: str, epochs: int, features: dict) -> tuple[Stopwatch, float]:
    network = DeepNetwork(case.layer_dims, output="softmax", init="he", seed=SEED, dtype=dtype, **features)
    X, Y = case.X.astype(dtype), case.labels.reshape(1, -1)
    with Stopwatch() as watch:
        history = network.fit(X, Y, learning_rate=LEARNING_RATE, epochs=epochs)
    return watch, history["cost"][-1]


def feature_runs() -> dict[str, Callable[[Case, str, int], tuple[Stopwatch, float]]]:
    return {
        name: (lambda case, dtype, epochs, features=features: run_feature(case, dtype, epochs, features))
        for name, features in FEATURES.items()
    }


def print_feature_table(results: list[tuple[Case, str, dict]]) -> None:
    """Seconds per epoch of ours with each feature, and the ratio to the plain network (> 1: slower)."""
    header = (
        f"{'case':<6} {'features':<11} {'dtype':<8} {'s/epoch':>10} {'best':>10} {'this/plain':>10} {'cpu/wall':>8}"
    )
    print("\nper-epoch cost of dropout and batch norm, relative to the plain network (same data, 1 BLAS thread):")
    print(header)
    print("-" * len(header))
    for case, dtype, timing in results:
        plain = timing["plain"]["median"]
        for name, row in timing.items():
            print(
                f"{case.name:<6} {name:<11} {dtype:<8} {row['median']:10.3e} {row['best']:10.3e} "
                f"{row['median'] / plain:10.3f} {row['cpu_per_wall']:8.2f}"
            )


# ----- timing --------------------------------------------------------------------------------------------
def contenders(skip: set[str], case: str = "small") -> dict[str, Callable[[Case, str, int], tuple[Stopwatch, float]]]:
    """The contenders of ``case``: full-batch gradient descent for small/large, the sweep's training for default."""
    table = {"ours": run_ours, "torch": run_torch, "sklearn": run_sklearn, "floor": run_floor}
    if case == "default":
        table = dict(DEFAULT_CONTENDERS)
    if torch is None:
        print("torch is not importable: skipping the PyTorch contender (pip install '.[bench]')")
        skip = skip | {"torch"}
    if "sklearn" in skip:
        skip = skip | {"sklearn+val"}
    return {name: run for name, run in table.items() if name not in skip}


def time_case(case: Case, dtype: str, runs: dict) -> dict[str, dict[str, float]]:
    """Warm each contender up, then time ``case.repeats`` interleaved runs; seconds are per epoch."""
    for run in runs.values():
        run(case, dtype, max(2, case.epochs // 10))
    watches: dict[str, list[Stopwatch]] = {name: [] for name in runs}
    costs: dict[str, float] = {}
    for _ in range(case.repeats):
        for name, run in runs.items():
            gc.collect()
            watch, costs[name] = run(case, dtype, case.epochs)
            watches[name].append(watch)
    return {
        name: {
            "median": statistics.median(w.wall for w in runs_) / case.epochs,
            "best": min(w.wall for w in runs_) / case.epochs,
            "cpu_per_wall": sum(w.cpu for w in runs_) / sum(w.wall for w in runs_),
            "cost": costs[name],
        }
        for name, runs_ in watches.items()
    }


def cpu_name() -> str:
    """The processor's model name from ``/proc/cpuinfo`` (Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe_machine() -> str:
    pools = [
        f"{info['internal_api']} {info.get('version') or ''} ({Path(info['filepath']).name}, "
        + (f"{info['architecture']} kernel, " if info.get("architecture") else "")
        + f"{info['num_threads']} thread)"
        for info in threadpool_info()
    ]
    env = {key: os.environ[key] for key in BLAS_VARIABLES if key in os.environ}
    torch_text = "torch absent" if torch is None else f"torch {torch.__version__} ({torch.get_num_threads()} thread)"
    return "\n".join(
        [
            f"machine: {cpu_name()}, {os.cpu_count()} cores, python {platform.python_version()}",
            f"numpy {np.__version__}, scikit-learn {sklearn.__version__}, {torch_text}",
            "thread pools under the 1-thread limit: " + ("; ".join(pools) or "none found"),
            f"BLAS environment variables: {env or 'none set'}",
            f"load average (1 min) before the run: {os.getloadavg()[0]:.2f}",
        ]
    )


def print_table(results: list[tuple[Case, str, dict]]) -> None:
    header = (
        f"{'case':<7} {'contender':<11} {'dtype':<8} {'epochs':>6} {'s/epoch':>10} {'best':>10} "
        f"{'ours/this':>9} {'cpu/wall':>8} {'last cost':>10}"
    )
    print(header)
    print("-" * len(header))
    for case, dtype, timing in results:
        ours = timing.get("ours", {}).get("median")
        for name, row in timing.items():
            ratio = f"{ours / row['median']:9.3f}" if ours and name != "ours" else f"{'':9}"
            print(
                f"{case.name:<7} {name:<11} {dtype:<8} {case.epochs:>6} {row['median']:10.3e} {row['best']:10.3e} "
                f"{ratio} {row['cpu_per_wall']:8.2f} {row['cost']:10.5f}"
            )
    print("\nratios of medians (of bests), < 1 means ours is faster:")
    for case, dtype, timing in results:
        if "ours" not in timing:
            continue
        ours = timing["ours"]
        ratios = "  ".join(
            f"ours/{name} = {ours['median'] / row['median']:.3f} ({ours['best'] / row['best']:.3f})"
            for name, row in timing.items()
            if name != "ours"
        )
        print(f"  {case.name:<7} {dtype:<8} {ratios}")


def check_targets(results: list[tuple[Case, str, dict]]) -> None:
    """The targets: ours <= torch on both full-batch cases, <= 0.7 sklearn (small), <= 1.3 floor (large); the
    sweep's default training: ours <= 0.5 torch and <= 0.6 MLPClassifier (its ``fit``, which does no validation,
    and its per-epoch ``partial_fit`` with validation)."""
    limits = {
        ("small", "torch"): 1.0,
        ("large", "torch"): 1.0,
        ("small", "sklearn"): 0.7,
        ("large", "floor"): 1.3,
        ("default", "torch"): 0.5,
        ("default", "sklearn"): 0.6,
        ("default", "sklearn+val"): 0.6,
    }
    print("\ntargets:")
    for case, dtype, timing in results:
        for (case_name, peer), limit in limits.items():
            if case.name != case_name:
                continue
            if "ours" not in timing or peer not in timing:
                print(f"  {case.name:<7} {dtype:<8} ours/{peer:<11} not measured")
                continue
            ratio = timing["ours"]["median"] / timing[peer]["median"]
            verdict = "met" if ratio <= limit else "MISSED"
            print(f"  {case.name:<7} {dtype:<8} ours/{peer:<11} {ratio:6.3f} <= {limit:.1f}: {verdict}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few epochs and repeats: a smoke run, not a measurement")
    parser.add_argument(
        "--cases", nargs="+", choices=("small", "large", "default"), default=["small", "large", "default"]
    )
    parser.add_argument("--dtypes", nargs="+", choices=DTYPES, default=list(DTYPES))
    parser.add_argument("--skip", nargs="*", choices=("torch", "sklearn", "floor", "features"), default=[])
    parser.add_argument("--epochs-small", type=int, help="epochs per timed run, small case (default 800)")
    parser.add_argument("--epochs-large", type=int, help="epochs per timed run, large case (default 8)")
    parser.add_argument("--repeats-small", type=int, help="timed runs per contender, small case (default 5)")
    parser.add_argument("--repeats-large", type=int, help="timed runs per contender, large case (default 3)")
    parser.add_argument("--epochs-default", type=int, help="epochs per timed run, default case (default 200)")
    parser.add_argument("--repeats-default", type=int, help="timed runs per contender, default case (default 5)")
    return parser.parse_args(argv)


def make_case(name: str, args: argparse.Namespace) -> Case:
    """The ``small`` or ``large`` case with the run lengths from the command line or the defaults."""
    default_epochs, default_repeats = {"small": (800, 5), "large": (8, 3), "default": (200, 5)}[name]
    if args.quick:
        default_epochs, default_repeats = {"small": (60, 2), "large": (2, 1), "default": (20, 2)}[name]
    epochs = getattr(args, f"epochs_{name}") or default_epochs
    repeats = getattr(args, f"repeats_{name}") or default_repeats
    if name == "small":
        X, labels = digits_data()
        return Case(name, (64, 64, 32, 10), X, labels, epochs, repeats, "digits 1797, standardized")
    if name == "default":
        X, labels, X_val, labels_val = sweep_digits()
        description = f"the sweep's digits split ({X.shape[1]} train, {X_val.shape[1]} val), Adam, batch {BATCH}"
        return Case(name, (64, 64, 32, 10), X, labels, epochs, repeats, description, X_val, labels_val)
    X, labels = synthetic_data()
    return Case(name, (784, 256, 128, 10), X, labels, epochs, repeats, f"synthetic 10000, seed {SEED}")


def warn_if_shared(results: list[tuple[Case, str, dict]]) -> None:
    """A run that got less than 95% of a core was slowed by another process: say so."""
    shared = [
        f"{case.name}/{dtype}/{name}"
        for case, dtype, timing in results
        for name, row in timing.items()
        if row["cpu_per_wall"] < 0.95
    ]
    if shared:
        print(f"WARNING: cpu/wall < 0.95 for {', '.join(shared)}: another process competed for the CPU; rerun")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if torch is not None:
        torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        print(describe_machine())
        results, feature_results = [], []
        for name in args.cases:
            runs = contenders(set(args.skip) - {"features"}, name)
            case = make_case(name, args)
            rate = ADAM_RATE if name == "default" else LEARNING_RATE
            for dtype in args.dtypes:
                print(f"\n{case.name}: {list(case.layer_dims)} x {case.description}, {dtype}, ", end="")
                print(f"{case.epochs} epochs x {case.repeats} repeats, lr {rate}", flush=True)
                results.append((case, dtype, time_case(case, dtype, runs)))
                if "features" not in args.skip and name != "default":
                    feature_results.append((case, dtype, time_case(case, dtype, feature_runs())))
    print()
    print_table(results)
    check_targets(results)
    if feature_results:
        print_feature_table(feature_results)
    print(f"\nload average (1 min) after the run: {os.getloadavg()[0]:.2f}")
    warn_if_shared(results + feature_results)


if __name__ == "__main__":
    main()
