"""Running the project's commands as a user does: real subprocesses, a clean environment."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

# No tracking URI leaking in from the test process, and Hydra's short error messages.
ENV = {key: value for key, value in os.environ.items() if key not in ("MLFLOW_TRACKING_URI", "HYDRA_FULL_ERROR")}


def start(module: str, *args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start ``python -m module args...`` in ``cwd`` (created if needed), in a process group of its
    own so that a test's signal reaches the command and its workers only.

    The command starts with Ctrl-C's default handling, as from a terminal, even when the suite itself
    was started in the background (a shell then makes its jobs ignore SIGINT, and so their children).
    """
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=ENV if env is None else env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_as_from_a_terminal,
    )


def _as_from_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextmanager
def small_disk(folder: Path, size: str) -> Iterator[Path]:
    """A real tmpfs of ``size`` (``400k``, ``4m``) mounted on ``folder`` for the block; the test is
    skipped where mounting is not allowed (it needs root)."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
