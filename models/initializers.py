"""Weight initialization: a scale (``INITIALIZERS``) and, independently, who draws (``WEIGHT_GENERATORS``).

Shapes follow the course: ``W{l}`` is ``(n_l, n_{l-1})`` and ``b{l}`` is ``(n_l, 1)`` of zeros.

Every course case is one ``(init, generator)`` pair with ``seed=3`` (or ``seed=1`` in part one):

| course assignment | weights | ``(init, generator)`` |
|---|---|---|
| part one, 2-layer / L-layer cat nets | ``randn·0.01`` / ``randn/√n_prev``, ``seed(1)`` | ``("course", "legacy")`` |
| initialization, zeros (the failure case) | all zero | ``("zeros", any)`` |
| initialization, large random | ``randn·10``, ``seed(3)`` | ``("large_random", "legacy")`` |
| initialization and optimization, He | ``randn·√(2/n_prev)``, ``seed(3)`` | ``("he", "legacy")`` |
| regularization, ``[2, 20, 3, 1]`` | ``randn/√n_prev``, ``seed(3)`` | ``("course", "legacy")``: a deep net |
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Initializer:
    """How one layer's standard normal draw ``W`` ``(n_l, n_prev)`` becomes its weights.

    ``scale(W, n_prev, n_layers)`` returns the weights; ``draws=False`` means no draw at all (``W`` is
    then zeros and the generator's stream is left untouched, as in the course); ``generator`` is the
    ``WEIGHT_GENERATORS`` key used when the caller names none.
    """

    scale: Callable[[np.ndarray, int, int], np.ndarray]
    generator: str = "default"
    draws: bool = True


def _course(W: np.ndarray, n_prev: int, n_layers: int) -> np.ndarray:
    if n_layers == 2:
        return W * 0.01  # the 2-layer assignment
    return W / np.sqrt(n_prev)  # the L-layer assignment: written as a division, as there, so the bits match


INITIALIZERS: dict[str, Initializer] = {
    # keeps ReLU activations' variance constant with depth; the course's math.sqrt(2./n_prev) gives the same bits
    "he": Initializer(lambda W, n_prev, n_layers: W * np.sqrt(2.0 / n_prev)),
    "xavier": Initializer(lambda W, n_prev, n_layers: W * np.sqrt(1.0 / n_prev)),  # the course's variant, for tanh
    "random": Initializer(lambda W, n_prev, n_layers: W * 0.01),
    "course": Initializer(_course, generator="legacy"),
    # the initialization assignment's two failure cases: no symmetry breaking, and saturated sigmoids
    "zeros": Initializer(lambda W, n_prev, n_layers: W, draws=False),
    "large_random": Initializer(lambda W, n_prev, n_layers: W * 10),
}

Draw = Callable[[int, int], np.ndarray]


def _generator_draws(rng: np.random.Generator | None, seed: int | None) -> Draw:
    """The project's generator: ``rng`` (or ``np.random.default_rng(seed)``), one ``standard_normal`` per layer."""
    if rng is None and seed is None:
        # default_rng(None) would draw from the OS's entropy: weights nobody could draw again.
        raise ValueError("initialize_parameters needs rng= or seed= (unseeded weights could not be reproduced)")
    generator = np.random.default_rng(seed) if rng is None else rng
    return lambda n, n_prev: generator.standard_normal((n, n_prev))


def _legacy_draws(rng: np.random.Generator | None, seed: int | None) -> Draw:
    """The course's ``np.random.seed(seed)`` then ``np.random.randn(n_l, n_prev)`` layer by layer, on a local
    ``RandomState`` so that the global NumPy random state is never touched."""
    if seed is None:
        raise ValueError("the legacy generator needs seed= (it uses np.random.RandomState(seed) like the course)")
    return np.random.RandomState(seed).randn


# name -> factory(rng, seed) returning draw(n_l, n_prev) -> standard normal (n_l, n_prev) float64.
WEIGHT_GENERATORS: dict[str, Callable[[np.random.Generator | None, int | None], Draw]] = {
    "default": _generator_draws,
    "legacy": _legacy_draws,
}


def check_layer_dims(layer_dims: list[int] | tuple[int, ...]) -> None:
    """Raise ``ValueError`` unless ``layer_dims`` is ``[n_x, n_1, ..., n_L]`` of positive ints."""
    if len(layer_dims) < 2:
        raise ValueError(f"layer_dims={list(layer_dims)} needs at least an input and an output size, e.g. [n_x, 1]")
    for index, size in enumerate(layer_dims):
        if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 1:
            raise ValueError(
                f"layer_dims[{index}]={size!r} must be a positive integer; got layer_dims={list(layer_dims)}"
            )


def resolve_generator(init: str, generator: str | None) -> str:
    """The generator ``init`` uses: ``generator`` when given, else the initializer's own (``legacy`` for ``course``)."""
    if init not in INITIALIZERS:
        raise ValueError(f"unknown init {init!r}; allowed: {list(INITIALIZERS)}")
    if generator is None:
        return INITIALIZERS[init].generator
    if generator not in WEIGHT_GENERATORS:
        raise ValueError(f"unknown init_generator {generator!r}; allowed: {list(WEIGHT_GENERATORS)} or None")
    return generator


def initialize_parameters(
    layer_dims: list[int] | tuple[int, ...],
    *,
    init: str,
    rng: np.random.Generator | None = None,
    seed: int | None = None,
    dtype: type | str = np.float64,
    generator: str | None = None,
) -> dict[str, np.ndarray]:
    """Create ``{"W1": (n_1, n_x), "b1": (n_1, 1), ..., "WL", "bL"}`` for ``layer_dims = [n_x, n_1, ..., n_L]``.

    ``init`` (a key of ``INITIALIZERS``) picks the scale; ``generator`` (a key of ``WEIGHT_GENERATORS``,
    default: the initializer's own, ``legacy`` for ``course`` and ``default`` otherwise) picks who draws.
    ``default`` draws from ``rng`` (or ``np.random.default_rng(seed)``); ``legacy`` reproduces the course
    bit for bit, ``np.random.RandomState(seed).randn`` layer by layer, so it needs ``seed``. Weights
    are drawn in float64 and then cast, so float32 and float64 networks with the same seed start from
    the same values.
    """
    check_layer_dims(layer_dims)
    generator = resolve_generator(init, generator)
    initializer = INITIALIZERS[init]
    try:  # zeros draw nothing, so need no seed
        draw = WEIGHT_GENERATORS[generator](rng, seed) if initializer.draws else None
    except ValueError as error:
        raise ValueError(f"init={init!r}: {error}") from None
    n_layers = len(layer_dims) - 1
    parameters = {}
    for l in range(1, n_layers + 1):
        n, n_prev = int(layer_dims[l]), int(layer_dims[l - 1])
        W = np.zeros((n, n_prev)) if draw is None else draw(n, n_prev)
        parameters[f"W{l}"] = initializer.scale(W, n_prev, n_layers).astype(dtype, copy=False)
        parameters[f"b{l}"] = np.zeros((n, 1), dtype=dtype)
    return parameters
