"""``pipeline.records.pyfunc_model``: the served model's predictions, probabilities and input checks,
called directly and through MLflow's own loading and schema enforcement (a model saved to a folder,
no store, no server)."""

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from models import DeepNetwork
from pipeline.records.pyfunc_model import PYFUNC_ENTRY, NetworkModel, model_requirements, model_signature

NAMES = ["sepal", "petal", "stem"]
CLASSES = ["a", "b", "c"]


def wrapped(network: DeepNetwork, task: str, class_names: list[str], names: list[str] = NAMES) -> NetworkModel:
    """A ``NetworkModel`` as ``load_context`` leaves it, with a scaling that is not the identity."""
    model = NetworkModel()
    model.network = network
    model.preprocessing = {
        "feature_names": names,
        "class_names": class_names,
        "task": task,
        "input_multiplier": [0.5] * len(names),
        "input_shift": [-1.0] * len(names),
    }
    return model


@pytest.fixture
def multiclass() -> NetworkModel:
    return wrapped(DeepNetwork([3, 5, 3], output="softmax", seed=0), "multiclass", CLASSES)


@pytest.fixture
def rows() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(7, 3)) * 3


def scaled(rows: np.ndarray) -> np.ndarray:
    return (rows * 0.5 - 1.0).T


def test_classes_are_integer_indices_of_the_network_from_named_or_unnamed_rows(
    multiclass: NetworkModel, rows: np.ndarray
) -> None:
    expected = multiclass.network.predict(scaled(rows)).ravel()
    shuffled = pd.DataFrame(rows, columns=NAMES)[["stem", "sepal", "petal"]]  # names, not positions, count
    for given in (rows, rows.tolist(), pd.DataFrame(rows), shuffled):
        predicted = multiclass.predict(None, given)
        assert predicted.dtype == np.int64 and predicted.shape == (7,)
        np.testing.assert_array_equal(predicted, expected)


def test_probabilities_are_named_by_class_sum_to_one_and_agree_with_the_classes(
    multiclass: NetworkModel, rows: np.ndarray
) -> None:
    probabilities = multiclass.predict(None, rows, params={"output": "probabilities"})
    assert list(probabilities.columns) == CLASSES and probabilities.shape == (7, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    np.testing.assert_allclose(probabilities.to_numpy(), multiclass.network.predict_proba(scaled(rows)).T)
    np.testing.assert_array_equal(probabilities.to_numpy().argmax(axis=1), multiclass.predict(None, rows))


def test_a_single_sigmoid_unit_gives_two_probability_columns(rows: np.ndarray) -> None:
    binary = wrapped(DeepNetwork([3, 4, 1], output="sigmoid", seed=1), "binary", ["no", "yes"])
    probabilities = binary.predict(None, rows, params={"output": "probabilities"})
    p_yes = binary.network.predict_proba(scaled(rows)).ravel()
    np.testing.assert_allclose(probabilities["yes"], p_yes)
    np.testing.assert_allclose(probabilities["no"], 1 - p_yes)
    np.testing.assert_array_equal(binary.predict(None, rows), (p_yes > 0.5).astype(int))


def test_regression_returns_values_and_refuses_probabilities(rows: np.ndarray) -> None:
    regression = wrapped(DeepNetwork([3, 4, 2], output="linear", seed=2), "regression", [])
    np.testing.assert_allclose(regression.predict(None, rows), regression.network.predict(scaled(rows)).T)
    with pytest.raises(MlflowException, match="needs a classifier"):
        regression.predict(None, rows, params={"output": "probabilities"})


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (np.zeros((2, 4)), r"expected rows of 3 features"),
        (
            pd.DataFrame(np.zeros((2, 3)), columns=["sepal", "petal", "leaf"]),
            r"missing \['stem'\], unexpected \['leaf'\]",
        ),
        (np.array([[1.0, np.nan, 2.0]]), "missing or infinite"),
    ],
)
def test_rows_that_do_not_fit_the_features_are_refused(multiclass: NetworkModel, given: object, message: str) -> None:
    with pytest.raises(MlflowException, match=message):
        multiclass.predict(None, given)


def test_an_unknown_output_is_refused_with_the_allowed_ones(multiclass: NetworkModel, rows: np.ndarray) -> None:
    with pytest.raises(MlflowException, match=r"params.output='proba'.*\['predictions', 'probabilities'\]"):
        multiclass.predict(None, rows, params={"output": "proba"})


def test_the_signature_is_unnamed_columns_or_one_tensor_and_the_output_parameter() -> None:
    table = model_signature(NAMES)
    assert not table.inputs.has_input_names() and not table.inputs.is_tensor_spec()
    assert len(table.inputs.inputs) == 3
    assert [(p.name, p.default) for p in table.params.params] == [("output", "predictions")]
    assert model_signature([f"pixel{i}" for i in range(300)]).inputs.is_tensor_spec()


def save(folder: Path, network: DeepNetwork, names: list[str], rows: np.ndarray) -> str:
    """The model saved as ``tracking.log_pyfunc_model`` logs it, minus the store."""
    network.save(folder / "network.npz")
    preprocessing = {"feature_names": names, "class_names": CLASSES, "task": "multiclass"}
    preprocessing |= {"input_multiplier": [0.5] * len(names), "input_shift": [-1.0] * len(names)}
    (folder / "preprocessing.json").write_text(json.dumps(preprocessing))
    path = str(folder / "model")
    mlflow.pyfunc.save_model(
        path,
        python_model=PYFUNC_ENTRY,
        artifacts={"network": str(folder / "network.npz"), "preprocessing": str(folder / "preprocessing.json")},
        pip_requirements=model_requirements(),
        signature=model_signature(names),
        input_example=rows[:2],
    )
    return path


@pytest.mark.slow
def test_mlflows_schema_enforcement_lets_named_and_unnamed_rows_and_the_output_through(
    tmp_path: Path, rows: np.ndarray
) -> None:
    network = DeepNetwork([3, 5, 3], output="softmax", seed=0)
    model = mlflow.pyfunc.load_model(save(tmp_path, network, NAMES, rows))
    expected = network.predict(scaled(rows)).ravel()

    np.testing.assert_array_equal(model.predict(rows), expected)
    np.testing.assert_array_equal(
        model.predict(pd.DataFrame(rows, columns=NAMES)[["petal", "stem", "sepal"]]), expected
    )
    probabilities = model.predict(rows, params={"output": "probabilities"})
    assert list(probabilities.columns) == CLASSES
    with pytest.raises(MlflowException, match="missing inputs"):
        model.predict(rows[:, :2])  # MLflow counts the columns before the model sees them


@pytest.mark.slow
def test_wide_inputs_are_one_tensor_of_rows(tmp_path: Path) -> None:
    names = [f"pixel{i}" for i in range(300)]
    rows = np.random.default_rng(1).uniform(size=(4, 300))
    network = DeepNetwork([300, 3], output="softmax", seed=0)
    model = mlflow.pyfunc.load_model(save(tmp_path, network, names, rows))
    np.testing.assert_array_equal(model.predict(rows), network.predict(scaled(rows)).ravel())
