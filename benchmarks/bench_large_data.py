"""Larger data: a sweep on a CSV of 50,000 rows x 100 features, its time per epoch and its peak memory.

The data: scikit-learn's ``make_classification`` (seed 0; 100 features, 30 informative and 20 redundant; two
classes by default, ``--classes``), written with a ``target`` column to a CSV in a temporary folder (values
with 6 significant digits, as a user's export would have them).

Figures, each printed with its peer, its target and whether the machine was idle (``bench_sweep.Machine``):

- ``time``: seconds per epoch, ours against PyTorch on the same shapes and settings. The CSV is loaded as
  the sweep loads it (``pipeline.setup.data.load`` on the config ``python -m pipeline.sweep dataset=csv
  dataset.path=... dataset.target=target`` composes, through ``bench_sweep.compose``): the pipeline's
  split (60/20/20, stratified, seed 0), standard scaling fit on the training split, float64 arrays.
  Ours is ``pipeline.training.build_network(config, dataset)`` (the default model of conf/: [100, 64, 32, 1]
  ReLU + sigmoid, He initialization, float64) trained by ``fit(X_train, Y_train, config.train,
  validation=(X_val, Y_val))`` as a trial trains it, with conf/train/default.yaml's settings (Adam, learning
  rate 0.01, beta1 0.9, beta2 0.999, epsilon 1e-8, mini-batches of 64 reshuffled every epoch), less the
  trial's callback (bookkeeping: metric logging and pruning reports). The peer is PyTorch with the same
  layers (``nn.Linear`` + the same hidden activation), the same initial weights (copied from ours), the same
  dtype, ``torch.optim.Adam`` with the same hyperparameters, ``randperm`` mini-batches of the same size each
  epoch, the epoch's cost and accuracy accumulated from the batches as ours does, then the validation set's
  cost and accuracy under ``no_grad`` after every epoch. Both run on ONE thread (``threadpoolctl`` limits
  NumPy's BLAS to 1, ``torch.set_num_threads(1)``), as the sweep itself trains this data (its largest
  matrix product is below ``pipeline.setup.threads.SMALL_PRODUCT``: the line above the table says so);
  ``--threads`` also times both with the libraries' default thread counts. Each timing is a whole ``fit``
  of ``--epochs`` epochs (default 3, its input checks included) divided by the epochs; each contender is
  warmed up first, repeats (``--repeats``, default 3) are interleaved and the median is reported
  (``bench_training.time_case``). Target: ours <= 1.1x PyTorch.
- ``memory``: peak resident memory of the real command, ``python -m pipeline.sweep`` on the CSV in a fresh
  temporary folder (its own SQLite stores there), with a tiny budget: ``search.n_trials=2 train.epochs=1``
  and every other setting its default (so the end-of-sweep summary runs as a user's would: confirmation
  seeds, the data curve's retraining on 10/25/50 % of the training split, the report drawn in a forked
  child, the best model logged and registered). The same command on a 1,000-row CSV of the same columns
  is the baseline: the libraries' own memory (Python, NumPy, pandas, scikit-learn, MLflow, Optuna). The peak
  is GNU ``/usr/bin/time -v``'s maximum resident set size, that of the largest single process of the
  command's tree, not their sum; the command runs through a small probe (``runpy`` of ``pipeline.sweep``,
  as ``bench_sweep.py``'s) that records the sweep process's own peak after data loading, before the
  end-of-sweep summary and at exit, and its children's (the report drawer, a fork: its resident pages
  include the parent's shared ones), so the figure says which process it is and when its peak was reached.
  Without ``/usr/bin/time`` the peak is the larger of the probe's two ``getrusage`` figures. The data's
  size in memory is the ``nbytes`` of the six arrays the pipeline's ``Dataset`` holds (X and Y of train,
  validation and test: float64 features, int64 labels), the model's the default network's parameters.
  Also printed: the raw CSV file's size. Target: (peak at R rows - peak at 1,000 rows) <= 3x (data + model).
- ``--extrapolate``: both figures at 10,000 and 100,000 rows, then a straight line ``a + b*rows`` through
  each measured quantity (s/epoch of ours and of PyTorch, peak RSS, data + model, CSV size) and its
  value at 1,000,000 rows, with what that means for a user: a default trial (``train.epochs`` epochs), a
  default sweep's training at the default architecture without pruning, the memory needed.

Run from the repository root, on an otherwise idle machine (figures taken while other processes used more
than 0.1 core are marked BUSY)::

    python benchmarks/bench_large_data.py                  # 50,000 rows (a few minutes)
    python benchmarks/bench_large_data.py --rows 100000    # another size
    python benchmarks/bench_large_data.py --extrapolate    # 10,000 and 100,000 rows, extrapolated to 10^6
    python benchmarks/bench_large_data.py --threads        # also time both with their default thread counts
    python benchmarks/bench_large_data.py --quick          # smoke run: 3,000 rows, 1 epoch; not a measurement

Linux only (``/proc``, ``getrusage``'s kilobytes); ``--skip time`` or ``--skip memory`` leaves a figure out.
"""

import argparse
import contextlib
import dataclasses
import functools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))  # the sibling benchmark scripts

import numpy as np
from bench_sweep import ENV, Check, Machine, commit, compose, fresh, print_summary, report, targets
from bench_training import (
    Case,
    Stopwatch,
    print_table,
    time_case,
    torch,
    warn_if_shared,
)
from bench_training import describe_machine as describe_threads
from threadpoolctl import threadpool_limits

from models import DeepNetwork
from pipeline.setup.config import Config
from pipeline.setup.data import Dataset, load

SEED = 0
ROWS = 50_000
QUICK_ROWS = 3_000
FEATURES = 100
TARGET_COLUMN = "target"
BASELINE_ROWS = 1_000  # the memory figure's baseline: the same command on this many rows
EXTRAPOLATE_ROWS = (10_000, 100_000)
QUICK_EXTRAPOLATE_ROWS = (2_000, 5_000)
PREDICT_ROWS = 1_000_000
SWEEP_BUDGET = ("search.n_trials=2", "train.epochs=1")  # the memory figure's command: everything else default
TIME_TARGET = 1.1  # ours' seconds per epoch over PyTorch's (at most)
MEMORY_TARGET = 3.0  # peak RSS above the 1,000-row baseline over the data + model bytes (at most)
TIME_BIN = Path("/usr/bin/time")
MB = 2**20
TORCH_THREADS = torch.get_num_threads() if torch is not None else 0  # the default, before the 1-thread limit

# ``python -m pipeline.sweep ARGS`` through runpy; writes the sweep process's own peak RSS (getrusage, KB) and
# current RSS around data loading and the summary, at exit, and its children's peak to $BENCH_MEMORY as JSON.
# The children's figure is read in an atexit handler: the report drawer (a fork) has been waited for by then.
MEMORY_PROBE = r"""
import atexit, functools, importlib, json, os, resource, runpy, sys
_marks = {}
def _mark(name):
    rss = 0
    with open("/proc/self/status") as status:
        rss = next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0)
    _marks[name] = {"peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "rss_kb": rss}
def _around(module, attribute, name):
    owner = importlib.import_module(module)
    original = getattr(owner, attribute)
    @functools.wraps(original)
    def marked(*args, **kwargs):
        _mark("before " + name)
        try:
            return original(*args, **kwargs)
        finally:
            _mark("after " + name)
    setattr(owner, attribute, marked)
def _write():
    _mark("exit")
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with open(os.environ["BENCH_MEMORY"], "w") as out:
        json.dump({"marks": _marks, "children_kb": children}, out)
atexit.register(_write)  # the command ends with os._exit after running the atexit handlers (pipeline.console)
_around("pipeline.preflight", "load", "data loading")
_around("pipeline.search.summary", "finish", "summary")
sys.argv = sys.argv[1:]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""


# ----- data -------------------------------------------------------------------------------------------
def write_csv(folder: Path, rows: int, classes: int) -> Path:
    """``rows`` x ``FEATURES`` synthetic classification rows (seed 0) plus the ``target`` column, as CSV."""
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=rows, n_features=FEATURES, n_informative=30, n_redundant=20, n_classes=classes, random_state=SEED
    )
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(FEATURES)])
    frame[TARGET_COLUMN] = y
    path = folder / f"data-{rows}.csv"
    frame.to_csv(path, index=False, float_format="%.6g")
    return path


def dataset_overrides(csv: Path) -> list[str]:
    return ["dataset=csv", f"dataset.path={csv}", f"dataset.target={TARGET_COLUMN}"]


def sweep_data(csv: Path) -> tuple[Config, Dataset]:
    """The config ``python -m pipeline.sweep`` composes for ``csv`` (conf/'s defaults) and the data it loads."""
    config = compose(dataset_overrides(csv))
    return config, load(config.dataset, config.seed)


def data_bytes(dataset: Dataset) -> int:
    """Bytes of the six arrays the pipeline holds: X and Y of train, validation and test."""
    splits = ("train", "val", "test")
    return sum(getattr(dataset, f"{kind}_{split}").nbytes for kind in "XY" for split in splits)


def model_bytes(network: DeepNetwork) -> int:
    return sum(value.nbytes for value in network.parameters.values())


# ----- the time figure: ours and PyTorch ---------------------------------------------------------------
def check_comparable(config: Config) -> None:
    """The PyTorch peer mirrors plain Adam training; refuse settings it does not reproduce."""
    train, model = config.train, config.model
    plain = train.optimizer == "adam" and train.l2 == 0 and train.decay == "none" and not model.batch_norm
    if not plain or any(p < 1 for p in np.atleast_1d(model.keep_prob)):
        raise SystemExit("the PyTorch peer reproduces Adam without l2, decay, dropout or batch norm: conf/ changed")


def run_ours(config: Config, dataset: Dataset, case: Case, dtype: str, epochs: int) -> tuple[Stopwatch, float]:
    """A trial's training: the config's network and settings, validation after every epoch (no callback)."""
    from pipeline.training import build_network

    network = build_network(config, dataset)
    settings = dataclasses.replace(config.train, epochs=epochs)
    with Stopwatch() as watch:
        history = network.fit(dataset.X_train, dataset.Y_train, settings, validation=(dataset.X_val, dataset.Y_val))
    return watch, history["cost"][-1]


def torch_network(network: DeepNetwork) -> Any:
    """``nn.Sequential`` of ``nn.Linear`` and ``network``'s hidden activation, with ``network``'s weights."""
    from models.activations import LEAKY_RELU_SLOPE

    hidden = {
        "relu": torch.nn.ReLU,
        "tanh": torch.nn.Tanh,
        "sigmoid": torch.nn.Sigmoid,
        "leaky_relu": functools.partial(torch.nn.LeakyReLU, LEAKY_RELU_SLOPE),
    }[network.hidden_activation]
    dims, layers = network.layer_dims, []
    for l in range(1, len(dims)):
        linear = torch.nn.Linear(dims[l - 1], dims[l], dtype=getattr(torch, network.dtype))
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(network.parameters[f"W{l}"]))
            linear.bias.copy_(torch.from_numpy(network.parameters[f"b{l}"].ravel()))
        layers += [linear, hidden()]
    return torch.nn.Sequential(*layers[:-1])  # logits out: the loss applies the output activation


def torch_targets(output: str, Y: np.ndarray, dtype: str) -> tuple[Any, Callable, Callable]:
    """Targets in PyTorch's layout, the loss on logits, and the count of correct predictions."""
    functional = torch.nn.functional
    if output == "sigmoid":
        y = torch.from_numpy(np.ascontiguousarray(Y.T, dtype=dtype))  # (m, 1) of 0/1
        return y, functional.binary_cross_entropy_with_logits, lambda logits, t: int(((logits > 0) == (t > 0.5)).sum())
    if output == "softmax":
        y = torch.from_numpy(np.ascontiguousarray(Y.ravel(), dtype=np.int64))
        return y, functional.cross_entropy, lambda logits, t: int((logits.argmax(dim=1) == t).sum())
    raise SystemExit(f"output {output!r}: the PyTorch peer covers classification only")


def run_torch(config: Config, dataset: Dataset, case: Case, dtype: str, epochs: int) -> tuple[Stopwatch, float]:
    """The same training in PyTorch: same layers, weights, dtype, Adam, batches, and validation every epoch."""
    from pipeline.training import build_network

    network = build_network(config, dataset)
    model = torch_network(network)
    X = torch.from_numpy(np.ascontiguousarray(dataset.X_train.T, dtype=dtype))  # torch's layout: examples as rows
    X_val = torch.from_numpy(np.ascontiguousarray(dataset.X_val.T, dtype=dtype))
    y, loss, hits = torch_targets(network.output, dataset.Y_train, dtype)
    y_val, _, _ = torch_targets(network.output, dataset.Y_val, dtype)
    train = config.train
    adam = torch.optim.Adam(
        model.parameters(), lr=train.learning_rate, betas=(train.beta1, train.beta2), eps=train.epsilon
    )
    generator = torch.Generator().manual_seed(network.seed)
    m = X.shape[0]
    batch = min(train.batch_size or m, m)
    costs, val = [], []
    with Stopwatch() as watch:
        for _ in range(epochs):
            order = torch.randperm(m, generator=generator)
            total, correct = 0.0, 0
            for start in range(0, m, batch):
                index = order[start : start + batch]
                xb, yb = X[index], y[index]
                adam.zero_grad(set_to_none=True)
                logits = model(xb)
                cost = loss(logits, yb)
                cost.backward()
                adam.step()
                total += cost.item() * index.shape[0]
                correct += hits(logits, yb)
            costs.append((total / m, correct / m))
            with torch.no_grad():
                logits = model(X_val)
                val.append((loss(logits, y_val).item(), hits(logits, y_val) / X_val.shape[0]))
    return watch, costs[-1][0]


def thread_limits(threads: int | None) -> contextlib.AbstractContextManager:
    """One thread for NumPy's BLAS and PyTorch, or (None) both at their defaults."""
    if torch is not None:
        torch.set_num_threads(threads or TORCH_THREADS)
    return threadpool_limits(limits=threads) if threads else contextlib.nullcontext()


def figure_time(config: Config, dataset: Dataset, args: argparse.Namespace, threads: int | None) -> dict:
    """Seconds per epoch of ours and PyTorch (median of interleaved repeats); returns the medians."""
    from pipeline.training import build_network

    check_comparable(config)
    network = build_network(config, dataset)
    sizes = dataset.sizes
    rows = sum(sizes.values())
    runs = {"ours": functools.partial(run_ours, config, dataset)}
    if torch is None:
        print("torch is not importable: skipping the PyTorch contender (pip install '.[bench]')")
    else:
        runs["torch"] = functools.partial(run_torch, config, dataset)
    description = f"{sizes['train']:,} training + {sizes['val']:,} validation examples"
    case = Case(
        f"{rows // 1000}k",
        tuple(network.layer_dims),
        dataset.X_train,
        dataset.Y_train.ravel(),
        args.epochs,
        args.repeats,
        description,
        dataset.X_val,
        dataset.Y_val.ravel(),
    )
    where = "1 thread each" if threads else f"default threads (BLAS unlimited, torch {TORCH_THREADS})"
    train = config.train
    print(
        f"\n{case.name}: {list(case.layer_dims)} {network.hidden_activation} + {network.output} x {description}, "
        f"{network.dtype}, {train.optimizer} lr {train.learning_rate}, batch {train.batch_size}, "
        f"{case.epochs} epochs x {case.repeats} repeats, {where}",
        flush=True,
    )
    with Machine() as machine, thread_limits(threads):
        timing = time_case(case, network.dtype, runs)
    print_table([(case, network.dtype, timing)])
    warn_if_shared([(case, network.dtype, timing)])
    ours = timing["ours"]
    peer = timing.get("torch")
    ratio = ours["median"] / peer["median"] if peer else float("nan")
    report(
        f"time per epoch, {rows:,} rows x {FEATURES} ({description}), {where}",
        f"ours {ours['median']:.4f} s/epoch (best {ours['best']:.4f}, cpu/wall {ours['cpu_per_wall']:.2f})",
        f"PyTorch {torch.__version__} {peer['median']:.4f} s/epoch (best {peer['best']:.4f}, cpu/wall "
        f"{peer['cpu_per_wall']:.2f}): same layers, initial weights, dtype, Adam settings, batches of "
        f"{train.batch_size} reshuffled each epoch, validation every epoch"
        if peer
        else "PyTorch not importable",
        *(targets(Check("ours/torch", ratio, TIME_TARGET)) if peer else ("ours/torch <= 1.1x", None)),
        machine,
    )
    return {name: row["median"] for name, row in timing.items()}


def blas_note(config: Config, dataset: Dataset) -> str:
    """How many BLAS threads the sweep itself would train this data with, and why."""
    from pipeline.setup.threads import SMALL_PRODUCT, largest_product, one_blas_thread

    product = largest_product(config, dataset, sweep=True)
    threads = "1 BLAS thread" if one_blas_thread(config, dataset, sweep=True) else "the default BLAS threads"
    return (
        f"the sweep trains this data on {threads}: its largest matrix product over the search space is "
        f"{product:.3g} multiply-adds (one thread below {SMALL_PRODUCT:.0e}, pipeline/setup/threads.py)"
    )


# ----- the memory figure: the real command's peak RSS ------------------------------------------------
@dataclasses.dataclass
class Peak:
    """Peak resident memory of one ``python -m pipeline.sweep`` run, in MB."""

    rows: int
    largest: float  # /usr/bin/time -v's maximum resident set size: the largest process of the tree
    own: float  # the sweep process's own peak (getrusage RUSAGE_SELF at exit)
    children: float  # its largest child's (the forked report drawer)
    marks: dict[str, dict[str, float]]  # the sweep process's peak and current RSS (MB) at points of the run
    wall: float
    measured_by: str

    @property
    def which(self) -> str:
        if self.own >= self.children:
            return (
                f"the sweep's own process; its largest child (normally the forked report drawer) peaked at "
                f"{self.children:.0f} MB"
            )
        return (
            f"a child of the sweep process, normally the forked report drawer (its resident pages include the "
            f"parent's shared ones); the sweep process itself peaked at {self.own:.0f} MB"
        )

    @property
    def reached(self) -> str:
        """When the sweep process reached its own peak, from its marks."""
        phases = {
            "after data loading": "while loading the CSV",
            "before summary": "during the trials",
            "after summary": "during the end-of-sweep summary",
            "exit": "after the summary",
        }
        for mark, phase in phases.items():
            if mark in self.marks and self.marks[mark]["peak"] >= self.own - 0.5:
                return phase
        return "at an unknown point"


def sweep_peak(folder: Path, csv: Path, rows: int) -> Peak:
    """Run ``python -m pipeline.sweep`` on ``csv`` with ``SWEEP_BUDGET`` in ``folder``, through the probe."""
    memory = folder / "memory.json"
    argv = [sys.executable, "-c", MEMORY_PROBE, "pipeline.sweep", *dataset_overrides(csv), *SWEEP_BUDGET]
    timed = TIME_BIN.exists()
    argv = [str(TIME_BIN), "-v", *argv] if timed else argv
    started = time.perf_counter()
    result = subprocess.run(argv, cwd=folder, env={**ENV, "BENCH_MEMORY": str(memory)}, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != 0 or not memory.exists():
        raise RuntimeError(f"the sweep on {csv.name} exited {result.returncode}:\n{result.stderr[-3000:]}")
    probe = json.loads(memory.read_text())
    marks = {name: {"peak": v["peak_kb"] / 1024, "rss": v["rss_kb"] / 1024} for name, v in probe["marks"].items()}
    own, children = marks["exit"]["peak"], probe["children_kb"] / 1024
    largest, measured_by = max(own, children), "getrusage (the probe's self and children)"
    found = re.findall(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
    if timed and found:
        largest, measured_by = int(found[-1]) / 1024, "/usr/bin/time -v"
    return Peak(rows, largest, own, children, marks, wall, measured_by)


def marks_line(peak: Peak) -> str:
    shown = [f"{name}: peak {v['peak']:.0f}, now {v['rss']:.0f}" for name, v in peak.marks.items()]
    return f"the sweep process's RSS (MB) at {peak.rows:,} rows: " + "; ".join(shown)


def figure_memory(root: Path, csv: Path, baseline: Peak, dataset: Dataset, network: DeepNetwork) -> dict[str, Any]:
    """Peak RSS of the command at ``csv``'s rows against the 1,000-row baseline, over the data + model bytes."""
    rows = sum(dataset.sizes.values())
    with Machine() as machine:
        peak = sweep_peak(fresh(root, f"sweep-{rows}"), csv, rows)
    data, model = data_bytes(dataset) / MB, model_bytes(network) / MB
    above = peak.largest - baseline.largest
    ratio = above / (data + model)
    csv_mb = csv.stat().st_size / MB
    print("\n" + marks_line(peak))
    report(
        f"peak memory of python -m pipeline.sweep {' '.join(SWEEP_BUDGET)} on a {rows:,}-row CSV "
        f"({csv_mb:.1f} MB file)",
        f"peak RSS {peak.largest:.0f} MB at {rows:,} rows vs {baseline.largest:.0f} MB at {BASELINE_ROWS:,}: "
        f"{above:+.0f} MB = {ratio:.2f}x the data + model ({data:.1f} MB: the Dataset's X and Y of train, val and "
        f"test; model {model * 1024:.1f} KB: the default {network.layer_dims} {network.dtype}). Measured by "
        f"{peak.measured_by}: the largest process is {peak.which}; the sweep process reached its own peak "
        f"{peak.reached}. Command {peak.wall:.1f} s",
        f"the same command on a {BASELINE_ROWS:,}-row CSV of the same columns (the libraries' own memory): "
        f"{baseline.largest:.0f} MB ({baseline.measured_by}; sweep process {baseline.own:.0f} MB, children "
        f"{baseline.children:.0f} MB)",
        *targets(Check("(peak - baseline)/(data + model)", ratio, MEMORY_TARGET)),
        machine,
    )
    return {"peak_mb": peak.largest, "data_model_mb": data + model, "csv_mb": csv_mb, "phase": peak.reached}


def measure_baseline(root: Path, classes: int) -> Peak:
    with Machine() as machine:
        csv = write_csv(root, BASELINE_ROWS, classes)
        peak = sweep_peak(fresh(root, "sweep-baseline"), csv, BASELINE_ROWS)
    print(
        f"\nbaseline: the command on {BASELINE_ROWS:,} rows peaked at {peak.largest:.0f} MB ({peak.measured_by}; "
        f"{peak.wall:.1f} s) {machine.note}\n{marks_line(peak)}"
    )
    return peak


# ----- one size, and the extrapolation to 10^6 rows -----------------------------------------------------
def measure(root: Path, rows: int, args: argparse.Namespace, baseline: Peak | None) -> tuple[dict[str, Any], Config]:
    """Every chosen figure at ``rows`` rows; returns the figures the extrapolation fits, and the config."""
    from pipeline.training import build_network

    csv = write_csv(root, rows, args.classes)
    config, dataset = sweep_data(csv)
    print(
        f"\n{'-' * 100}\n{rows:,} rows x {FEATURES} features: {csv.stat().st_size / MB:.1f} MB of CSV; "
        f"{blas_note(config, dataset)}"
    )
    found: dict[str, Any] = {"rows": rows}
    if "time" not in args.skip:
        found |= figure_time(config, dataset, args, threads=1)
        if args.threads:
            figure_time(config, dataset, args, threads=None)
    if baseline is not None:
        found |= figure_memory(root, csv, baseline, dataset, build_network(config, dataset))
    else:
        found["data_model_mb"] = (data_bytes(dataset) + model_bytes(build_network(config, dataset))) / MB
    return found, config


def extrapolate(measured: list[dict[str, Any]], config: Config, baseline: Peak | None) -> None:
    """A line ``a + b*rows`` through each quantity's measurements, and its value at ``PREDICT_ROWS`` rows."""
    rows = np.array([m["rows"] for m in measured], dtype=float)
    labels = {"ours": "ours s/epoch", "torch": "PyTorch s/epoch", "peak_mb": "peak RSS MB"}
    labels |= {"data_model_mb": "data + model MB", "csv_mb": "CSV file MB"}
    print(f"\n{'=' * 100}\nextrapolated linearly to {PREDICT_ROWS:,} rows from {', '.join(f'{r:,.0f}' for r in rows)}:")
    predicted = {}
    for key, label in labels.items():
        if not all(key in m for m in measured):
            continue
        b, a = np.polyfit(rows, [m[key] for m in measured], 1)
        predicted[key] = a + b * PREDICT_ROWS
        print(f"  {label:<16} = {a:.4g} + {b * 1e6:.4g}e-6 x rows -> {predicted[key]:.4g} at {PREDICT_ROWS:,} rows")
    print(f"what a user with {PREDICT_ROWS:,} rows should expect (default model and settings, one thread):")
    if "ours" in predicted:
        epochs, trials = config.train.epochs, config.search.n_trials
        trial = predicted["ours"] * epochs
        print(
            f"  {predicted['ours']:.1f} s per epoch (PyTorch {predicted.get('torch', float('nan')):.1f} s); "
            f"a {epochs}-epoch trial {trial / 60:.1f} min; {trials} such trials without pruning "
            f"{trial * trials / 3600:.1f} h (at the default architecture: the searched widths and depths make trials "
            "faster or slower, and pruning stops many early)"
        )
    if "peak_mb" in predicted and baseline is not None:
        above = predicted["peak_mb"] - baseline.largest
        ratio = above / predicted["data_model_mb"]
        print(
            f"  peak memory {predicted['peak_mb'] / 1024:.2f} GB: {above / 1024:.2f} GB over the libraries' "
            f"{baseline.largest:.0f} MB for {predicted['data_model_mb'] / 1024:.2f} GB of data + model = {ratio:.2f}x "
            f"(target <= {MEMORY_TARGET:g}x); the CSV file {predicted.get('csv_mb', float('nan')) / 1024:.2f} GB"
        )
    if "phase" in measured[0]:
        phases = "; ".join(f"{m['rows']:,} rows {m['phase']}" for m in measured)
        print(f"  (the sweep process's own peak: {phases}; a line through peaks of different phases misleads)")


# ----- main -------------------------------------------------------------------------------------------
def header() -> str:
    import mlflow
    import optuna
    import pandas

    return (
        f"{time.strftime('%Y-%m-%d %H:%M')}, commit {commit()}; pandas {pandas.__version__}, "
        f"optuna {optuna.__version__}, mlflow {mlflow.__version__}; peak memory by "
        f"{'/usr/bin/time -v' if TIME_BIN.exists() else 'getrusage (no /usr/bin/time)'}"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, help=f"rows of the CSV (default {ROWS:,}; {QUICK_ROWS:,} with --quick)")
    parser.add_argument("--extrapolate", action="store_true", help="measure at 10,000 and 100,000 rows, extrapolate")
    parser.add_argument("--quick", action="store_true", help="smoke run: few rows, 1 epoch, 1 repeat")
    parser.add_argument("--epochs", type=int, help="epochs per timed fit (default 3; 1 with --quick)")
    parser.add_argument("--repeats", type=int, help="timed fits per contender (default 3; 1 with --quick)")
    parser.add_argument("--threads", action="store_true", help="also time both with their default thread counts")
    parser.add_argument("--classes", type=int, default=2, help="classes of the synthetic target (default 2)")
    parser.add_argument("--skip", nargs="+", choices=("time", "memory"), default=[], help="figures to leave out")
    args = parser.parse_args(argv)
    args.epochs = args.epochs or (1 if args.quick else 3)
    args.repeats = args.repeats or (1 if args.quick else 3)
    if args.extrapolate:
        args.sizes = QUICK_EXTRAPOLATE_ROWS if args.quick else EXTRAPOLATE_ROWS
    else:
        args.sizes = (args.rows or (QUICK_ROWS if args.quick else ROWS),)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    print(header())
    with thread_limits(1):
        print(describe_threads(), flush=True)
    measured = []
    with tempfile.TemporaryDirectory(prefix="bench-large-data-") as temporary:
        root = Path(temporary)
        baseline = measure_baseline(root, args.classes) if "memory" not in args.skip else None
        for rows in args.sizes:
            found, config = measure(root, rows, args, baseline)
            measured.append(found)
    if args.extrapolate:
        extrapolate(measured, config, baseline)
    print_summary(args.quick)
    print(f"load average (1 min) after the run: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
