"""Backward propagation against central finite differences (``models.gradient_checking``), for every hidden
activation × output, plain and with dropout (fixed masks), batch norm, and both with L2."""

import numpy as np
import pytest

from models import DeepNetwork, backward_propagation, forward_propagation, gradient_check, initialize_parameters
from models.activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from models.batch_norm import initialize_batch_norm
from models.dropout import draw_masks

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
    assert sorted(analytic) == sorted("d" + key for key in parameters)
    # epsilon=1e-6: the step this test always used (the course's 1e-7 is gradient_check's default)
    assert gradient_check(parameters, X, Y, activations, l2=l2, epsilon=1e-6) < 1e-7


@pytest.mark.parametrize("output", sorted(OUTPUT_ACTIVATIONS))
def test_logistic_regression_gradient(output: str) -> None:
    """No hidden layer: the network is logistic (softmax, linear) regression."""
    rng = np.random.default_rng(3)
    n_out = 3 if output == "softmax" else 1
    parameters = initialize_parameters([N_X, n_out], init="random", rng=rng)
    X = rng.normal(size=(N_X, M))
    Y = np.eye(n_out)[:, rng.integers(0, n_out, M)] if output == "softmax" else (rng.random((1, M)) > 0.5) * 1.0
    assert gradient_check(parameters, X, Y, [output], l2=0.3, epsilon=1e-6) < 1e-7


def test_gradient_is_correct_in_float32_to_float32_precision() -> None:
    X, Y, parameters, activations = _problem("tanh", "softmax")
    AL64, caches64 = forward_propagation(X, parameters, activations)
    grads64 = backward_propagation(AL64, Y, caches64)
    params32 = {k: v.astype(np.float32) for k, v in parameters.items()}
    AL32, caches32 = forward_propagation(X.astype(np.float32), params32, activations)
    grads32 = backward_propagation(AL32, Y.astype(np.float32), caches32)
    assert all(g.dtype == np.float32 for g in grads32.values())
    assert _relative_error(grads32, grads64) < 1e-5


def _with_batch_norm(parameters: dict, layer_dims: list[int], rng: np.random.Generator) -> dict:
    """Batch-norm hidden layers (no b), with gamma and beta away from 1 and 0 so every term is exercised."""
    parameters = {
        key: value
        for key, value in parameters.items()
        if not (key.startswith("b") and key != f"b{len(layer_dims) - 1}")
    }
    for key, value in initialize_batch_norm(layer_dims).items():
        parameters[key] = value + rng.normal(0.0, 0.3, value.shape)
    return parameters


@pytest.mark.parametrize(
    ("dropout", "batch_norm", "l2"),
    [(True, False, 0.0), (False, True, 0.0), (True, True, 0.7)],
    ids=["dropout", "batch_norm", "dropout+batch_norm+l2"],
)
@pytest.mark.parametrize("output", sorted(OUTPUT_ACTIVATIONS))
@pytest.mark.parametrize("hidden", sorted(HIDDEN_ACTIVATIONS))
def test_dropout_and_batch_norm_gradients(hidden: str, output: str, dropout: bool, batch_norm: bool, l2: float) -> None:
    X, Y, parameters, activations = _problem(hidden, output)
    rng = np.random.default_rng(1)
    layer_dims = [N_X, *HIDDEN, Y.shape[0]]
    if batch_norm:
        parameters = _with_batch_norm(parameters, layer_dims, rng)
    keep_prob = (0.8, 0.6) if dropout else 1.0
    masks = draw_masks(layer_dims, M, keep_prob, rng) if dropout else None
    assert gradient_check(parameters, X, Y, activations, l2=l2, keep_prob=keep_prob, masks=masks) < 1e-7


def test_gradient_check_sees_a_wrong_gradient(monkeypatch: pytest.MonkeyPatch) -> None:
    """A backprop that forgets the dropout scaling 1/keep_prob must fail the check, as in the course's exercise."""
    import models.gradient_checking as checker

    X, Y, parameters, activations = _problem("tanh", "sigmoid")
    masks = draw_masks([N_X, *HIDDEN, 1], M, 0.5, np.random.default_rng(2))
    assert gradient_check(parameters, X, Y, activations, keep_prob=0.5, masks=masks) < 1e-7

    def unscaled(AL, Y, caches, l2=0.0):
        return backward_propagation(AL, Y, [cache._replace(keep_prob=1.0) for cache in caches], l2)

    monkeypatch.setattr(checker, "backward_propagation", unscaled)
    assert gradient_check(parameters, X, Y, activations, keep_prob=0.5, masks=masks) > 1e-2


def test_network_gradient_check_with_dropout_and_batch_norm() -> None:
    rng = np.random.default_rng(4)
    X = rng.normal(size=(N_X, M))
    labels = rng.integers(0, 3, (1, M))
    network = DeepNetwork(
        [N_X, 5, 3, 3], hidden_activation="tanh", output="softmax", keep_prob=0.7, batch_norm=True, seed=2
    )
    assert "b1" not in network.parameters and {"gamma1", "beta1", "gamma2", "beta2", "b3"} <= set(network.parameters)
    assert network.gradient_check(X, labels, l2=0.5) < 1e-7
