"""Reliability, round 2: faults tried from outside, each provoked for real, each followed by the
invariant checker (tests/e2e/helpers/invariants.py) after the command and after one resume.

Kills of the last trial's worker and of one of two workers; kills while a store is being created and
while the summary is published; a full file system under the study storage; two signals within
50 ms; bad input and paths that escape; a secret in an unreachable storage URI. Real processes, real
signals, real SQLite stores and a real tmpfs; nothing of Optuna or MLflow is mocked.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

import optuna
import pytest
from helpers import commands
from helpers.commands import ENV
from helpers.invariants import check
from mlflow import MlflowClient

pytestmark = pytest.mark.slow

TIMEOUT = 300
# Small and quick, with trials long enough to be caught mid-training.
# No study report where it is not what a test is about (its figures cost more CPU than these trials); the tests
# of a killed summary and of the report's folder draw it (REPORTED).
QUICK = ("dataset=iris", "pruner=none", "tracking.log_plots=none", "tracking.report=false")
REPORTED = (*QUICK, "tracking.report=true")
# Trials long enough to be caught running; the summary's retraining of the best (three more seeds, three data
# shares, as long as a trial each) is not what these tests are about.
SLOW_TRIALS = (*QUICK, "train.epochs=400", "train.batch_size=8", "search.confirm_seeds=0", "search.data_curve=[]")
ENVIRONMENT = {**ENV, "OPENBLAS_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def run(
    cwd: Path, module: str, *args: str, timeout: float = TIMEOUT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=env or ENVIRONMENT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start(cwd: Path, module: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return commands.start(module, *args, cwd=cwd, env=env or ENVIRONMENT)


def query(database: Path, sql: str) -> list[tuple]:
    """Read-only SQL on a store that a command may be writing (never creates anything)."""
    if not database.is_file():
        return []
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as connection:
            return connection.execute(sql).fetchall()
    except sqlite3.OperationalError:  # tables not there yet, or a write in progress
        return []


def running_trials(cwd: Path) -> list[tuple[int, str]]:
    """(number, worker) of RUNNING trials that have their run and have trained an epoch."""
    return query(
        cwd / "mlruns" / "optuna.db",
        "SELECT t.number, w.value_json FROM trials t "
        "JOIN trial_user_attributes r ON r.trial_id = t.trial_id AND r.key = 'mlflow_run_id' "
        "JOIN trial_user_attributes w ON w.trial_id = t.trial_id AND w.key = 'worker' "
        "WHERE t.state = 'RUNNING'",
    )


def wait_until(condition, process: subprocess.Popen[str], seconds: float = 120.0, step: float = 0.02):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if process.poll() is not None:
            return condition()
        time.sleep(step)
    return None


def kill_group(process: subprocess.Popen[str], sig: int = signal.SIGKILL) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    process.communicate(timeout=60)


# ----- 1: the last trial's worker dies ---------------------------------------------------------------------
def test_killing_the_last_trials_worker_is_resumed_to_the_full_budget(tmp_path: Path) -> None:
    overrides = (*SLOW_TRIALS, "search.n_trials=2")
    process = start(tmp_path, "pipeline.sweep", *overrides)
    last = wait_until(lambda: [t for t in running_trials(tmp_path) if t[0] == 1], process)
    assert last, "the budget's last trial was never seen running"
    kill_group(process)

    resumed = run(tmp_path, "pipeline.sweep", *overrides)
    assert resumed.returncode == 0, resumed.stderr
    study = check(tmp_path, "iris-sweep", 2, experiment="deepsweep-iris")
    retried = [t for t in study.trials if t.system_attrs.get("failed_trial") == 1]
    assert len(retried) == 1 and retried[0].state.name == "COMPLETE", "the killed last trial ran again"
    again = run(tmp_path, "pipeline.sweep", *overrides)
    assert again.returncode == 0 and "nothing to run" in again.stdout
    assert again.stdout.splitlines()[-1] == "this run: 0 trials; the study: 2 of 2", again.stdout


def test_a_killed_worker_of_two_is_retried_at_once_and_the_sweep_finishes_exactly(tmp_path: Path) -> None:
    overrides = (*SLOW_TRIALS, "search.n_trials=4", "search.workers=2")
    process = start(tmp_path, "pipeline.sweep", *overrides)

    def other_worker() -> tuple[int, int] | None:
        for number, worker in running_trials(tmp_path):
            pid = int(worker.strip('"').rpartition(":")[2])
            if pid != process.pid:
                return number, pid
        return None

    found = wait_until(other_worker, process, seconds=180)
    assert found, "the second worker never ran a trial"
    number, pid = found
    os.kill(pid, signal.SIGKILL)  # one worker process only: the command goes on
    _, stderr = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, stderr
    assert "stopped early" in stderr
    study = check(tmp_path, "iris-sweep", 4, experiment="deepsweep-iris")
    assert [t for t in study.trials if t.system_attrs.get("failed_trial") == number], "its trial was retried"


# ----- 2: a kill while a store is being created --------------------------------------------------------------
def tables_of(database: Path) -> set[str]:
    with sqlite3.connect(database) as connection:
        return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}


# A new store is copied from a migrated template in the user's cache; the first command of an MLflow
# version migrates that template itself. "cold": a cache of its own, empty, so that the kill lands in
# MLflow's migrations (where a kill used to brick the store); "warm": the cache the suite shares.
@pytest.mark.parametrize(
    ("cache", "delay"),
    [
        *(("warm", delay) for delay in (0.0, 0.3, 0.8)),
        # The template's migration takes 1-2.5 s from the cache folder's creation on two cores.
        *(("cold", delay) for delay in (0.1, 0.3, 0.6, 1.0, 1.5)),
    ],
)
def test_a_kill_while_the_stores_are_created_leaves_no_store_or_a_whole_one(
    tmp_path: Path, cache: str, delay: float
) -> None:
    env = {**ENVIRONMENT, "XDG_CACHE_HOME": str(tmp_path / "cache")} if cache == "cold" else ENVIRONMENT
    work, templates = tmp_path / "work", tmp_path / "cache" / "deepsweep"
    process = start(work, "pipeline.train", *QUICK, "train.epochs=2", "tracking.log_model=none", env=env)
    began = lambda: (work / "mlruns").is_dir() or templates.is_dir()  # noqa: E731
    appeared = wait_until(began, process, seconds=60, step=0.005)
    assert appeared or process.returncode == 0
    time.sleep(delay)
    kill_group(process)
    for database in [work / "mlruns" / "mlflow.db", *templates.glob("*.db")]:
        if database.exists():  # a whole store or nothing: never a half-migrated one under its name
            tables = tables_of(database)
            assert "alembic_version" in tables and not [t for t in tables if t.startswith("_alembic_tmp")], database
    after = run(work, "pipeline.train", *QUICK, "train.epochs=2", "tracking.log_model=none", env=env)
    assert after.returncode == 0, after.stderr
    if cache == "cold":
        assert len(list(templates.glob("*.db"))) == 1, "the next command makes the template whole"


def test_a_half_created_store_left_by_an_older_version_is_refused_with_the_way_out(tmp_path: Path) -> None:
    database = tmp_path / "mlruns" / "mlflow.db"
    database.parent.mkdir()
    with sqlite3.connect(database) as connection:  # what a kill inside Alembic's first migration leaves
        connection.execute("CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY, name TEXT)")
        connection.execute("CREATE TABLE _alembic_tmp_runs (run_uuid TEXT)")
    result = run(tmp_path, "pipeline.train", *QUICK)
    assert result.returncode == 1
    assert "half-created" in result.stderr and f"mv {database} {database}.broken" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "mlruns" / "optuna.db").exists()


# ----- 3: a kill while the summary is published ---------------------------------------------------------------
def stored_rows(database: Path, sql: str) -> int:
    """A count from a store another process is writing (0 until the table or the store exists)."""
    rows = query(database, sql)
    return rows[0][0] if rows else 0


# The summary's steps in order, each seen from outside; the kill lands just after the step appears.
PUBLICATION_STEPS = {
    "best trial tagged": "SELECT count(*) FROM tags WHERE key = 'best_run_id'",
    "best model being logged": "SELECT count(*) FROM logged_models",
    "model version registered": "SELECT count(*) FROM model_versions",
    "version tagged on the run": "SELECT count(*) FROM tags WHERE key = 'registered_version'",
}


@pytest.mark.parametrize("step", PUBLICATION_STEPS)
def test_a_kill_during_the_summary_converges_on_the_next_run(tmp_path: Path, step: str) -> None:
    overrides = (*REPORTED, "train.epochs=5", "search.n_trials=3")
    process = start(tmp_path, "pipeline.sweep", *overrides)
    database, query = tmp_path / "mlruns" / "mlflow.db", PUBLICATION_STEPS[step]
    seen = wait_until(lambda: stored_rows(database, query) > 0 and process.poll() is None, process, 180, 0.002)
    kill_group(process)
    assert seen, f"the sweep ended before {step!r} could be seen from outside"
    assert process.returncode == -signal.SIGKILL, "the kill must land while the summary is being published"

    resumed = run(tmp_path, "pipeline.sweep", *overrides)
    assert resumed.returncode == 0, resumed.stderr
    check(tmp_path, "iris-sweep", 3, experiment="deepsweep-iris")
    assert stored_rows(database, "SELECT count(*) FROM model_versions") == 1
    again = run(tmp_path, "pipeline.sweep", *overrides)
    assert again.returncode == 0
    check(tmp_path, "iris-sweep", 3, experiment="deepsweep-iris")
    assert stored_rows(database, "SELECT count(*) FROM model_versions") == 1


def test_what_a_killed_publication_leaves_is_repaired_by_the_next_run(tmp_path: Path) -> None:
    """The states a kill inside publication leaves, each made for real in the stores: the best run
    reopened RUNNING by MLflow's model logging, a logged model stuck PENDING, a version registered
    but not yet tagged on the run, a half-written file of a dead process."""
    overrides = (*QUICK, "train.epochs=5", "search.n_trials=3")
    assert run(tmp_path, "pipeline.sweep", *overrides).returncode == 0
    study = optuna.load_study(study_name="iris-sweep", storage=f"sqlite:///{tmp_path}/mlruns/optuna.db")
    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    best = study.best_trial.user_attrs["mlflow_run_id"]
    experiment = client.get_experiment_by_name("deepsweep-iris").experiment_id
    client.update_run(best, status="RUNNING")
    client.set_tag(best, "pid", "999999999")  # its process is gone
    client.delete_tag(best, "registered_version")
    pending = client.create_logged_model(experiment, name="model", source_run_id=best)
    artifacts = Path(client.get_run(best).info.artifact_uri.removeprefix("file://"))
    (artifacts.parent / ".partial").mkdir(exist_ok=True)
    (artifacts.parent / ".partial" / "999999999-learning_curves.png").write_bytes(b"half")

    resumed = run(tmp_path, "pipeline.sweep", *overrides)
    assert resumed.returncode == 0, resumed.stderr
    check(tmp_path, "iris-sweep", 3, experiment="deepsweep-iris")
    assert str(client.get_logged_model(pending.model_id).status) == "FAILED"
    assert client.get_run(best).data.tags["registered_version"] == "1"


# ----- 4: writes that fail ----------------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path: Path):
    with commands.small_disk(tmp_path / "small-disk", "400k") as folder:
        yield folder


def test_a_full_disk_under_the_study_storage_keeps_optuna_and_mlflow_in_agreement(
    tmp_path: Path, small_disk: Path
) -> None:
    storage = f"tracking.storage=sqlite:///{small_disk}/optuna.db"
    overrides = (*QUICK, "train.epochs=30", "search.n_trials=40", "pruner=median", "pruner.report_every=1", storage)
    first = run(tmp_path, "pipeline.sweep", *overrides)
    assert first.returncode == 1, first.stdout[-2000:]
    assert "a write failed" in first.stderr and "Should not reach" not in first.stderr
    assert "No space left on device" in first.stderr and "exceeding max length" not in first.stderr
    assert "Traceback" not in first.stderr
    filler = small_disk / "filler"
    assert not filler.exists()
    # Space is back (a bigger disk): move the study storage there and resume.
    subprocess.run(["cp", str(small_disk / "optuna.db"), str(tmp_path / "optuna.db")], check=True)
    moved = (*overrides[:-1], f"tracking.storage=sqlite:///{tmp_path}/optuna.db")
    resumed = run(tmp_path, "pipeline.sweep", *moved)
    assert resumed.returncode == 0, resumed.stderr
    study = optuna.load_study(study_name="iris-sweep", storage=f"sqlite:///{tmp_path}/optuna.db")
    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    parent = study.user_attrs["mlflow_parent_run_id"]
    runs = client.search_runs(
        [client.get_experiment_by_name("deepsweep-iris").experiment_id],
        f"tags.`mlflow.parentRunId` = '{parent}'",
        max_results=1000,
    )
    by_trial: dict[str, list] = {}
    for found in runs:
        by_trial.setdefault(found.data.tags["trial_number"], []).append(found)
    from helpers.invariants import expected_status, uses_budget

    for trial in study.trials:
        assert len(by_trial[str(trial.number)]) == 1, trial.number
        assert by_trial[str(trial.number)][0].info.status == expected_status(trial), trial.number
        assert trial.state.name not in ("RUNNING", "WAITING")
    assert sum(uses_budget(t) for t in study.trials) == 40


# ----- 5: two signals in quick succession ------------------------------------------------------------------
def test_sigterm_then_ctrl_c_within_50_ms_shuts_down_cleanly_and_resumes(tmp_path: Path) -> None:
    overrides = (*SLOW_TRIALS, "search.n_trials=3")
    process = start(tmp_path, "pipeline.sweep", *overrides)
    assert wait_until(lambda: running_trials(tmp_path), process), "no trial started"
    time.sleep(0.5)
    os.killpg(process.pid, signal.SIGTERM)
    time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    try:
        _, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        kill_group(process)
        pytest.fail("the sweep hung after two signals")
    assert process.returncode == 143, stderr
    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    experiment = client.get_experiment_by_name("deepsweep-iris").experiment_id
    assert not client.search_runs([experiment], "attributes.status = 'RUNNING'"), "a run was left RUNNING"
    resumed = run(tmp_path, "pipeline.sweep", *overrides)
    assert resumed.returncode == 0, resumed.stderr
    check(tmp_path, "iris-sweep", 3, experiment="deepsweep-iris")


# ----- 6 and 7: bad input and paths that escape, refused before anything exists -----------------------------
def test_a_csv_with_a_repeated_target_column_is_refused(tmp_path: Path) -> None:
    table = tmp_path / "data.csv"
    rows = ["a,b,label,label"] + [f"{i},{i % 3},{i % 2},{i % 2}" for i in range(60)]
    table.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = run(tmp_path, "pipeline.sweep", "dataset=csv", f"dataset.path={table}", "dataset.target=label")
    assert result.returncode == 1 and "['label'] appear more than once" in result.stderr
    assert not (tmp_path / "mlruns").exists()


def test_a_huge_column_name_gives_a_short_message(tmp_path: Path) -> None:
    table = tmp_path / "data.csv"
    name = "x" * 1_000_000
    table.write_text(f"{name},label\n" + "".join(f"{i},{i % 2}\n" for i in range(40)), encoding="utf-8")
    result = run(tmp_path, "pipeline.train", "dataset=csv", f"dataset.path={table}", "dataset.target=nope")
    assert result.returncode == 1
    assert max(map(len, result.stderr.splitlines())) < 3000, "no megabyte-long line"


@pytest.mark.parametrize(
    "override",
    [
        "model.output=linear",
        "tracking.artifact_location=/etc",
        "tracking.artifact_location=file:///etc",
        "study_name=../../../x",
        "study_name=/abs/path",
        "tracking.experiment_name=../escape",
        "tracking.tracking_uri=sqlite:////etc/passwd",
        "tracking.tracking_uri=notaurl",
        "tracking.storage=sqlite:///:memory:",
        "tracking.artifact_location=../../outside",
        "tracking.tracking_uri=sqlite:///../../outside/mlflow.db",
        "tracking.storage=sqlite:///../outside.db",
        "hydra.run.dir=../../outside",
        "~dataset",
    ],
)
def test_the_sweep_refuses_before_any_store_or_file_exists(tmp_path: Path, override: str) -> None:
    result = run(tmp_path, "pipeline.sweep", *QUICK, override)
    assert result.returncode == 1, result.stdout
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert not (tmp_path / "mlruns").exists(), "nothing is created for a refused command"
    assert not Path("/etc/passwd.init.lock").exists()


@pytest.mark.parametrize("kind", ["empty", "not-sqlite", "truncated"])
def test_a_damaged_study_storage_is_refused_with_a_clear_message(tmp_path: Path, kind: str) -> None:
    overrides = (*QUICK, "train.epochs=2", "search.n_trials=2")
    if kind == "truncated":
        assert run(tmp_path, "pipeline.sweep", *overrides).returncode == 0
        database = tmp_path / "mlruns" / "optuna.db"
        with open(database, "r+b") as handle:
            handle.truncate(database.stat().st_size // 2)
    else:
        (tmp_path / "mlruns").mkdir()
        database = tmp_path / "mlruns" / "optuna.db"
        database.write_bytes(b"" if kind == "empty" else b"this is not a database" * 100)
    before = database.read_bytes()
    result = run(tmp_path, "pipeline.sweep", *overrides)
    assert result.returncode == 1 and result.stderr.startswith("error: tracking.storage:"), result.stderr
    assert "Traceback" not in result.stderr
    assert database.read_bytes() == before, "the damaged file is left as it was"


def test_a_read_only_store_is_refused_and_rerun_says_why(tmp_path: Path) -> None:
    overrides = (*QUICK, "train.epochs=2")
    trained = run(tmp_path, "pipeline.train", *overrides)
    assert trained.returncode == 0, trained.stderr
    run_id = trained.stdout.split()[1].rstrip(":")
    mlruns = tmp_path / "mlruns"
    # A read-only bind mount: refused even to root, as a read-only share or snapshot would be.
    mounted = subprocess.run(["mount", "--bind", str(mlruns), str(mlruns)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {mounted.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(mlruns)], check=True, capture_output=True)
        refused = run(tmp_path, "pipeline.train", *overrides)
        rerun = run(tmp_path, "pipeline.rerun", run_id)
    finally:
        subprocess.run(["umount", "-l", str(mlruns)], check=False)
    for result in (refused, rerun):
        assert result.returncode != 0 and "read-only" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_a_read_only_report_folder_costs_the_local_copy_only(tmp_path: Path) -> None:
    """The report folder cannot be written (a read-only bind mount): the sweep succeeds, the report is in the
    parent run, the line says where and why the file is missing, and no partial file is left."""
    reports = tmp_path / "mlruns" / "reports"
    reports.mkdir(parents=True)
    mounted = subprocess.run(["mount", "--bind", str(reports), str(reports)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {mounted.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(reports)], check=True, capture_output=True)
        result = run(tmp_path, "pipeline.sweep", *REPORTED, "train.epochs=3", "search.n_trials=3")
        left = list(reports.iterdir())
    finally:
        subprocess.run(["umount", "-l", str(reports)], check=False)
    assert result.returncode == 0, result.stderr
    assert "study report: report.html of the parent run (" in result.stdout and "Read-only" in result.stdout
    assert left == [], "no partial file"
    study = check(tmp_path, "iris-sweep", 3, experiment="deepsweep-iris")
    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    parent = study.user_attrs["mlflow_parent_run_id"]
    assert "report.html" in {a.path for a in client.list_artifacts(parent)}


# ----- 8: secrets ---------------------------------------------------------------------------------------------
def test_an_unreachable_storage_never_prints_its_password(tmp_path: Path) -> None:
    secret = "s3cr3t-Pa55word"
    result = run(tmp_path, "pipeline.sweep", *QUICK, f"tracking.storage=postgresql://deepsweep:{secret}@127.0.0.1:9/db")
    assert result.returncode != 0
    assert secret not in result.stdout + result.stderr
    assert "deepsweep:***@127.0.0.1" in result.stdout + result.stderr
    for file in tmp_path.rglob("*"):
        if file.is_file():
            assert secret.encode() not in file.read_bytes(), file


# ----- a sweep in which nothing completes --------------------------------------------------------------------
def test_a_sweep_in_which_every_trial_fails_exits_non_zero_saying_why(tmp_path: Path) -> None:
    diverging = ("train.learning_rate=1e5", "~search.space.learning_rate", "train.optimizer=gd")
    result = run(tmp_path, "pipeline.sweep", *QUICK, "train.epochs=30", "search.n_trials=2", *diverging)
    assert result.returncode == 1, result.stdout
    assert "no trial completed" in result.stderr
    check(tmp_path, "iris-sweep", 2, experiment="deepsweep-iris", registered=False)
