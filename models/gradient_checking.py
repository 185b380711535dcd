"""Gradient checking, as in the *Improving Deep Neural Networks* week-1 gradient-checking assignment.

Every parameter entry ``θ_i`` is nudged both ways by ``ε`` (``1e-7`` by default, as there) and the
centered difference ``gradapprox_i = (J(θ_i + ε) − J(θ_i − ε)) / 2ε`` is compared with
backpropagation's ``grad`` through the relative difference

    ‖grad − gradapprox‖₂ / (‖grad‖₂ + ‖gradapprox‖₂)

over all entries together (the course flags a difference above ``2e-7``). ``J`` is the training
cost: ``compute_cost`` plus the L2 term, with the dropout masks held fixed and batch norm using the
batch's own statistics, so the check covers exactly what ``backward_propagation`` differentiates.
"""

from collections.abc import Sequence

import numpy as np

from models.batch_norm import DEFAULT_EPSILON, BatchNorm
from models.dropout import Dropout, FixedMasks, check_keep_prob, draw_masks
from models.losses import compute_cost
from models.propagation import backward_propagation, forward_propagation


def relative_difference(grad: np.ndarray, gradapprox: np.ndarray) -> float:
    """``‖grad − gradapprox‖ / (‖grad‖ + ‖gradapprox‖)`` of two equal-length vectors (0 when both are 0)."""
    denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
    return 0.0 if denominator == 0 else float(np.linalg.norm(grad - gradapprox) / denominator)


def gradient_check(
    parameters: dict[str, np.ndarray],
    X: np.ndarray,
    Y: np.ndarray,
    activations: list[str] | tuple[str, ...],
    *,
    l2: float = 0.0,
    keep_prob: float | Sequence[float] = 1.0,
    masks: Sequence[np.ndarray] | None = None,
    batch_norm_epsilon: float = DEFAULT_EPSILON,
    epsilon: float = 1e-7,
    rng: np.random.Generator | None = None,
) -> float:
    """The relative difference between backprop's gradient and centered differences of the cost.

    Args:
        parameters: ``{"W1", "b1", ...}``; hidden layers with ``gamma{l}``/``beta{l}`` (and no ``b{l}``)
            are batch-normalized. Not modified: the check works on float64 copies.
        X: inputs ``(n_x, m)``; Y: targets ``(n_L, m)`` (one-hot for softmax).
        activations: one name per layer, hidden then output.
        l2: the L2 strength λ of the cost checked.
        keep_prob: dropout keep probability of the hidden layers (one number or one per layer).
        masks: boolean dropout masks ``(n_l, m)``, one per hidden layer, held fixed; when dropout is
            on and ``masks`` is ``None`` they are drawn once from ``rng`` (default ``default_rng(0)``).
        batch_norm_epsilon: batch norm's ``eps``.
        epsilon: the nudge ``ε``.

    Returns:
        The relative difference (a float); below about ``1e-7`` the gradient is right.
    """
    theta = {key: np.array(value, dtype=np.float64) for key, value in parameters.items()}
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    dropout = _fixed_dropout(theta, X.shape, len(activations) - 1, keep_prob, masks, rng)
    batch_norm = BatchNorm(batch_norm_epsilon) if "gamma1" in theta else None

    def cost() -> float:
        AL, _ = forward_propagation(X, theta, activations, dropout=dropout, batch_norm=batch_norm)
        return compute_cost(AL, Y, activations, theta, l2)

    AL, caches = forward_propagation(X, theta, activations, dropout=dropout, batch_norm=batch_norm)
    grads = backward_propagation(AL, Y, caches, l2)
    grad, gradapprox = [], []
    for key, value in theta.items():
        grad.append(grads["d" + key].ravel())
        approx = np.empty(value.size)
        flat = value.reshape(-1)  # a view: nudging it nudges theta[key]
        for i in range(flat.size):
            original = flat[i]
            flat[i] = original + epsilon
            plus = cost()
            flat[i] = original - epsilon
            minus = cost()
            flat[i] = original
            approx[i] = (plus - minus) / (2 * epsilon)
        gradapprox.append(approx)
    return relative_difference(np.concatenate(grad), np.concatenate(gradapprox))


def _fixed_dropout(
    theta: dict[str, np.ndarray],
    x_shape: tuple[int, int],
    n_hidden: int,
    keep_prob: float | Sequence[float],
    masks: Sequence[np.ndarray] | None,
    rng: np.random.Generator | None,
) -> Dropout | None:
    """Dropout with masks held fixed across every cost the check evaluates (``masks``, or drawn once from
    ``rng``); ``None`` when every keep probability is 1. ``x_shape`` is ``X``'s ``(n_x, m)``."""
    keep_probs = check_keep_prob(keep_prob, n_hidden)
    if not any(p < 1.0 for p in keep_probs):
        return None
    if masks is None:
        layer_dims = [x_shape[0]] + [theta[f"W{l}"].shape[0] for l in range(1, n_hidden + 2)]
        masks = draw_masks(layer_dims, x_shape[1], keep_probs, np.random.default_rng(0) if rng is None else rng)
    return Dropout(keep_probs, FixedMasks(masks))
