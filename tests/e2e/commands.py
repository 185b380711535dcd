"""Running the project's commands as a user does: real subprocesses, a clean environment."""

import os
import subprocess
import sys
from pathlib import Path

# No tracking URI leaking in from the test process, and Hydra's short error messages.
ENV = {key: value for key, value in os.environ.items() if key not in ("MLFLOW_TRACKING_URI", "HYDRA_FULL_ERROR")}


def start(module: str, *args: str, cwd: Path) -> subprocess.Popen[str]:
    """Start ``python -m module args...`` in ``cwd`` (created if needed), in a process group of its
    own so that a test's signal reaches the command and its workers only."""
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
