"""The trained network as an MLflow pyfunc model (raw feature rows in, predictions out), the signature
it is logged with, and its example request.

``mlflow.pyfunc.load_model(uri).predict(rows)`` takes raw, unscaled features, one example per row,
applies the training split's scaling, and returns integer class indices ``0..C-1`` for
classification or values ``(m, n_y)`` for regression. ``predict(rows, params={"output":
"probabilities"})`` returns a classifier's class probabilities instead: a DataFrame ``(m, C)`` whose
columns are the class names (index ``i`` of a prediction names column ``i``).

Rows are either named, a DataFrame whose columns are the training features in any order, or unnamed,
in the training order: an array ``(m, n_x)``, a list of rows, a DataFrame with columns ``0..n_x-1``.
Served over HTTP, that is ``{"dataframe_split": {"columns": [...], "data": [...]}}`` or
``{"inputs": [[...], ...]}``.
"""

import json
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow.artifacts
import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec

from models import DeepNetwork

# Logged as the model's code, so loading needs no unpickling (MLflow's "models from code").
PYFUNC_ENTRY = str(Path(__file__).with_name("pyfunc_entry.py"))

# The ``output`` parameter of a request: what predict returns. The first is the default.
OUTPUTS = ("predictions", "probabilities")
MAX_COLUMNS = 256  # wider inputs (images) are one tensor: a column per pixel would bloat the MLmodel file


def model_signature(feature_names: list[str], max_columns: int = MAX_COLUMNS) -> ModelSignature:
    """The logged signature: one unnamed double column per feature, and the ``output`` parameter.

    Unnamed columns are what lets both request formats through MLflow's schema enforcement: named
    columns make it refuse unnamed rows (``inputs``), while unnamed ones check the width and the types
    and hand a DataFrame's own column names on to ``predict``, which matches them to the features.
    Inputs wider than ``max_columns`` are one ``(-1, n_x)`` float tensor (rows in the training order).
    """
    n_x = len(feature_names)
    if n_x <= max_columns:
        inputs = Schema([ColSpec("double") for _ in range(n_x)])
    else:
        inputs = Schema([TensorSpec(np.dtype(np.float64), (-1, n_x))])
    return ModelSignature(inputs=inputs, params=ParamSchema([ParamSpec("output", "string", OUTPUTS[0])]))


def _refuse(message: str) -> MlflowException:
    # An MlflowException reaches a scoring-server client as a 400 with this message and no traceback.
    return MlflowException.invalid_parameter_value(message)


class NetworkModel(mlflow.pyfunc.PythonModel):
    """Wraps a ``DeepNetwork`` file and its preprocessing (``preprocessing.json``)."""

    def load_context(self, context: Any) -> None:
        self.network = DeepNetwork.load(context.artifacts["network"])
        with open(context.artifacts["preprocessing"], encoding="utf-8") as handle:
            self.preprocessing = json.load(handle)

    # model_input is hinted as a DataFrame, a hint MLflow infers no schema from: the logged signature
    # decides what reaches this method, and the rows are checked below against the training features.
    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None):
        """``model_input``: rows are examples ``(m, n_x)`` (see the module docstring).

        Returns ``(m,)`` int64 class indices for classification, ``(m, n_y)`` values for regression,
        or with ``params={"output": "probabilities"}`` a DataFrame ``(m, C)`` named by class.
        """
        output = (params or {}).get("output", OUTPUTS[0])
        if output not in OUTPUTS:
            raise _refuse(f"params.output={output!r} is not allowed; allowed: {list(OUTPUTS)}")
        X = self._network_inputs(model_input)
        regression = self.preprocessing["task"] == "regression"
        if output == "probabilities":
            if regression:
                raise _refuse("params.output='probabilities' needs a classifier; this model predicts values")
            AL = self.network.predict_proba(X)
            # One sigmoid unit holds P(class 1); the two columns make every task's rows sum to 1.
            P = np.vstack([1.0 - AL, AL]) if AL.shape[0] == 1 else AL
            return pd.DataFrame(P.T, columns=self.preprocessing["class_names"])
        if regression:
            return self.network.predict(X).T
        return self.network.predict(X).ravel().astype(np.int64)

    def _network_inputs(self, model_input: Any) -> np.ndarray:
        """Raw rows ``(m, n_x)`` as the network's scaled inputs ``(n_x, m)``."""
        names = self.preprocessing["feature_names"]
        if isinstance(model_input, pd.DataFrame):
            columns = list(model_input.columns)
            if columns != list(range(len(columns))):  # named: matched to the features, in any order
                missing = [name for name in names if name not in columns]
                unexpected = [column for column in columns if column not in names]
                if missing or unexpected:
                    raise _refuse(
                        f"columns must be the {len(names)} training features (or unnamed rows in their order); "
                        f"missing {missing[:5]}, unexpected {unexpected[:5]}"
                    )
                model_input = model_input[names]
            rows = model_input.to_numpy(dtype=np.float64)
        else:
            rows = np.asarray(model_input, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != len(names):
            raise _refuse(f"expected rows of {len(names)} features {names[:5]}..., got shape {rows.shape}")
        if not np.isfinite(rows).all():  # a null in a JSON request arrives as NaN
            raise _refuse("the rows contain missing or infinite values")
        return (rows * np.asarray(self.preprocessing["input_multiplier"]) + self.preprocessing["input_shift"]).T


def example_request(model_uri: str) -> dict[str, Any] | None:
    """The model's logged example request (``serving_input_example.json``), or None when it has none.

    Reads from the tracking store MLflow is pointed at (``tracking.configure``).
    """
    with tempfile.TemporaryDirectory() as folder:
        try:
            path = mlflow.artifacts.download_artifacts(f"{model_uri}/serving_input_example.json", dst_path=folder)
            return json.loads(Path(path).read_text(encoding="utf-8"))
        except (MlflowException, OSError, ValueError):
            return None


def model_requirements() -> list[str]:
    """Pinned requirements of the logged model: the packages the wrapper imports."""
    packages = ("numpy", "pandas", "mlflow", "deepsweep")
    pinned = []
    for package in packages:
        try:
            pinned.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            pinned.append(package)
    return pinned
