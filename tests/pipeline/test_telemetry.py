"""MLflow's usage telemetry is off unless the user turns it on (``pipeline/__init__.py`` says why: its thread
removes an environment variable while the sweep's threads read the environment, which crashed a sweep)."""

import os
import subprocess
import sys

CHECK = (
    "import pipeline, os, mlflow\n"
    "from mlflow.telemetry.client import get_telemetry_client\n"
    "print(os.environ['MLFLOW_DISABLE_TELEMETRY'], get_telemetry_client() is None)"
)


def _run(**env: str) -> list[str]:
    base = {key: value for key, value in os.environ.items() if key not in ("MLFLOW_DISABLE_TELEMETRY", "CI")}
    command = [sys.executable, "-c", CHECK]
    done = subprocess.run(command, env={**base, **env}, capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_importing_the_pipeline_turns_mlflow_telemetry_off_before_mlflow_starts_it() -> None:
    assert _run() == ["true", "True"]  # no telemetry client, hence no thread that edits the environment


def test_a_users_own_choice_is_kept() -> None:
    assert _run(MLFLOW_DISABLE_TELEMETRY="false")[0] == "false"
