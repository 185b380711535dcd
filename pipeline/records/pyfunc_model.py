"""The trained network as an MLflow pyfunc model: raw feature rows in, predictions out.

``mlflow.pyfunc.load_model(uri).predict(rows)`` takes raw, unscaled features, one example per row,
applies the training split's scaling, and returns class names for classification or values for
regression. Tables (up to 256 features) are a pandas DataFrame whose columns are named like the
training features, in any order (the logged signature checks the names); wider inputs such as
images are an array ``(m, n_x)``.
"""

import json
from importlib import metadata
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd

from models import DeepNetwork

# Logged as the model's code, so loading needs no unpickling (MLflow's "models from code").
PYFUNC_ENTRY = str(Path(__file__).with_name("pyfunc_entry.py"))


class NetworkModel(mlflow.pyfunc.PythonModel):
    """Wraps a ``DeepNetwork`` file and its preprocessing (``preprocessing.json``)."""

    def load_context(self, context):
        self.network = DeepNetwork.load(context.artifacts["network"])
        with open(context.artifacts["preprocessing"], encoding="utf-8") as handle:
            self.preprocessing = json.load(handle)

    # model_input is hinted as a DataFrame, a hint MLflow infers no schema from: rows of any width
    # reach this method and are checked below against the features the network was trained on.
    def predict(self, context, model_input: pd.DataFrame, params=None):
        """``model_input``: a DataFrame or array, rows are examples ``(m, n_x)``.

        Returns ``(m,)`` class names for classification, ``(m, n_y)`` values for regression.
        """
        names = self.preprocessing["feature_names"]
        if isinstance(model_input, pd.DataFrame):
            missing = [name for name in names if name not in model_input.columns]
            rows = model_input[names] if not missing and len(names) == model_input.shape[1] else model_input
            rows = rows.to_numpy(dtype=np.float64)
        else:
            rows = np.asarray(model_input, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != len(names):
            raise ValueError(f"expected rows of {len(names)} features {names[:5]}..., got shape {rows.shape}")
        X = (rows * np.asarray(self.preprocessing["input_multiplier"]) + self.preprocessing["input_shift"]).T
        if self.preprocessing["task"] == "regression":
            return self.network.predict(X).T
        labels = self.network.predict(X).ravel()
        return np.asarray(self.preprocessing["class_names"])[labels]


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
