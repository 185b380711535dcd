"""Backward propagation against central finite differences, for every hidden activation × output."""

import numpy as np
import pytest

from models import backward_propagation, compute_cost, forward_propagation, initialize_parameters
from models.activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS

N_X, HIDDEN, M = 4, (5, 3), 7


def _problem(hidden: str, output: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray, dict, list[str]]:
    rng = np.random.default_rng(seed)
    n_out = 3 if output == "softmax" else (2 if output == "linear" else 1)
    layer_dims = [N_X, *HIDDEN, n_out]
    parameters = initialize_parameters(layer_dims, init="xavier", rng=rng)
    for key in parameters:  # non-zero biases so their gradients are exercised too
        if key.startswith("b"):
            parameters[key] = rng.normal(0.0, 0.5, parameters[key].shape)
    X = rng.normal(size=(N_X, M))
    if output == "sigmoid":
        Y = (rng.random((1, M)) > 0.5).astype(float)
    elif output == "softmax":
        Y = np.eye(n_out)[:, rng.integers(0, n_out, M)]
    else:
        Y = rng.normal(size=(n_out, M))
    activations = [hidden] * len(HIDDEN) + [output]
    return X, Y, parameters, activations


def _cost(X, Y, parameters, activations, l2):
    AL, _ = forward_propagation(X, parameters, activations)
    return compute_cost(AL, Y, activations, parameters, l2)


def _numerical_gradient(X, Y, parameters, activations, l2, h=1e-6):
    """Central differences ``(J(θ+h) − J(θ−h)) / 2h`` for every entry of every parameter."""
    numeric = {}
    for key, value in parameters.items():
        grad = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            original = value[index]
            value[index] = original + h
            plus = _cost(X, Y, parameters, activations, l2)
            value[index] = original - h
            minus = _cost(X, Y, parameters, activations, l2)
            value[index] = original
            grad[index] = (plus - minus) / (2 * h)
        numeric["d" + key] = grad
    return numeric


def _relative_error(analytic: dict, numeric: dict) -> float:
    a = np.concatenate([analytic[k].ravel() for k in sorted(numeric)])
    n = np.concatenate([numeric[k].ravel() for k in sorted(numeric)])
    return float(np.linalg.norm(a - n) / (np.linalg.norm(a) + np.linalg.norm(n)))


@pytest.mark.parametrize("l2", [0.0, 0.7])
@pytest.mark.parametrize("output", sorted(OUTPUT_ACTIVATIONS))
@pytest.mark.parametrize("hidden", sorted(HIDDEN_ACTIVATIONS))
def test_backward_matches_central_differences(hidden: str, output: str, l2: float) -> None:
    X, Y, parameters, activations = _problem(hidden, output)
    AL, caches = forward_propagation(X, parameters, activations)
    analytic = backward_propagation(AL, Y, caches, l2=l2)
    numeric = _numerical_gradient(X, Y, parameters, activations, l2)
    assert sorted(analytic) == sorted(numeric)
    assert _relative_error(analytic, numeric) < 1e-7


@pytest.mark.parametrize("output", sorted(OUTPUT_ACTIVATIONS))
def test_logistic_regression_gradient(output: str) -> None:
    """No hidden layer: the network is logistic (softmax, linear) regression."""
    rng = np.random.default_rng(3)
    n_out = 3 if output == "softmax" else 1
    parameters = initialize_parameters([N_X, n_out], init="random", rng=rng)
    X = rng.normal(size=(N_X, M))
    Y = np.eye(n_out)[:, rng.integers(0, n_out, M)] if output == "softmax" else (rng.random((1, M)) > 0.5) * 1.0
    AL, caches = forward_propagation(X, parameters, [output])
    analytic = backward_propagation(AL, Y, caches, l2=0.3)
    numeric = _numerical_gradient(X, Y, parameters, [output], 0.3)
    assert _relative_error(analytic, numeric) < 1e-7


def test_gradient_is_correct_in_float32_to_float32_precision() -> None:
    X, Y, parameters, activations = _problem("tanh", "softmax")
    AL64, caches64 = forward_propagation(X, parameters, activations)
    grads64 = backward_propagation(AL64, Y, caches64)
    params32 = {k: v.astype(np.float32) for k, v in parameters.items()}
    AL32, caches32 = forward_propagation(X.astype(np.float32), params32, activations)
    grads32 = backward_propagation(AL32, Y.astype(np.float32), caches32)
    assert all(g.dtype == np.float32 for g in grads32.values())
    assert _relative_error(grads32, grads64) < 1e-5
