"""Forward and backward propagation through ``L`` fully connected layers, keeping a cache per layer.

Conventions (the course's): ``X`` and every ``A`` are ``(n_l, m)`` with examples as columns,
``Z = W·A_prev + b``, ``W{l}`` is ``(n_l, n_{l-1})`` and ``b{l}`` is ``(n_l, 1)``.
"""

from typing import NamedTuple

import numpy as np

from models.activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS, check_activations


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


def forward_propagation(
    X: np.ndarray, parameters: dict[str, np.ndarray], activations: list[str] | tuple[str, ...]
) -> tuple[np.ndarray, list[LayerCache]]:
    """Run ``X`` ``(n_x, m)`` through the ``L = len(activations)`` layers.

    Returns ``(AL, caches)``: ``AL`` is ``(n_L, m)`` and ``caches[l-1]`` is layer ``l``'s cache.
    """
    check_activations(activations)
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


def backward_propagation(
    AL: np.ndarray, Y: np.ndarray, caches: list[LayerCache], l2: float = 0.0
) -> dict[str, np.ndarray]:
    """Gradients of ``compute_cost(AL, Y, ..., l2=l2)`` with respect to every ``W{l}`` and ``b{l}``.

    Returns ``{"dW1": (n_1, n_x), "db1": (n_1, 1), ..., "dWL", "dbL"}``.
    """
    if AL.shape != Y.shape:
        raise ValueError(f"AL has shape {AL.shape} but Y has shape {Y.shape}; they must match (n_L, m)")
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
