"""Dropout and batch norm in DeepNetwork: where they act, where they do not, reproducibility, float32, refusals."""

import numpy as np
import pytest

from models import DROPOUT_MASKS, BatchNorm, DeepNetwork, Dropout, forward_propagation
from models.dropout import CourseMasks


def _blobs(m: int = 120, n_x: int = 4, classes: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, m)
    centers = rng.normal(0, 3, (n_x, classes))
    return centers[:, labels] + rng.normal(0, 1, (n_x, m)), labels.reshape(1, -1)


def test_course_masks_are_the_assignments_draws() -> None:
    """forward_propagation_with_dropout: np.random.seed(1), then rand(n_1, m) < p, then rand(n_2, m) < p."""
    network = DeepNetwork([2, 20, 3, 1], init="course", seed=3, keep_prob=0.86, dropout_masks="course")
    X = np.random.default_rng(0).normal(size=(2, 11))
    dropout = Dropout(network.keep_prob, CourseMasks())
    before = np.random.get_state()[1].copy()
    for _ in range(2):  # every pass starts again from seed 1
        _, caches = forward_propagation(X, network.parameters, network.activations, dropout=dropout)
        legacy = np.random.RandomState(1)
        assert np.array_equal(caches[0].mask, legacy.rand(20, 11) < 0.86)
        assert np.array_equal(caches[1].mask, legacy.rand(3, 11) < 0.86)
        assert caches[2].mask is None  # never on the output layer
    assert np.array_equal(np.random.get_state()[1], before), "the global NumPy random state was touched"


def test_dropout_acts_in_training_only() -> None:
    X, Y = _blobs()
    network = DeepNetwork([4, 16, 8, 3], output="softmax", keep_prob=[0.5, 0.8], seed=1)
    plain = DeepNetwork([4, 16, 8, 3], output="softmax", seed=1)
    assert network.keep_prob == (0.5, 0.8) and plain.keep_prob == (1.0, 1.0)
    history = network.fit(X, Y, learning_rate=0.1, epochs=3, validation=(X, Y))
    plain.parameters = {key: value.copy() for key, value in network.parameters.items()}
    # predict, predict_proba, evaluate and the validation pass see no dropout
    assert np.array_equal(network.predict_proba(X), plain.predict_proba(X))
    assert network.evaluate(X, Y) == plain.evaluate(X, Y)
    assert history["val_cost"][-1] == plain.evaluate(X, Y)["cost"]
    # the training pass does: its cost is not the cost of the same parameters without dropout
    before = {key: value.copy() for key, value in network.parameters.items()}
    one = network.fit(X, Y, learning_rate=1e-12, epochs=1)
    plain.parameters = before
    assert one["cost"][0] != pytest.approx(plain.evaluate(X, Y)["cost"], rel=1e-6)


def test_inverted_dropout_keeps_the_expected_activation() -> None:
    rng = np.random.default_rng(5)
    A = rng.random((50, 4000))
    dropout = Dropout((0.7,), DROPOUT_MASKS["default"](rng))
    mask = dropout.mask(1, A.shape)
    assert mask.dtype == bool and abs(mask.mean() - 0.7) < 0.01
    from models.dropout import dropout_forward

    assert dropout_forward(A, mask, 0.7).mean() == pytest.approx(A.mean(), rel=0.02)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"keep_prob": 0.8},
        {"keep_prob": 0.8, "dropout_masks": "course"},
        {"batch_norm": True},
        {"keep_prob": [0.9, 0.7], "batch_norm": True},
    ],
)
def test_same_seed_same_numbers_and_no_global_random_state(kwargs: dict) -> None:
    X, Y = _blobs()
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    runs = []
    for _ in range(2):
        network = DeepNetwork([4, 8, 6, 3], output="softmax", seed=7, **kwargs)
        runs.append(network.fit(X, Y, learning_rate=0.05, epochs=4, batch_size=32, optimizer="adam"))
    assert runs[0] == runs[1]
    other = DeepNetwork([4, 8, 6, 3], output="softmax", seed=8, **kwargs)
    assert other.fit(X, Y, learning_rate=0.05, epochs=4, batch_size=32, optimizer="adam") != runs[0]
    assert np.array_equal(np.random.get_state()[1], before), "the global NumPy random state was touched"


def test_batch_norm_layers_have_gamma_beta_and_no_bias() -> None:
    network = DeepNetwork([4, 5, 3, 2], output="softmax", batch_norm=True)
    assert sorted(network.parameters) == ["W1", "W2", "W3", "b3", "beta1", "beta2", "gamma1", "gamma2"]
    assert np.array_equal(network.parameters["gamma1"], np.ones((5, 1)))
    assert not network.parameters["beta2"].any()
    assert sorted(network.running) == ["running_mean1", "running_mean2", "running_var1", "running_var2"]


def test_batch_norm_running_statistics_and_inference() -> None:
    X, Y = _blobs()
    network = DeepNetwork([4, 6, 3], output="softmax", batch_norm=True, batch_norm_momentum=0.8, seed=2)
    W1 = network.parameters["W1"].copy()
    network.fit(X, Y, learning_rate=0.1, epochs=1)  # one full-batch step: the statistics are those of W1·X
    Z = W1 @ X
    assert np.allclose(network.running["running_mean1"], 0.2 * Z.mean(axis=1, keepdims=True), rtol=1e-12)
    assert np.allclose(network.running["running_var1"], 0.8 + 0.2 * Z.var(axis=1, keepdims=True), rtol=1e-12)
    # inference normalizes with the running statistics, whatever the batch: one column alone gives the same output
    p = network.parameters
    Z = p["W1"] @ X
    Z = p["gamma1"] * (Z - network.running["running_mean1"]) / np.sqrt(network.running["running_var1"] + 1e-5)
    Z = p["W2"] @ np.maximum(Z + p["beta1"], 0) + p["b2"]
    expected = np.exp(Z - Z.max(axis=0)) / np.exp(Z - Z.max(axis=0)).sum(axis=0)
    assert np.allclose(network.predict_proba(X), expected, rtol=1e-12, atol=1e-15)
    assert np.allclose(network.predict_proba(X[:, :1]), expected[:, :1], rtol=1e-12, atol=1e-15)


def test_batch_norm_needs_its_settings_on_the_functional_path() -> None:
    network = DeepNetwork([4, 6, 3], output="softmax", batch_norm=True)
    X = np.zeros((4, 5))
    with pytest.raises(ValueError, match="batch_norm=BatchNorm"):
        forward_propagation(X, network.parameters, network.activations)
    AL, _ = forward_propagation(X, network.parameters, network.activations, batch_norm=BatchNorm())
    assert AL.shape == (3, 5)


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "rmsprop", "adam"])
def test_batch_norm_and_dropout_learn_with_every_optimizer(optimizer: str) -> None:
    X, Y = _blobs(m=200)
    network = DeepNetwork([4, 16, 8, 3], output="softmax", keep_prob=0.9, batch_norm=True, seed=0)
    learning_rate = 0.5 if optimizer in ("gd", "momentum") else 0.01
    history = network.fit(X, Y, learning_rate=learning_rate, epochs=60, batch_size=32, optimizer=optimizer)
    assert history["cost"][-1] < 0.5 * history["cost"][0]
    assert network.evaluate(X, Y)["accuracy"] > 0.95


def test_float32_with_dropout_and_batch_norm() -> None:
    X, Y = _blobs()
    results = {}
    for dtype in ("float32", "float64"):
        network = DeepNetwork([4, 16, 8, 3], output="softmax", keep_prob=0.8, batch_norm=True, seed=0, dtype=dtype)
        results[dtype] = network.fit(X, Y, learning_rate=0.01, epochs=20, optimizer="rmsprop")
        assert all(value.dtype == np.dtype(dtype) for value in (network.parameters | network.running).values())
        assert network.predict_proba(X).dtype == np.dtype(dtype)
    # float32 uniforms for the masks in both dtypes: the same units are dropped, so the runs track each other
    assert results["float32"]["cost"] == pytest.approx(results["float64"]["cost"], rel=1e-3)


@pytest.mark.parametrize(
    ("layer_dims", "kwargs", "message"),
    [
        ([4, 3, 1], {"keep_prob": 0.0}, r"keep_prob=0.0: each keep probability must be in \(0, 1\]"),
        ([4, 3, 1], {"keep_prob": 1.5}, r"keep_prob=1.5.*\(0, 1\]"),
        ([4, 3, 2, 1], {"keep_prob": [0.5]}, "has 1 values; the network has 2 hidden layers"),
        ([4, 1], {"keep_prob": 0.5}, "keep_prob=0.5 applies to hidden layers, and this network has none"),
        (
            [4, 3, 1],
            {"dropout_masks": "bernoulli"},
            r"unknown dropout_masks 'bernoulli'; allowed: \['default', 'course'\]",
        ),
        ([4, 1], {"batch_norm": True}, "batch_norm=True normalizes hidden layers, and this network has none"),
        ([4, 3, 1], {"batch_norm": True, "batch_norm_momentum": 1.0}, r"batch_norm_momentum=1.0 must be .*\[0, 1\)"),
        (
            [4, 3, 1],
            {"batch_norm": True, "batch_norm_epsilon": 0.0},
            "batch_norm_epsilon=0.0 must be a finite number > 0",
        ),
        (
            [4, 3, 1],
            {"init_generator": "mt19937"},
            r"unknown init_generator 'mt19937'; allowed: \['default', 'legacy'\]",
        ),
        ([4, 3, 1], {"init": "glorot"}, "unknown init 'glorot'; allowed"),
    ],
)
def test_bad_constructor_arguments_are_refused(layer_dims: list[int], kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DeepNetwork(layer_dims, **kwargs)
