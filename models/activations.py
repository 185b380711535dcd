"""Activation functions: one table maps each name to its forward and its derivative.

Every derivative is written in terms of the layer's *output* ``A = g(Z)`` rather than ``Z``:
for all activations here ``g'(Z)`` is a function of ``A`` alone, so the forward pass may compute
``A`` in place over ``Z`` and the cache keeps one ``(n_l, m)`` array per layer instead of two.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

LEAKY_RELU_SLOPE = 0.01


def _sigmoid(Z: np.ndarray) -> np.ndarray:
    # exp(-Z) overflows to inf for Z < -709 and 1/(1+inf) == 0 is the right limit: silence the warning.
    with np.errstate(over="ignore"):
        np.negative(Z, out=Z)
        np.exp(Z, out=Z)
        Z += 1.0
        return np.reciprocal(Z, out=Z)


def _sigmoid_backward(dA: np.ndarray, A: np.ndarray) -> np.ndarray:
    dA *= A * (1.0 - A)
    return dA


def _tanh(Z: np.ndarray) -> np.ndarray:
    return np.tanh(Z, out=Z)


def _tanh_backward(dA: np.ndarray, A: np.ndarray) -> np.ndarray:
    dA *= 1.0 - A * A
    return dA


def _relu(Z: np.ndarray) -> np.ndarray:
    # A zero row broadcast down Z gives the same bits as the scalar 0.0, but NumPy 2.4 runs its
    # vectorized maximum only when both operands are arrays: 1.5-3.7x faster on (n_l, m) arrays.
    return np.maximum(Z, np.zeros(Z.shape[-1], dtype=Z.dtype), out=Z)


def _relu_backward(dA: np.ndarray, A: np.ndarray) -> np.ndarray:
    # A > 0 exactly where Z > 0; the subgradient at 0 is taken as 0, as in the course.
    dA *= A > 0
    return dA


def _leaky_relu(Z: np.ndarray) -> np.ndarray:
    return np.maximum(Z, LEAKY_RELU_SLOPE * Z, out=Z)


def _leaky_relu_backward(dA: np.ndarray, A: np.ndarray) -> np.ndarray:
    # The slope is positive, so sign(A) == sign(Z).
    dA *= np.where(A > 0, 1.0, LEAKY_RELU_SLOPE).astype(dA.dtype, copy=False)
    return dA


def _softmax(Z: np.ndarray) -> np.ndarray:
    # Subtracting the column maximum leaves softmax unchanged and keeps exp from overflowing.
    Z -= Z.max(axis=0, keepdims=True)
    np.exp(Z, out=Z)
    Z /= Z.sum(axis=0, keepdims=True)
    return Z


def _identity(Z: np.ndarray) -> np.ndarray:
    return Z


def _output_backward(dA: np.ndarray, A: np.ndarray) -> np.ndarray:
    raise NotImplementedError(
        "output activations have no standalone derivative here: the output layer's dZ is AL - Y "
        "(see backward_propagation)"
    )


@dataclass(frozen=True)
class Activation:
    """An activation ``g``: ``forward(Z) -> A`` (may overwrite ``Z``) and
    ``backward(dA, A) -> dZ = dA * g'(Z)`` (may overwrite ``dA``); both arrays are ``(n_l, m)``."""

    name: str
    forward: Callable[[np.ndarray], np.ndarray]
    backward: Callable[[np.ndarray, np.ndarray], np.ndarray]


HIDDEN_ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation("sigmoid", _sigmoid, _sigmoid_backward),
    "tanh": Activation("tanh", _tanh, _tanh_backward),
    "relu": Activation("relu", _relu, _relu_backward),
    "leaky_relu": Activation("leaky_relu", _leaky_relu, _leaky_relu_backward),
}

# Each output is paired with the loss for which dL/dZ = (AL - Y) / m: sigmoid with binary
# cross-entropy, softmax with categorical cross-entropy, linear with half mean squared error.
OUTPUT_ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation("sigmoid", _sigmoid, _output_backward),
    "softmax": Activation("softmax", _softmax, _output_backward),
    "linear": Activation("linear", _identity, _output_backward),
}


def check_activations(activations: list[str] | tuple[str, ...]) -> None:
    """Raise ``ValueError`` naming the first activation that is not allowed at its position."""
    if len(activations) == 0:
        raise ValueError("activations is empty: give one name per layer, hidden layers then output")
    for position, name in enumerate(activations[:-1], start=1):
        if name not in HIDDEN_ACTIVATIONS:
            raise ValueError(
                f"unknown hidden activation {name!r} for layer {position}; allowed: {sorted(HIDDEN_ACTIVATIONS)}"
            )
    if activations[-1] not in OUTPUT_ACTIVATIONS:
        raise ValueError(f"unknown output activation {activations[-1]!r}; allowed: {sorted(OUTPUT_ACTIVATIONS)}")
