"""deepsweep's pipeline: the commands (``python -m pipeline.sweep`` and the others) and the services beneath them.

MLflow's usage telemetry is off unless the user turns it on (``MLFLOW_DISABLE_TELEMETRY=false``). Besides sending
usage data from a machine that records experiments, its background thread removes an environment variable
(``_MLFLOW_TELEMETRY_SESSION_ID``) while other threads read the environment: a sweep talking to a tracking server
crashed with ``KeyError: '_MLFLOW_TELEMETRY_SESSION_ID'`` from ``urllib``'s proxy lookup (once, on a loaded machine).
Set here, before any module imports MLflow, so every command and every process it starts inherits it.
"""

import os

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
