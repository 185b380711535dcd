"""DeepNetwork: a hand-worked step, reproducibility, optimizers, callbacks, divergence and refusals."""

import math

import numpy as np
import pytest

from models import DeepNetwork, DivergenceError, initialize_parameters


def _blobs(m: int = 200, n_x: int = 4, classes: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Well separated Gaussian blobs: X ``(n_x, m)``, labels ``(1, m)``."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, m)
    centers = rng.normal(0, 3, (n_x, classes))
    return centers[:, labels] + rng.normal(0, 1, (n_x, m)), labels.reshape(1, -1)


def test_one_gradient_descent_step_by_hand() -> None:
    """Logistic regression, two examples x=(1, 2), y=1 and x=(-1, 0), y=0, worked on paper."""
    network = DeepNetwork([2, 1], output="sigmoid", init="random", seed=0)
    network.parameters = {"W1": np.array([[0.5, -0.25]]), "b1": np.array([[0.0]])}
    X = np.array([[1.0, -1.0], [2.0, 0.0]])
    Y = np.array([[1, 0]])
    history = network.fit(X, Y, learning_rate=1.0, epochs=1)
    # z = (0, -0.5) -> a = (0.5, σ(-0.5) = 0.3775406687981455)
    # cost = -(ln 0.5 + ln(1 - 0.3775406687981455)) / 2
    assert history["cost"][0] == pytest.approx((math.log(2) + math.log(1 + math.exp(-0.5))) / 2, abs=1e-15)
    # a = 0.5 is not > 0.5, so the first example (y=1) is predicted 0; the second is right.
    assert history["accuracy"][0] == 0.5
    # dZ = (a - y) / m = (-0.25, 0.18877033439907275)
    # dW = dZ · Xᵀ = (-0.25·1 + 0.18877·(-1), -0.25·2) ; db = -0.25 + 0.18877
    dz2 = (1 / (1 + math.exp(0.5))) / 2
    assert network.parameters["W1"] == pytest.approx(np.array([[0.5 + 0.25 + dz2, -0.25 + 0.5]]), abs=1e-15)
    assert network.parameters["b1"] == pytest.approx(np.array([[0.25 - dz2]]), abs=1e-15)


@pytest.mark.parametrize("init", ["he", "xavier", "random", "course"])
def test_same_seed_same_numbers_and_no_global_random_state(init: str) -> None:
    X, Y = _blobs()
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    runs = []
    for _ in range(2):
        network = DeepNetwork([4, 8, 3], hidden_activation="tanh", output="softmax", init=init, seed=7)
        runs.append(network.fit(X, Y, learning_rate=0.1, epochs=5, batch_size=32, optimizer="adam"))
    assert runs[0] == runs[1]
    other = DeepNetwork([4, 8, 3], hidden_activation="tanh", output="softmax", init=init, seed=8)
    assert other.fit(X, Y, learning_rate=0.1, epochs=5, batch_size=32, optimizer="adam") != runs[0]
    assert np.array_equal(np.random.get_state()[1], before), "the global NumPy random state was touched"


@pytest.mark.parametrize(
    ("init", "layer_dims", "expected_std"),
    [
        ("he", [400, 300, 1], math.sqrt(2 / 400)),
        ("xavier", [400, 300, 1], math.sqrt(1 / 400)),
        ("random", [400, 300, 1], 0.01),
        ("course", [400, 300, 1], 0.01),
        ("course", [400, 300, 5, 1], 1 / 20),
    ],
)
def test_initialization_scales(init: str, layer_dims: list[int], expected_std: float) -> None:
    parameters = initialize_parameters(layer_dims, init=init, seed=1)
    assert parameters["W1"].shape == (300, 400) and parameters["b1"].shape == (300, 1)
    assert parameters["W1"].std() == pytest.approx(expected_std, rel=0.02)
    assert not parameters["b1"].any()


def test_course_init_is_the_legacy_generator_layer_by_layer() -> None:
    parameters = initialize_parameters([5, 4, 3, 1], init="course", seed=1)
    legacy = np.random.RandomState(1)
    assert np.array_equal(parameters["W1"], legacy.randn(4, 5) / np.sqrt(5))
    assert np.array_equal(parameters["W2"], legacy.randn(3, 4) / np.sqrt(4))


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "adam"])
@pytest.mark.parametrize("batch_size", [None, 16])
def test_every_optimizer_learns_separable_blobs(optimizer: str, batch_size: int | None) -> None:
    X, Y = _blobs()
    network = DeepNetwork([4, 16, 3], output="softmax", seed=0)
    learning_rate = 0.01 if optimizer == "adam" else 0.5
    history = network.fit(X, Y, learning_rate=learning_rate, epochs=60, batch_size=batch_size, optimizer=optimizer)
    assert history["cost"][-1] < 0.5 * history["cost"][0]
    assert network.evaluate(X, Y)["accuracy"] > 0.95


def test_float32_trains_in_float32_and_tracks_float64() -> None:
    X, Y = _blobs()
    results = {}
    for dtype in ("float32", "float64"):
        network = DeepNetwork([4, 16, 3], output="softmax", seed=0, dtype=dtype)
        results[dtype] = network.fit(X, Y, learning_rate=0.5, epochs=20)
        assert all(value.dtype == np.dtype(dtype) for value in network.parameters.values())
    assert results["float32"]["cost"] == pytest.approx(results["float64"]["cost"], rel=1e-4)


def test_regression_reports_rmse() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 100))
    Y = np.array([[1.0, -2.0, 0.5]]) @ X + 0.3
    network = DeepNetwork([3, 1], output="linear", seed=0)
    history = network.fit(X, Y, learning_rate=0.1, epochs=200)
    assert "rmse" in history and "accuracy" not in history
    assert network.evaluate(X, Y)["rmse"] < 1e-3
    assert history["cost"][0] == pytest.approx(history["rmse"][0] ** 2 / 2)


def test_validation_metrics_and_callback_stop() -> None:
    X, Y = _blobs()
    seen = []

    def stop_at_three(epoch: int, metrics: dict[str, float]) -> bool:
        seen.append((epoch, sorted(metrics)))
        return epoch == 2

    network = DeepNetwork([4, 8, 3], output="softmax", seed=0)
    history = network.fit(X, Y, learning_rate=0.1, epochs=50, validation=(X[:, :50], Y[:, :50]), callback=stop_at_three)
    assert [epoch for epoch, _ in seen] == [0, 1, 2]
    assert seen[0][1] == ["accuracy", "cost", "val_accuracy", "val_cost"]
    assert len(history["val_cost"]) == 3
    assert history["val_cost"][-1] == network.evaluate(X[:, :50], Y[:, :50])["cost"]


def test_callback_exception_propagates() -> None:
    class PrunedError(Exception):
        pass

    def prune(epoch: int, metrics: dict[str, float]) -> None:
        raise PrunedError

    with pytest.raises(PrunedError):
        DeepNetwork([4, 3], output="softmax").fit(*_blobs(), learning_rate=0.1, epochs=5, callback=prune)


def test_divergence_raises_naming_the_epoch() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(0, 100, size=(3, 50))
    Y = rng.normal(0, 100, size=(1, 50))
    network = DeepNetwork([3, 20, 1], output="linear", seed=0)
    with pytest.raises(DivergenceError, match=r"diverged at epoch \d+") as caught:
        network.fit(X, Y, learning_rate=10.0, epochs=500)
    assert caught.value.epoch >= 0 and caught.value.what in {"cost"} | set(network.parameters)


def test_saturated_sigmoid_cost_stays_finite() -> None:
    network = DeepNetwork([1, 1], output="sigmoid")
    network.parameters = {"W1": np.array([[1000.0]]), "b1": np.array([[0.0]])}
    result = network.evaluate(np.array([[1.0, -1.0]]), np.array([[0, 1]]))
    assert np.isfinite(result["cost"]) and result["cost"] > 30
    assert result["accuracy"] == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hidden_activation": "relu6"}, "unknown hidden activation 'relu6'.*allowed"),
        ({"output": "softplus"}, "unknown output activation 'softplus'"),
        ({"init": "glorot"}, "unknown init 'glorot'; allowed"),
        ({"dtype": "float16"}, "unknown dtype 'float16'"),
    ],
)
def test_unknown_names_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DeepNetwork([4, 3, 1], **kwargs)


@pytest.mark.parametrize(
    ("layer_dims", "message"),
    [([4], "at least an input and an output"), ([4, 0, 1], r"layer_dims\[1\]=0"), ([4, 2.5, 1], "positive integer")],
)
def test_bad_layer_dims_are_refused(layer_dims: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DeepNetwork(layer_dims)


@pytest.mark.parametrize(
    ("fit_kwargs", "message"),
    [
        ({"learning_rate": 0.0, "epochs": 1}, "learning_rate=0.0 must be"),
        ({"learning_rate": float("nan"), "epochs": 1}, "learning_rate=nan"),
        ({"learning_rate": 0.1, "epochs": 0}, "epochs=0"),
        ({"learning_rate": 0.1, "epochs": 1, "batch_size": 0}, "batch_size=0"),
        ({"learning_rate": 0.1, "epochs": 1, "optimizer": "adagrad"}, "unknown optimizer 'adagrad'"),
        ({"learning_rate": 0.1, "epochs": 1, "l2": -1.0}, "l2=-1.0"),
    ],
)
def test_bad_hyperparameters_are_refused(fit_kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DeepNetwork([4, 3], output="softmax").fit(*_blobs(), **fit_kwargs)


def test_bad_data_shapes_are_refused() -> None:
    X, Y = _blobs()
    network = DeepNetwork([4, 3], output="softmax")
    with pytest.raises(ValueError, match=r"X has shape \(200, 4\); expected \(4, m\).*X.T"):
        network.fit(X.T, Y, learning_rate=0.1, epochs=1)
    with pytest.raises(ValueError, match=r"Y has shape \(1, 199\); expected \(3, 200\)"):
        network.fit(X, Y[:, :-1], learning_rate=0.1, epochs=1)
    with pytest.raises(ValueError, match="labels must be integers in"):
        network.fit(X, Y + 5, learning_rate=0.1, epochs=1)
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        network.fit(X_nan, Y, learning_rate=0.1, epochs=1)
    with pytest.raises(ValueError, match="0s and 1s"):
        DeepNetwork([4, 1]).fit(X, Y, learning_rate=0.1, epochs=1)


def test_predictions_have_the_course_layout() -> None:
    X, Y = _blobs()
    network = DeepNetwork([4, 8, 3], output="softmax", seed=0)
    network.fit(X, Y, learning_rate=0.5, epochs=30)
    assert network.predict(X).shape == (1, 200)
    proba = network.predict_proba(X)
    assert proba.shape == (3, 200) and np.allclose(proba.sum(axis=0), 1.0)
    binary = DeepNetwork([4, 1], output="sigmoid")
    assert set(np.unique(binary.predict(X))) <= {0, 1}


def test_weights_are_never_drawn_from_unseeded_randomness() -> None:
    with pytest.raises(ValueError, match=r"needs rng= or seed="):
        initialize_parameters([3, 2, 1], init="he")
    zeros = initialize_parameters([3, 2, 1], init="zeros")  # draws nothing, so needs no seed
    assert not any(value.any() for value in zeros.values())
