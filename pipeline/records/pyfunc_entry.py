"""The file MLflow logs as the pyfunc model's code ("models from code": nothing is pickled)."""

from mlflow.models import set_model

from pipeline.records.pyfunc_model import NetworkModel

set_model(NetworkModel())
