"""A secured tracking server: ``mlflow server --app-name basic-auth`` on 127.0.0.1, as docs/MACHINES.md
sets it up for several machines, with a PostgreSQL study storage.

deepsweep gets its credentials the way MLflow's own client does, from MLFLOW_TRACKING_USERNAME and
MLFLOW_TRACKING_PASSWORD, never from a config value. What the tests prove, with the real server:
- with the credentials, a sweep (two workers, best model published and registered) is recorded;
- without them, or with a wrong password, the command stops at once with one clear line, no
  traceback and no retries, and records nothing, neither a run nor a study;
- the tracking password, the server's admin password and the PostgreSQL password appear in no
  parameter, tag, metric name, artifact, console line or stored file: a byte scan of the server's
  folder (its backend store, user database, artifacts and log), of the sweep's working directory,
  HOME and TMPDIR, and of every row of the study database. The user name, which is no secret, is
  recorded only where MLflow records who did what, never by deepsweep.
"""

import importlib.util
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from helpers.servers import (
    ENV,
    POSTGRES_PASSWORD,
    Credentials,
    MlflowServer,
    database_text,
    free_port,
    mlflow_server,
    needs_postgres,
    postgres_database,
    scan_for,
)
from mlflow import MlflowClient
from sqlalchemy.engine import make_url

from pipeline.errors import ConfigError
from pipeline.records.reachability import check_reachable

pytestmark = [
    pytest.mark.slow,
    needs_postgres,
    pytest.mark.skipif(
        importlib.util.find_spec("flask_wtf") is None,
        reason='mlflow server --app-name basic-auth needs Flask-WTF: pip install "mlflow[auth]>=3.17,<3.18"',
    ),
]

# MLflow's basic-auth checks artifact permissions by the experiment id that starts an artifact path,
# so experiments take the server's own layout (mlflow-artifacts:/<experiment id>), not a fixed folder.
ARTIFACTS = "tracking.artifact_location="
SWEEP = (
    ARTIFACTS,
    "dataset=iris",
    "train.epochs=4",
    "search.n_trials=3",
    "search.workers=2",
    "tracking.log_plots=none",
)
COMMAND_SECONDS = 600


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MlflowServer, str, Credentials]]:
    """An authenticated mlflow server, a study database, and a user of the server for deepsweep."""
    folder = tmp_path_factory.mktemp("secured")
    with (
        postgres_database("deepsweep_auth_study") as storage,
        mlflow_server(folder / "server", auth=True) as server,
    ):
        user = server.add_user(f"sweeper-{uuid.uuid4().hex[:6]}", f"pw-{uuid.uuid4().hex}")
        yield server, storage, user


def sweep(
    cwd: Path, server: MlflowServer, storage: str, study_name: str, user: Credentials | None
) -> tuple[subprocess.CompletedProcess[str], float]:
    for sub in ("work", "home", "tmp"):
        (cwd / sub).mkdir(parents=True, exist_ok=True)
    env = {**ENV, "HOME": str(cwd / "home"), "TMPDIR": str(cwd / "tmp"), "PYTHONUNBUFFERED": "1"}
    if user is not None:
        env.update(MLFLOW_TRACKING_USERNAME=user.username, MLFLOW_TRACKING_PASSWORD=user.password)
    command = [
        sys.executable, "-m", "pipeline.sweep", "tracking=server", f"tracking.tracking_uri={server.url}",
        f"tracking.storage={storage}", f"study_name={study_name}", *SWEEP,
    ]  # fmt: skip
    started = time.monotonic()
    result = subprocess.run(command, cwd=cwd / "work", env=env, capture_output=True, text=True, timeout=COMMAND_SECONDS)
    return result, time.monotonic() - started


def admin_client(server: MlflowServer, monkeypatch: pytest.MonkeyPatch) -> MlflowClient:
    assert server.admin is not None
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", server.admin.username)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", server.admin.password)
    return MlflowClient(server.url)


def all_runs(client: MlflowClient) -> list:
    experiments = [experiment.experiment_id for experiment in client.search_experiments()]
    return client.search_runs(experiments, max_results=10_000) if experiments else []


def test_with_credentials_the_sweep_is_recorded_and_no_secret_is_stored_anywhere(
    secured: tuple[MlflowServer, str, Credentials], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, storage, user = secured
    study_name = f"iris-auth-{uuid.uuid4().hex[:6]}"
    result, _ = sweep(tmp_path, server, storage, study_name, user)
    assert result.returncode == 0, result.stderr[-3000:]

    trials = optuna.load_study(study_name=study_name, storage=storage).trials
    assert len(trials) == 3 and all(t.state.name in ("COMPLETE", "PRUNED") for t in trials)
    client = admin_client(server, monkeypatch)
    runs = [run for run in all_runs(client) if run.data.tags.get("study_name") == study_name]
    assert {run.info.run_id for run in runs if run.data.tags["kind"] == "trial"} == {
        t.user_attrs["mlflow_run_id"] for t in trials
    }
    assert all(run.info.status == "FINISHED" for run in runs) and len(runs) == 4
    parent = next(run for run in runs if run.data.tags["kind"] == "study")
    best = client.get_run(parent.data.tags["best_run_id"])
    assert best.data.tags.get("registered_version"), best.data.tags  # the best model, registered as the user

    # Everything the runs hold, as MLflow hands it out: parameters, tags, metric names, and each artifact.
    records = json.dumps([run.to_dictionary() for run in runs])
    artifacts = tmp_path / "downloaded"
    for run in runs:
        client.download_artifacts(run.info.run_id, "", str(artifacts / run.info.run_id))
    assert any(artifacts.rglob("config.yaml")) and any((server.folder / "artifacts").rglob("MLmodel"))
    secrets = {
        "the tracking password": user.password,
        "the server's admin password": server.admin.password,
        "the PostgreSQL password": POSTGRES_PASSWORD,
    }
    found = scan_for(
        secrets,
        texts={
            "the console": result.stdout + result.stderr,
            "the runs' parameters, tags and metrics": records,
            "the study database": database_text(storage),
        },
        folders=(server.folder, tmp_path),
    )
    assert not found, found
    # The user name: recorded by MLflow as the runs' owner at most, never by deepsweep.
    owner_fields = {"user_id", "mlflow.user"}
    named = [
        f"{run.info.run_id}: {key}"
        for run in runs
        for key, value in {**run.data.params, **run.data.tags}.items()
        if user.username in str(value) and key not in owner_fields
    ]
    assert not named, named
    assert not scan_for({"the user name": user.username}, texts={"the console": result.stdout + result.stderr})
    assert not scan_for({"the user name": user.username}, folders=(artifacts, tmp_path / "work"))


@pytest.mark.parametrize(
    ("who", "message"),
    [
        (None, "needs credentials: set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"),
        ("wrong password", "refused the credentials in MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD (401)"),
    ],
)
def test_without_valid_credentials_the_sweep_stops_at_once_with_one_clear_line_and_records_nothing(
    secured: tuple[MlflowServer, str, Credentials],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    who: str | None,
    message: str,
) -> None:
    server, storage, user = secured
    client = admin_client(server, monkeypatch)
    runs_before = {run.info.run_id for run in all_runs(client)}
    experiments_before = {experiment.name for experiment in client.search_experiments()}
    study_name = f"iris-refused-{uuid.uuid4().hex[:6]}"
    wrong = Credentials(user.username, "not-" + user.password) if who else None
    result, seconds = sweep(tmp_path, server, storage, study_name, wrong)

    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert errors[0].startswith(f"error: the tracking server {server.url} "), errors
    assert "Traceback" not in result.stderr and "Retrying" not in result.stderr, result.stderr
    assert seconds < 60, f"took {seconds:.0f} s: it should stop at the pre-flight, before any retry"
    assert user.password not in result.stdout + result.stderr
    assert study_name not in [s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)]
    assert {run.info.run_id for run in all_runs(client)} == runs_before
    assert {experiment.name for experiment in client.search_experiments()} == experiments_before
    assert not any((tmp_path / "work").iterdir()), "the refused command left files behind"
    print(f"REFUSED after {seconds:.1f} s: {errors[0]}")


def test_the_preflight_check_names_each_unusable_server_in_one_line_without_a_password(
    secured: tuple[MlflowServer, str, Credentials], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``check_reachable`` as the pre-flight calls it, for the answers the commands above do not meet."""
    server, storage, user = secured
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", user.username)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", user.password)
    check_reachable(server.url, storage)  # both answer: nothing to say

    url = make_url(storage)
    wrong_password = url.set(password="not-the-password").render_as_string(hide_password=False)
    missing_database = url.set(database="no_such_database").render_as_string(hide_password=False)
    nothing_there = f"http://127.0.0.1:{free_port()}"
    cases = {
        wrong_password: f"refused the password of user {url.username!r}",
        missing_database: "the database 'no_such_database' does not exist on 127.0.0.1:",
    }
    for uri, expected in cases.items():
        with pytest.raises(ConfigError) as refused:
            check_reachable(server.url, uri)
        message = str(refused.value)
        assert expected in message and "\n" not in message, message
        assert "not-the-password" not in message and (not url.password or url.password not in message)
        assert "***@127.0.0.1" in message, message
    with pytest.raises(ConfigError) as refused:  # both at once: one line naming both
        check_reachable(nothing_there, wrong_password, timeout=2)
    assert str(refused.value).startswith(f"cannot reach the tracking server {nothing_there} (connection refused")
    assert "refused the password" in str(refused.value)
    check_reachable("sqlite:///mlruns/mlflow.db", "sqlite:///mlruns/optuna.db")  # local stores: not asked
