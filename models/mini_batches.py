"""The order of mini-batches in each epoch (``BATCH_ORDERS``): the project's seeded stream or the course's.

Every order yields, for one epoch, the column indices of each mini-batch: consecutive slices of a
permutation of the ``m`` examples, the last one smaller when ``batch_size`` does not divide ``m``.
With ``batch_size=None`` or ``batch_size >= m`` every order yields the whole set unshuffled, once.
"""

from collections.abc import Callable, Iterator

import numpy as np

# An epoch's batches: (m, batch_size, epoch) -> index arrays, or slice(None) for the full batch.
BatchOrder = Callable[[int, int | None, int], Iterator[slice | np.ndarray]]

# The optimization assignment's model sets seed = 10 and, before each epoch's random_mini_batches
# call, seed = seed + 1: epoch e (0-based) shuffles with seed 11 + e.
COURSE_FIRST_SEED = 10


def _slices(order: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    for start in range(0, order.shape[0], batch_size):
        yield order[start : start + batch_size]


def seeded_order(rng: np.random.Generator) -> BatchOrder:
    """The project's order: each epoch a fresh ``rng.permutation(m)`` from the network's own stream."""

    def batches(m: int, batch_size: int | None, epoch: int) -> Iterator[slice | np.ndarray]:
        if batch_size is None or batch_size >= m:
            yield slice(None)  # full batch: the arrays themselves, no copy
            return
        yield from _slices(rng.permutation(m), batch_size)

    return batches


def course_order(rng: np.random.Generator | None = None) -> BatchOrder:
    """The course's ``random_mini_batches(X, Y, mini_batch_size, seed)`` with its ``model``'s seeds: epoch ``e``
    uses ``np.random.RandomState(11 + e).permutation(m)`` (a local generator: the course calls
    ``np.random.seed(seed)`` then ``np.random.permutation(m)``, the same numbers), then consecutive slices.
    The epoch count restarts at 0 with every ``fit``, as the course's ``model`` does."""

    def batches(m: int, batch_size: int | None, epoch: int) -> Iterator[slice | np.ndarray]:
        if batch_size is None or batch_size >= m:
            yield slice(None)
            return
        yield from _slices(np.random.RandomState(COURSE_FIRST_SEED + 1 + epoch).permutation(m), batch_size)

    return batches


# name -> factory(rng) of a batch order; the keys are the allowed values of DeepNetwork.fit(batch_order=...).
BATCH_ORDERS: dict[str, Callable[[np.random.Generator], BatchOrder]] = {
    "default": seeded_order,
    "course": course_order,
}
