"""Forward and backward propagation through ``L`` fully connected layers, keeping a cache per layer.

Conventions (the course's): ``X`` and every ``A`` are ``(n_l, m)`` with examples as columns,
``Z = W·A_prev + b``, ``W{l}`` is ``(n_l, n_{l-1})`` and ``b{l}`` is ``(n_l, 1)``.

Two paths, chosen once per call: the plain one (``LayerCache``), and the one for dropout and batch
norm (``RegularizedCache``), so that a network with neither pays nothing for them.
"""

from typing import NamedTuple

import numpy as np

from models.activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS, check_activations
from models.batch_norm import (
    BatchNorm,
    BatchNormCache,
    batch_norm_backward,
    batch_norm_forward,
    batch_norm_inference,
)
from models.dropout import Dropout, dropout_backward, dropout_forward


class LayerCache(NamedTuple):
    """What one layer's forward keeps for its backward.

    ``A_prev`` is the layer's input ``(n_{l-1}, m)``, ``W`` ``(n_l, n_{l-1})``, ``b`` ``(n_l, 1)``,
    ``A`` the layer's output ``(n_l, m)`` (the derivative of every activation is a function of
    ``A``, so ``Z`` is not kept), ``activation`` the layer's activation name.
    """

    A_prev: np.ndarray
    W: np.ndarray
    b: np.ndarray
    A: np.ndarray
    activation: str


def linear_activation_forward(
    A_prev: np.ndarray, W: np.ndarray, b: np.ndarray, activation: str, output: bool = False
) -> tuple[np.ndarray, LayerCache]:
    """One layer: ``A = g(W·A_prev + b)``; returns ``(A, cache)`` with ``A`` of shape ``(n_l, m)``."""
    table = OUTPUT_ACTIVATIONS if output else HIDDEN_ACTIVATIONS
    Z = np.dot(W, A_prev)
    Z += b
    A = table[activation].forward(Z)  # computed in place over Z: Z is not needed afterwards
    return A, LayerCache(A_prev, W, b, A, activation)


class RegularizedCache(NamedTuple):
    """One layer's cache on the dropout / batch-norm path.

    ``A_prev`` is the layer's input ``(n_{l-1}, m)`` (after the previous layer's dropout), ``W``
    ``(n_l, n_{l-1})``, ``A`` the activation's output ``(n_l, m)`` *before* this layer's dropout (the
    derivative needs it), ``mask`` the layer's boolean dropout mask ``(n_l, m)`` or ``None``,
    ``keep_prob`` its keep probability, ``norm`` its ``BatchNormCache`` or ``None``.
    """

    A_prev: np.ndarray
    W: np.ndarray
    A: np.ndarray
    activation: str
    mask: np.ndarray | None
    keep_prob: float
    norm: BatchNormCache | None


def forward_propagation(
    X: np.ndarray,
    parameters: dict[str, np.ndarray],
    activations: list[str] | tuple[str, ...],
    *,
    dropout: Dropout | None = None,
    batch_norm: BatchNorm | None = None,
) -> tuple[np.ndarray, list[LayerCache] | list[RegularizedCache]]:
    """Run ``X`` ``(n_x, m)`` through the ``L = len(activations)`` layers.

    Returns ``(AL, caches)``: ``AL`` is ``(n_L, m)`` and ``caches[l-1]`` is layer ``l``'s cache.
    ``dropout`` drops hidden units (training only). Hidden layers with ``gamma{l}`` in ``parameters``
    are batch-normalized and need ``batch_norm`` (its ``running`` statistics, or the batch's when
    ``running`` is ``None``).
    """
    check_activations(activations)
    if dropout is not None or batch_norm is not None:
        return _regularized_forward(X, parameters, activations, dropout, batch_norm)
    if "gamma1" in parameters:
        raise ValueError("parameters have batch-norm layers (gamma1, ...): pass batch_norm=BatchNorm(...)")
    L = len(activations)
    A = X
    caches = []
    for l in range(1, L + 1):
        try:
            W, b = parameters[f"W{l}"], parameters[f"b{l}"]
        except KeyError as missing:
            raise ValueError(
                f"parameters lacks {missing.args[0]}: {L} activations need W1..W{L} and b1..b{L}"
            ) from None
        if W.shape[1] != A.shape[0] or b.shape != (W.shape[0], 1):
            raise ValueError(
                f"layer {l}: W{l} {W.shape} and b{l} {b.shape} do not fit an input of shape {A.shape}; "
                f"expected W{l} (n_{l}, {A.shape[0]}) and b{l} (n_{l}, 1)"
            )
        A, cache = linear_activation_forward(A, W, b, activations[l - 1], output=l == L)
        caches.append(cache)
    return A, caches


def _layer_parameters(parameters: dict[str, np.ndarray], l: int, L: int, normalized: bool) -> tuple:
    try:
        if normalized:
            return parameters[f"W{l}"], parameters[f"gamma{l}"], parameters[f"beta{l}"]
        return parameters[f"W{l}"], parameters[f"b{l}"]
    except KeyError as missing:
        raise ValueError(f"parameters lacks {missing.args[0]}: layer {l} of {L} needs it") from None


def _regularized_forward(
    X: np.ndarray,
    parameters: dict[str, np.ndarray],
    activations: list[str] | tuple[str, ...],
    dropout: Dropout | None,
    batch_norm: BatchNorm | None,
) -> tuple[np.ndarray, list[RegularizedCache]]:
    L = len(activations)
    if dropout is not None:
        dropout.masks.start()
    A = X
    caches = []
    for l in range(1, L + 1):
        hidden = l < L
        normalized = hidden and f"gamma{l}" in parameters
        if normalized and batch_norm is None:
            raise ValueError(f"layer {l} has gamma{l} (batch norm): pass batch_norm=BatchNorm(...)")
        W, *rest = _layer_parameters(parameters, l, L, normalized)
        if W.shape[1] != A.shape[0]:
            raise ValueError(f"layer {l}: W{l} {W.shape} does not fit an input of shape {A.shape}")
        Z = np.dot(W, A)
        norm = None
        if not normalized:
            Z += rest[0]
        elif batch_norm.running is None:
            Z, norm = batch_norm_forward(Z, *rest, batch_norm.epsilon)
        else:
            mean, var = batch_norm.running[f"running_mean{l}"], batch_norm.running[f"running_var{l}"]
            Z = batch_norm_inference(Z, *rest, mean, var, batch_norm.epsilon)
        A_out = (HIDDEN_ACTIVATIONS if hidden else OUTPUT_ACTIVATIONS)[activations[l - 1]].forward(Z)
        mask = dropout.mask(l, A_out.shape) if hidden and dropout is not None else None
        keep_prob = dropout.keep_probs[l - 1] if mask is not None else 1.0
        caches.append(RegularizedCache(A, W, A_out, activations[l - 1], mask, keep_prob, norm))
        A = A_out if mask is None else dropout_forward(A_out, mask, keep_prob)
    return A, caches


def backward_propagation(
    AL: np.ndarray, Y: np.ndarray, caches: list[LayerCache] | list[RegularizedCache], l2: float = 0.0
) -> dict[str, np.ndarray]:
    """Gradients of ``compute_cost(AL, Y, ..., l2=l2)`` with respect to every parameter.

    Returns ``{"dW1": (n_1, n_x), "db1": (n_1, 1), ..., "dWL", "dbL"}``; a batch-norm layer ``l`` has
    ``dgamma{l}`` and ``dbeta{l}`` ``(n_l, 1)`` instead of ``db{l}``. With dropout, the gradient is that
    of the cost with the forward pass's masks held fixed.
    """
    if AL.shape != Y.shape:
        raise ValueError(f"AL has shape {AL.shape} but Y has shape {Y.shape}; they must match (n_L, m)")
    if caches and isinstance(caches[0], RegularizedCache):
        return _regularized_backward(AL, Y, caches, l2)
    L = len(caches)
    m = AL.shape[1]
    # For sigmoid+binary cross-entropy, softmax+categorical cross-entropy and linear+half squared
    # error alike, dCost/dZ_L = (AL - Y) / m: no division by AL, so a saturated output stays finite.
    # Folding 1/m into dZ here means no later gradient needs it.
    dZ = AL - Y
    dZ *= 1.0 / m
    grads = {}
    for l in range(L, 0, -1):
        A_prev, W, _, _, _ = caches[l - 1]
        dW = np.dot(dZ, A_prev.T)
        if l2 > 0.0:
            dW += (l2 / m) * W
        grads[f"dW{l}"] = dW
        grads[f"db{l}"] = dZ.sum(axis=1, keepdims=True)
        if l > 1:  # dA_0 (the gradient for X) is never needed: skip its matrix product
            below = caches[l - 2]
            dZ = HIDDEN_ACTIVATIONS[below.activation].backward(np.dot(W.T, dZ), below.A)
    return grads


def _regularized_backward(
    AL: np.ndarray, Y: np.ndarray, caches: list[RegularizedCache], l2: float
) -> dict[str, np.ndarray]:
    L = len(caches)
    m = AL.shape[1]
    dZ = AL - Y  # dCost/dZ_L = (AL - Y) / m, as on the plain path
    dZ *= 1.0 / m
    grads = {}
    for l in range(L, 0, -1):
        cache = caches[l - 1]
        dW = np.dot(dZ, cache.A_prev.T)
        if l2 > 0.0:
            dW += (l2 / m) * cache.W
        grads[f"dW{l}"] = dW
        if cache.norm is None:
            grads[f"db{l}"] = dZ.sum(axis=1, keepdims=True)
        if l > 1:
            below = caches[l - 2]
            dA = np.dot(cache.W.T, dZ)  # the gradient for the layer below's output, after its dropout
            if below.mask is not None:
                dA = dropout_backward(dA, below.mask, below.keep_prob)
            dZ = HIDDEN_ACTIVATIONS[below.activation].backward(dA, below.A)
            if below.norm is not None:
                dZ, grads[f"dgamma{l - 1}"], grads[f"dbeta{l - 1}"] = batch_norm_backward(dZ, below.norm)
    return grads
