"""How many BLAS threads a training run should use, chosen from its work.

The network's matrix products are ``(units, n_in) @ (n_in, batch)``. When the largest of them is small, a second
BLAS thread costs more than it gains: on the default sweep (digits, at most 128 units, batches of 64: about 10^6
multiply-adds per product) two threads took the same wall time as one and 1.5x the CPU, and another machine of
the same kind ran a third faster with one; on the course's 4-layer cat classifier (full batches of 209 pictures of
12,288 values: 5*10^7) two threads were 17 % faster (docs/BENCHMARKS.md, "BLAS threads"). Below ``SMALL_PRODUCT``
the run uses one thread; above it, the library's default (every core). Parallel sweep workers always use one
each, whatever the work, so that they never fight over the cores.
"""

from pipeline.setup.config import Config, SearchParam
from pipeline.setup.data import Dataset

SMALL_PRODUCT = 1e7  # multiply-adds of the largest matrix product below which one BLAS thread is used


def widest(config: Config, sweep: bool) -> int:
    """The widest hidden layer the run has (``sweep``: that any trial of the search space can have)."""
    space = config.search.space if sweep else {}
    found = list(config.model.hidden_units)
    for name in ("hidden_units", "width"):
        param: SearchParam | None = space.get(name)
        if param is not None:
            found.append(int(max(param.choices) if param.type == "categorical" else param.high))
    return max(found, default=0)


def largest_product(config: Config, dataset: Dataset, sweep: bool) -> float:
    """Multiply-adds of the largest matrix product of one training step: the widest layer against the input,
    against itself (two hidden layers) or against the output, times the batch."""
    batch = min(config.train.batch_size or dataset.sizes["train"], dataset.sizes["train"])
    width = widest(config, sweep)
    outputs = max(len(dataset.class_names), dataset.Y_train.shape[0])
    depth = len(config.model.hidden_units)
    if sweep and "depth" in config.search.space:
        param = config.search.space["depth"]
        depth = int(max(param.choices) if param.type == "categorical" else param.high)
    inner = width * width if depth >= 2 else 0  # a hidden layer feeding another
    return float(max(dataset.n_features * max(width, outputs), inner, width * outputs) * batch)


def one_blas_thread(config: Config, dataset: Dataset, sweep: bool) -> bool:
    """Whether this run's (``sweep``: every trial's) work is small enough that one BLAS thread is at least as fast
    as several."""
    return largest_product(config, dataset, sweep) < SMALL_PRODUCT
