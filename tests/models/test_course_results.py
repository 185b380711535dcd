"""The course's published cat-classifier results, reproduced with init="course" and full-batch descent.

The whole published run (2,500 iterations: the cost after iteration 2,400 and the train and test accuracies)
is checked once, through the product: tests/e2e/test_course.py trains ``experiment=course_cat_2layer`` and
``course_cat_4layer`` with ``python -m pipeline.train``, this very network on the same data. Here, at the
``models/`` level, the published cost after iteration 0 (the course's initialization and forward pass): the same
2,500 iterations again here took 1.5-2 minutes of the suite.
"""

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
    ("layer_dims", "cost_0"),
    [([12288, 7, 1], 0.6930497), ([12288, 20, 7, 5, 1], 0.7717493)],
    ids=["2-layer", "4-layer"],
)
def test_published_cat_results(course_data_dir: Path, layer_dims: list[int], cost_0: float) -> None:
    X_train, Y_train, _, _ = _load(course_data_dir)
    network = DeepNetwork(layer_dims, hidden_activation="relu", output="sigmoid", init="course", seed=1)
    history = network.fit(X_train, Y_train, learning_rate=0.0075, epochs=1)
    assert round(history["cost"][0], 7) == cost_0
