"""Costs: each output activation has the loss whose gradient with respect to ``Z_L`` is ``(AL - Y) / m``."""

import numpy as np


def _binary_cross_entropy(AL: np.ndarray, Y: np.ndarray) -> float:
    # Clip at the dtype's eps so that a saturated sigmoid costs a large finite amount, not log(0).
    eps = np.finfo(AL.dtype).eps
    P = np.clip(AL, eps, 1.0 - eps)
    return float(-(np.dot(Y.ravel(), np.log(P).ravel()) + np.dot(1.0 - Y.ravel(), np.log1p(-P).ravel())))


def _categorical_cross_entropy(AL: np.ndarray, Y: np.ndarray) -> float:
    eps = np.finfo(AL.dtype).eps
    return float(-np.dot(Y.ravel(), np.log(np.maximum(AL, eps)).ravel()))


def _half_squared_error(AL: np.ndarray, Y: np.ndarray) -> float:
    diff = (AL - Y).ravel()
    return float(0.5 * np.dot(diff, diff))


# Each returns the *sum* over examples; compute_cost divides by m.
LOSSES = {
    "sigmoid": _binary_cross_entropy,
    "softmax": _categorical_cross_entropy,
    "linear": _half_squared_error,
}


def l2_penalty(parameters: dict[str, np.ndarray], l2: float, m: int) -> float:
    """``l2 / (2m) · Σ_l ‖W_l‖²`` (Frobenius norms; biases are not penalized)."""
    if l2 == 0.0:
        return 0.0
    total = sum(float(np.dot(W.ravel(), W.ravel())) for key, W in parameters.items() if key.startswith("W"))
    return l2 / (2.0 * m) * total


def compute_cost(
    AL: np.ndarray,
    Y: np.ndarray,
    activations: list[str] | tuple[str, ...],
    parameters: dict[str, np.ndarray] | None = None,
    l2: float = 0.0,
) -> float:
    """Mean cost over the ``m`` columns, plus the L2 term when ``l2 > 0``.

    Args:
        AL: output activations ``(n_L, m)``.
        Y: targets ``(n_L, m)``: 0/1 for ``sigmoid``, one-hot columns for ``softmax``, reals for ``linear``.
        activations: one name per layer; only the last (the output) picks the loss.
        parameters: needed only when ``l2 > 0``.
        l2: the regularization strength λ.
    """
    output = activations[-1]
    if output not in LOSSES:
        raise ValueError(f"unknown output activation {output!r}; allowed: {sorted(LOSSES)}")
    if AL.shape != Y.shape:
        raise ValueError(f"AL has shape {AL.shape} but Y has shape {Y.shape}; they must match (n_L, m)")
    m = AL.shape[1]
    if m == 0:
        raise ValueError("no examples: AL and Y have 0 columns; a cost needs at least one example")
    cost = LOSSES[output](AL, Y) / m
    if l2 > 0.0:
        if parameters is None:
            raise ValueError("compute_cost with l2 > 0 needs parameters= to add the L2 term")
        cost += l2_penalty(parameters, l2, m)
    return cost
