"""A store server restarted in the middle of a sweep: the study's PostgreSQL, and the ``mlflow server``.

Each test starts a real sweep, waits until trials have finished (an event read from the stores, not a fixed
sleep), restarts the server for real, and lets the sweep run on. The promise (docs/RELIABILITY.md row 32):
the sweep ends either with success or with one ``error:`` line and no traceback; the same command then reaches
the exact budget, and the invariants hold (one run per trial mirroring its state, nothing left running).

PostgreSQL here is a throwaway cluster of this test's own (``initdb`` into the test's folder, its own port on
127.0.0.1), restarted with ``pg_ctl restart -m immediate``, the crash-like restart ``pg_ctlcluster ... restart
-m immediate`` does: restarting the shared test database would break the other tests running beside it. The
test is skipped where PostgreSQL's programs are not installed (``.ci/run`` installs them).
"""

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import optuna
import pytest
from helpers.invariants import check_records
from helpers.servers import ENV, free_port, start_mlflow_server
from mlflow import MlflowClient

from pipeline.records import outage
from pipeline.search import study as studies

pytestmark = pytest.mark.slow

PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None)
needs_pg_programs = pytest.mark.skipif(
    PG_BIN is None or not (PG_BIN / "initdb").exists(), reason="PostgreSQL's programs are not installed"
)
SWEEP = ("dataset=digits", "train.epochs=20", "search.confirm_seeds=0", "search.data_curve=[]", "search.workers=2",
         "tracking.report=false")  # fmt: skip
N_TRIALS = 8
BOUND = 600  # seconds a sweep may take on a loaded two-core machine


def as_postgres(*command: str) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL program as the ``postgres`` user when this is root (the server refuses root)."""
    line = " ".join(command)
    wrapped = ["su", "postgres", "-c", line] if os.geteuid() == 0 else ["sh", "-c", line]
    return subprocess.run(wrapped, capture_output=True, text=True, timeout=120, check=True)


@pytest.fixture
def postgres() -> Iterator[tuple[str, Callable[..., None]]]:
    """A cluster of this test's own on 127.0.0.1; yields its URL and a function that restarts it."""
    # Not under tmp_path: pytest's folders are private to root, and the server runs as postgres.
    folder = Path(tempfile.mkdtemp(prefix="deepsweep-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    data, port = folder / "data", free_port()
    options = f"'-p {port} -k {folder} -c listen_addresses=127.0.0.1'"
    as_postgres(f"{PG_BIN}/initdb", "-D", str(data), "-A", "trust", "-U", "postgres", ">/dev/null")
    as_postgres(f"{PG_BIN}/pg_ctl", "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start")
    as_postgres(f"{PG_BIN}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "study")

    def restart(action: str = "restart") -> None:
        """``pg_ctl restart`` (or ``stop`` or ``start``, as ``action`` says), crash-like and waited for."""
        as_postgres(f"{PG_BIN}/pg_ctl", "-D", str(data), "-o", options, "-l", str(folder / "log"), "-m", "immediate",
                    "-w", action)  # fmt: skip

    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/study", restart
    finally:
        subprocess.run(
            ["su", "postgres", "-c", f"{PG_BIN}/pg_ctl -D {data} -m immediate stop"]
            if os.geteuid() == 0
            else [f"{PG_BIN}/pg_ctl", "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(folder, ignore_errors=True)


def start_sweep(cwd: Path, *overrides: str) -> subprocess.Popen[str]:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.sweep", *SWEEP, f"search.n_trials={N_TRIALS}", *overrides],
        cwd=cwd,
        env={**ENV, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for_finished_trials(storage: str, count: int, sweep: subprocess.Popen[str]) -> None:
    """Until ``count`` trials of the study have finished (read from the storage), bounded in time."""
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        assert sweep.poll() is None, f"the sweep ended before the restart: {sweep.communicate()}"
        try:
            trials = optuna.load_study(study_name="digits-sweep", storage=storage).trials
            if sum(t.state.is_finished() for t in trials) >= count:
                return
        except (KeyError, ValueError):  # the study is not created yet
            pass
        time.sleep(0.2)
    pytest.fail(f"fewer than {count} trials finished within {BOUND} s")


def ended_cleanly(sweep: subprocess.Popen[str]) -> int:
    """Success, or one ``error:`` line and no traceback; returns the exit code."""
    _, err = sweep.communicate(timeout=BOUND)
    assert "Traceback" not in err, err[-4000:]
    if sweep.returncode != 0:
        assert sweep.returncode == 1 and len([line for line in err.splitlines() if line.startswith("error:")]) == 1, (
            sweep.returncode,
            err[-3000:],
        )
        assert "same command" in err
    return sweep.returncode


def resumed_to_the_budget(cwd: Path, storage: str, client: MlflowClient, *overrides: str, ended: int) -> None:
    """The same command again when the first one stopped (``ended`` its exit code); then the invariants."""
    if ended != 0:
        again = start_sweep(cwd, *overrides)
        _, err = again.communicate(timeout=BOUND)
        assert again.returncode == 0, err[-3000:]
    study = optuna.load_study(study_name="digits-sweep", storage=storage)
    check_records(study, client, N_TRIALS, experiment="deepsweep-digits")


@needs_pg_programs
def test_postgres_restarted_mid_sweep_is_waited_out_and_the_same_command_reaches_the_budget(
    tmp_path: Path, postgres: tuple[str, Callable[..., None]]
) -> None:
    url, restart = postgres
    overrides = (f"tracking.storage={url}",)
    sweep = start_sweep(tmp_path / "work", *overrides)
    try:
        wait_for_finished_trials(url, 3, sweep)
        restart()
        ended = ended_cleanly(sweep)
    finally:
        if sweep.poll() is None:
            sweep.kill()
    client = MlflowClient(f"sqlite:///{tmp_path / 'work'}/mlruns/mlflow.db")
    resumed_to_the_budget(tmp_path / "work", url, client, *overrides, ended=ended)


@needs_pg_programs
def test_opening_the_study_storage_while_its_server_is_down_waits_for_it(
    postgres: tuple[str, Callable[..., None]],
) -> None:
    """A worker process that connects during a restart (found in CI: Optuna's constructor reads the schema)."""
    url, restart = postgres
    restart("stop")
    opened: list[object] = []
    opener = threading.Thread(target=lambda: opened.append(studies.storage(url)), daemon=True)
    opener.start()
    deadline = time.monotonic() + BOUND
    while outage._Outage.since is None and opener.is_alive():  # the event: the storage said it waits
        assert time.monotonic() < deadline, "the storage never said it waits for the server"
        time.sleep(0.05)
    assert opener.is_alive(), "opening the storage gave up instead of waiting for the server"
    restart("start")
    opener.join(timeout=BOUND)
    assert opened, "opening the storage did not return once the server was back"
    assert opened[0].get_all_studies() == []
    assert outage._Outage.since is None and outage._Outage.gave_up is None


def test_an_mlflow_server_restarted_mid_sweep_is_waited_out_and_the_same_command_reaches_the_budget(
    tmp_path: Path,
) -> None:
    server = start_mlflow_server(tmp_path / "server")
    storage = f"sqlite:///{tmp_path / 'work'}/optuna.db"
    overrides = ("tracking=server", f"tracking.tracking_uri={server.url}", f"tracking.storage={storage}")
    sweep = start_sweep(tmp_path / "work", *overrides)
    try:
        wait_for_finished_trials(storage, 3, sweep)
        server.stop()
        server = start_mlflow_server(tmp_path / "server", port=int(server.url.rsplit(":", 1)[1]))
        ended = ended_cleanly(sweep)
        resumed_to_the_budget(tmp_path / "work", storage, MlflowClient(server.url), *overrides, ended=ended)
    finally:
        if sweep.poll() is None:
            sweep.kill()
        server.stop()
