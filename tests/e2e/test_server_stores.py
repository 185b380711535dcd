"""Several machines' setup, on this one: an `mlflow server` for tracking and PostgreSQL for the study.

The server is started by a fixture on 127.0.0.1; PostgreSQL is the one named by the environment
variable DEEPSWEEP_TEST_POSTGRES_URL (``.ci/run`` installs and starts it). Without that variable
these tests are skipped with that reason.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import optuna
import pytest
from mlflow import MlflowClient
from sklearn.datasets import load_iris

pytestmark = pytest.mark.slow

POSTGRES_URL = os.environ.get("DEEPSWEEP_TEST_POSTGRES_URL")
ENV = {key: value for key, value in os.environ.items() if key not in ("MLFLOW_TRACKING_URI", "HYDRA_FULL_ERROR")}
# The password in the test database's URL, which nothing deepsweep logs or prints may contain.
PASSWORD = POSTGRES_URL.split("://", 1)[1].split("@", 1)[0].partition(":")[2] if POSTGRES_URL else ""
needs_postgres = pytest.mark.skipif(
    POSTGRES_URL is None, reason="DEEPSWEEP_TEST_POSTGRES_URL is not set (.ci/run starts a local PostgreSQL)"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A real ``mlflow server`` on 127.0.0.1 with its own SQLite store and artifact folder."""
    folder = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", f"sqlite:///{folder}/server.db",
        "--artifacts-destination", str(folder / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    log = open(folder / "server.log", "w")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(command, env=ENV, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        if server.poll() is not None or time.time() > deadline:
            os.killpg(server.pid, signal.SIGKILL)
            pytest.fail(f"mlflow server did not start: {(folder / 'server.log').read_text()[-3000:]}")
        time.sleep(0.5)
    yield url, folder
    os.killpg(server.pid, signal.SIGTERM)  # the server, its web workers and its job consumers
    server.wait(timeout=60)
    log.close()


def _sweep(*overrides: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "pipeline.sweep", *overrides],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=900,
    )


@needs_postgres
def test_two_workers_on_postgres_and_an_mlflow_server_record_exactly_the_budget_and_no_password(
    mlflow_server: tuple[str, Path], tmp_path: Path
) -> None:
    url, server_folder = mlflow_server
    study_name = f"iris-{uuid.uuid4().hex[:8]}"
    password = PASSWORD
    overrides = (
        "tracking=server",
        f"tracking.tracking_uri={url}",
        f"tracking.storage={POSTGRES_URL}",
        f"study_name={study_name}",
        "dataset=iris",
        "train.epochs=4",
        "search.n_trials=6",
        "search.workers=2",
    )
    result = _sweep(*overrides, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert not (tmp_path / "mlruns").exists(), "server stores must not create a local store"

    trials = optuna.load_study(study_name=study_name, storage=POSTGRES_URL).trials
    assert len(trials) == 6 and {t.state.name for t in trials} <= {"COMPLETE", "PRUNED"}
    client = MlflowClient(url)
    experiment = client.get_experiment_by_name("deepsweep-iris")
    recorded = client.search_runs([experiment.experiment_id], f"tags.study_name = '{study_name}'")
    trial_runs = {r.info.run_id for r in recorded if r.data.tags["kind"] == "trial"}
    assert trial_runs == {t.user_attrs["mlflow_run_id"] for t in trials}
    assert all(r.info.status == "FINISHED" for r in recorded)
    config = Path(client.download_artifacts(next(iter(trial_runs)), "config.yaml", str(tmp_path)))
    assert "***" in config.read_text() and password not in config.read_text()

    best_run = next(r for r in recorded if r.data.tags["kind"] == "study").data.tags["best_run_id"]
    mlflow.set_tracking_uri(url)
    model = mlflow.pyfunc.load_model(client.get_run(best_run).data.tags["model_uri"])
    iris = load_iris(as_frame=True)
    predictions = model.predict(iris.data)  # raw rows, columns named as scikit-learn names them
    assert (np.asarray(predictions).reshape(-1) == iris.target).mean() > 0.5  # class indices

    if password:
        assert password not in result.stdout + result.stderr
        for path in server_folder.rglob("*"):
            if path.is_file():
                assert password.encode() not in path.read_bytes(), f"the password is stored in {path}"


@needs_postgres
def test_a_changed_study_on_postgres_is_refused_with_the_password_masked(
    mlflow_server: tuple[str, Path], tmp_path: Path
) -> None:
    url, _ = mlflow_server
    study_name = f"iris-{uuid.uuid4().hex[:8]}"
    base = ("tracking=server", f"tracking.tracking_uri={url}", f"tracking.storage={POSTGRES_URL}")
    base += (f"study_name={study_name}", "dataset=iris", "train.epochs=2", "search.n_trials=1")
    assert _sweep(*base, cwd=tmp_path).returncode == 0
    refused = _sweep(*base, "train.epochs=3", cwd=tmp_path)
    assert refused.returncode == 1
    assert "created with other settings" in refused.stderr and "train.epochs: 2 -> 3" in refused.stderr
    password = PASSWORD
    if password:
        assert password not in refused.stderr and "***" in refused.stderr
