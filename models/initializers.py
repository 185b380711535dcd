"""Weight initialization: ``he``, ``xavier``, ``random`` and the course's exact ``course`` scheme.

Shapes follow the course: ``W{l}`` is ``(n_l, n_{l-1})`` and ``b{l}`` is ``(n_l, 1)`` of zeros.
"""

import numpy as np

INITIALIZERS = ("he", "xavier", "random", "course")


def _scaled(W: np.ndarray, init: str, n_prev: int, n_layers: int) -> np.ndarray:
    """Scale a standard normal draw ``W`` of shape ``(n_l, n_prev)`` for one layer."""
    if init == "he":
        return W * np.sqrt(2.0 / n_prev)  # keeps ReLU activations' variance constant with depth
    if init == "xavier":
        return W * np.sqrt(1.0 / n_prev)  # the course's Xavier variant, suited to tanh
    if init == "random" or n_layers == 2:
        return W * 0.01  # course: 0.01 for the 2-layer assignment
    # course, L-layer assignment: written as a division, as there, so the bits match.
    return W / np.sqrt(n_prev)


def check_layer_dims(layer_dims: list[int] | tuple[int, ...]) -> None:
    """Raise ``ValueError`` unless ``layer_dims`` is ``[n_x, n_1, ..., n_L]`` of positive ints."""
    if len(layer_dims) < 2:
        raise ValueError(f"layer_dims={list(layer_dims)} needs at least an input and an output size, e.g. [n_x, 1]")
    for index, size in enumerate(layer_dims):
        if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 1:
            raise ValueError(
                f"layer_dims[{index}]={size!r} must be a positive integer; got layer_dims={list(layer_dims)}"
            )


def initialize_parameters(
    layer_dims: list[int] | tuple[int, ...],
    *,
    init: str,
    rng: np.random.Generator | None = None,
    seed: int | None = None,
    dtype: type | str = np.float64,
) -> dict[str, np.ndarray]:
    """Create ``{"W1": (n_1, n_x), "b1": (n_1, 1), ..., "WL", "bL"}`` for ``layer_dims = [n_x, n_1, ..., n_L]``.

    ``he``, ``xavier`` and ``random`` draw from ``rng`` (or ``np.random.default_rng(seed)``).
    ``course`` reproduces the course bit for bit: ``np.random.RandomState(seed).randn`` layer by
    layer, so it needs ``seed``. Weights are drawn in float64 and then cast, so float32 and float64
    networks with the same seed start from the same values.
    """
    check_layer_dims(layer_dims)
    if init not in INITIALIZERS:
        raise ValueError(f"unknown init {init!r}; allowed: {list(INITIALIZERS)}")
    if init == "course":
        if seed is None:
            raise ValueError("init='course' needs seed= (it uses np.random.RandomState(seed) like the course)")
        draw = np.random.RandomState(seed).randn  # a local legacy generator, never the global one
    else:
        if rng is None:
            rng = np.random.default_rng(seed)
        draw = rng.standard_normal
    n_layers = len(layer_dims) - 1
    parameters = {}
    for l in range(1, n_layers + 1):
        n, n_prev = int(layer_dims[l]), int(layer_dims[l - 1])
        W = draw(n, n_prev) if init == "course" else draw((n, n_prev))
        parameters[f"W{l}"] = _scaled(W, init, n_prev, n_layers).astype(dtype, copy=False)
        parameters[f"b{l}"] = np.zeros((n, 1), dtype=dtype)
    return parameters
