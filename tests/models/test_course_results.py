"""The course's published cat-classifier results, reproduced with init="course" and full-batch descent."""

from pathlib import Path

import h5py
import numpy as np
import pytest

from models import DeepNetwork

pytestmark = [pytest.mark.slow, pytest.mark.course_data]


def _load(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The course's preprocessing: each image flattened to a column, divided by 255."""
    with h5py.File(folder / "train_catvnoncat.h5", "r") as train, h5py.File(folder / "test_catvnoncat.h5", "r") as test:
        x_train, y_train = train["train_set_x"][:], train["train_set_y"][:]
        x_test, y_test = test["test_set_x"][:], test["test_set_y"][:]
    return (
        x_train.reshape(x_train.shape[0], -1).T / 255.0,
        y_train.reshape(1, -1),
        x_test.reshape(x_test.shape[0], -1).T / 255.0,
        y_test.reshape(1, -1),
    )


@pytest.mark.parametrize(
    ("layer_dims", "cost_0", "cost_2400", "train_accuracy", "test_accuracy"),
    [
        ([12288, 7, 1], 0.6930497, 0.0485548, 1.00, 0.72),
        ([12288, 20, 7, 5, 1], 0.7717493, 0.0928782, 0.9856, 0.80),
    ],
    ids=["2-layer", "4-layer"],
)
def test_published_cat_results(
    course_data_dir: Path,
    layer_dims: list[int],
    cost_0: float,
    cost_2400: float,
    train_accuracy: float,
    test_accuracy: float,
) -> None:
    X_train, Y_train, X_test, Y_test = _load(course_data_dir)
    network = DeepNetwork(layer_dims, hidden_activation="relu", output="sigmoid", init="course", seed=1)
    history = network.fit(X_train, Y_train, learning_rate=0.0075, epochs=2500)
    assert round(history["cost"][0], 7) == cost_0
    assert round(history["cost"][2400], 7) == cost_2400
    assert network.evaluate(X_train, Y_train)["accuracy"] == pytest.approx(train_accuracy, abs=5e-5)
    assert network.evaluate(X_test, Y_test)["accuracy"] == pytest.approx(test_accuracy, abs=1e-12)
