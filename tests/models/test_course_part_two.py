"""Published results of *Improving Deep Neural Networks* (course 2), week 1 and week 2, reproduced at the
``models/`` level. The data are made here exactly as the course makes them.

Sources (public copies of the notebooks, with their printed outputs):

* Regularization and Initialization: ``amanchadha/coursera-deep-learning-specialization``,
  ``C2 - .../Week 1/Regularization/Regularization_v2a.ipynb`` and ``.../Initialization/Initialization.ipynb``.
* Optimization, 2021 edition (5000 epochs, learning-rate decay): ``greyhatguy007/deep-learning-specialization``,
  ``C2-.../week2/pogramming assignments/W2A1/Optimization_methods.ipynb``; its schedule_lr_decay cells were run
  with a solution missing ``np.floor``, so the fixed-interval costs are those printed by correct solutions in
  public notes (the same figures in several copies), and the accuracies are the notebook's own summary table.
* Optimization, earlier edition (10000 epochs): ``Optimization_methods_v1b.ipynb`` (same amanchadha repository,
  code only); its accuracies 0.797 / 0.797 / 0.94 are from public copies of its output. Its printed costs are
  those of each epoch's *last* mini-batch, which ``fit`` does not report, so they are not compared.

The course's cost is ``1/m · nansum(...)`` without clipping; ours clips probabilities at the dtype's eps.
The two agree wherever no output saturates; the large-random initialization saturates (the course prints
``inf`` at iteration 0, we a large finite number), and there only accuracies and the sign of the trend are
compared.
"""

from pathlib import Path

import numpy as np
import pytest

from models import DeepNetwork

pytestmark = pytest.mark.slow

FOOTBALL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "course" / "data.mat"


@pytest.fixture(scope="module")
def football() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """reg_utils.load_2D_dataset: train X = data['X'].T, y = data['y'].T; test Xval, yval."""
    if not FOOTBALL.is_file():
        pytest.skip(f"the regularization assignment's data.mat is not at {FOOTBALL} (it is not shipped)")
    scipy_io = pytest.importorskip("scipy.io")
    data = scipy_io.loadmat(FOOTBALL)
    return data["X"].T, data["y"].T, data["Xval"].T, data["yval"].T


def _agrees(ours: float, published: float) -> bool:
    # The published digits differ between copies of the same notebook by ~1e-13 (their BLAS): compare to 1e-11.
    return ours == pytest.approx(published, rel=1e-11)


@pytest.mark.course_data
@pytest.mark.parametrize(
    ("kwargs", "fit_kwargs", "costs", "train_accuracy", "test_accuracy"),
    [
        ({}, {}, (0.6557412523481002, 0.16329987525724213, 0.13851642423245572), 0.9478672985781991, 0.915),
        ({}, {"l2": 0.7}, (0.6974484493131264, 0.26849188732822393, 0.2680916337127301), 0.9383886255924171, 0.93),
        (
            {"keep_prob": 0.86, "dropout_masks": "course"},
            {},
            (0.6543912405149825, 0.0610169865749056, 0.060582435798513114),
            0.9289099526066351,
            0.95,
        ),
    ],
    ids=["baseline", "l2=0.7", "dropout=0.86"],
)
def test_regularization_assignment(
    football: tuple,
    kwargs: dict,
    fit_kwargs: dict,
    costs: tuple[float, float, float],
    train_accuracy: float,
    test_accuracy: float,
) -> None:
    """model(): [2, 20, 3, 1], relu, sigmoid, lr 0.3, 30000 iterations, full batch; initialize_parameters:
    np.random.seed(3), randn(n_l, n_prev) / sqrt(n_prev), i.e. init="course" (a deep net) with seed 3."""
    X, Y, X_test, Y_test = football
    network = DeepNetwork([2, 20, 3, 1], hidden_activation="relu", output="sigmoid", init="course", seed=3, **kwargs)
    history = network.fit(X, Y, learning_rate=0.3, epochs=30000, **fit_kwargs)
    assert [_agrees(history["cost"][i], cost) for i, cost in zip((0, 10000, 20000), costs, strict=True)] == [True] * 3
    assert network.evaluate(X, Y)["accuracy"] == train_accuracy
    assert network.evaluate(X_test, Y_test)["accuracy"] == test_accuracy


@pytest.fixture(scope="module")
def circles() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """init_utils.load_dataset: np.random.seed(1); make_circles(300, noise=.05); np.random.seed(2); (100, .05).
    make_circles' default random_state is NumPy's global RandomState, so a fresh RandomState(seed) is the same."""
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.make_circles(n_samples=300, noise=0.05, random_state=np.random.RandomState(1))
    X_test, y_test = datasets.make_circles(n_samples=100, noise=0.05, random_state=np.random.RandomState(2))
    return X.T, y.reshape(1, -1), X_test.T, y_test.reshape(1, -1)


HE_COSTS = (
    0.8830537463419761,
    0.6879825919728063,
    0.6751286264523371,
    0.6526117768893807,
    0.6082958970572938,
    0.5304944491717495,
    0.4138645817071794,
    0.3117803464844441,
    0.23696215330322562,
    0.18597287209206836,
    0.15015556280371817,
    0.12325079292273552,
    0.09917746546525932,
    0.08457055954024274,
    0.07357895962677362,
)


@pytest.mark.parametrize(
    ("init", "train_accuracy", "test_accuracy"),
    [("zeros", 0.5, 0.5), ("large_random", 0.83, 0.86), ("he", 0.9933333333333333, 0.96)],
)
def test_initialization_assignment(circles: tuple, init: str, train_accuracy: float, test_accuracy: float) -> None:
    """model(): [2, 10, 5, 1], relu, relu, sigmoid, lr 0.01, 15000 iterations; weights after np.random.seed(3):
    zeros; randn·10; randn·sqrt(2/n_prev)."""
    X, Y, X_test, Y_test = circles
    network = DeepNetwork(
        [2, 10, 5, 1], hidden_activation="relu", output="sigmoid", init=init, init_generator="legacy", seed=3
    )
    history = network.fit(X, Y, learning_rate=0.01, epochs=15000)
    printed = history["cost"][::1000]
    if init == "zeros":
        # every unit of a layer stays identical and the output stays 0.5: the cost is ln 2 throughout
        assert printed == pytest.approx([0.6931471805599453] * 15, rel=1e-15)
    elif init == "he":
        assert [_agrees(ours, cost) for ours, cost in zip(printed, HE_COSTS, strict=True)] == [True] * 15
    else:
        # The course prints inf at iteration 0 (saturated sigmoids, no clipping); its later costs differ between
        # copies of the notebook in the third digit (0.62396 and 0.62479 at 1000), a chaotic start. Ours lie there.
        assert np.isfinite(printed[0]) and printed[0] > 10
        assert printed[1] == pytest.approx(0.6244, abs=1e-3) and printed[14] == pytest.approx(0.3827, abs=1e-3)
    assert network.evaluate(X, Y)["accuracy"] == train_accuracy
    assert network.evaluate(X_test, Y_test)["accuracy"] == test_accuracy


@pytest.fixture(scope="module")
def moons() -> tuple[np.ndarray, np.ndarray]:
    """opt_utils_v1a.load_dataset: np.random.seed(3); make_moons(n_samples=300, noise=.2)."""
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.make_moons(n_samples=300, noise=0.2, random_state=np.random.RandomState(3))
    return X.T, y.reshape(1, -1)


@pytest.mark.parametrize(
    ("optimizer", "learning_rate", "decay", "printed", "accuracy"),
    [
        ("gd", 0.0007, "none", (0.702405, 0.668101, 0.635288, 0.600491, 0.573367), 0.7166666666666667),
        ("momentum", 0.0007, "none", (0.702413, 0.668167, 0.635388, 0.600591, 0.573444), 0.7166666666666667),
        ("adam", 0.0007, "none", (0.702166, 0.167845, 0.141316, 0.138788, 0.136066), 0.9433333333333334),
        ("gd", 0.1, "inverse_time", (0.701091, 0.661884, 0.658620, 0.656765, 0.655486), 0.6533333333333333),
        ("gd", 0.1, "inverse_time_staircase", (0.701091, 0.127161, 0.120304, 0.117033, 0.117512), None),
        ("momentum", 0.1, "inverse_time_staircase", (0.702226, 0.128974, 0.125965, 0.123375, 0.123218), None),
        ("adam", 0.01, "inverse_time_staircase", (0.699346, 0.130074, 0.129826, 0.129282, 0.128361), 0.94),
    ],
    ids=["gd", "momentum", "adam", "gd-update_lr", "gd-schedule_lr_decay", "momentum-schedule", "adam-schedule"],
)
def test_optimization_assignment(
    moons: tuple, optimizer: str, learning_rate: float, decay: str, printed: tuple, accuracy: float | None
) -> None:
    """model(): [2, 5, 2, 1], He after np.random.seed(3), mini-batches of 64 from random_mini_batches with seeds
    11, 12, ..., 5000 epochs, beta 0.9 / 0.9, 0.999, 1e-8, decay_rate 1 and time_interval 1000; prints
    "Cost after epoch %i: %f" (the epoch's mean mini-batch cost) every 1000 epochs."""
    X, Y = moons
    network = DeepNetwork(
        [2, 5, 2, 1], hidden_activation="relu", output="sigmoid", init="he", init_generator="legacy", seed=3
    )
    history = network.fit(
        X, Y, learning_rate=learning_rate, epochs=5000, batch_size=64, optimizer=optimizer, batch_order="course",
        decay=decay, decay_rate=1.0, time_interval=1000,
    )  # fmt: skip
    assert [f"{history['cost'][i]:f}" for i in range(0, 5000, 1000)] == [f"{cost:f}" for cost in printed]
    if accuracy is not None:
        assert network.evaluate(X, Y)["accuracy"] == accuracy
    # Not asserted: the notebook's summary table gives ">94.6%" (gd) and ">95.6%" (momentum) with
    # schedule_lr_decay; these exact runs (every printed cost matches) reach 0.9433 and 0.9533.


@pytest.mark.parametrize(("optimizer", "accuracy"), [("gd", 0.797), ("momentum", 0.797), ("adam", 0.94)])
def test_optimization_assignment_earlier_edition(moons: tuple, optimizer: str, accuracy: float) -> None:
    """Optimization_methods_v1b: the same model with num_epochs=10000; published accuracies 79.7%, 79.7%, 94%."""
    X, Y = moons
    network = DeepNetwork(
        [2, 5, 2, 1], hidden_activation="relu", output="sigmoid", init="he", init_generator="legacy", seed=3
    )
    network.fit(X, Y, learning_rate=0.0007, epochs=10000, batch_size=64, optimizer=optimizer, batch_order="course")
    assert network.evaluate(X, Y)["accuracy"] == pytest.approx(accuracy, abs=5e-4)
