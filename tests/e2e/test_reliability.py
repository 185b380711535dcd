"""Reliability: faults, kills and bad input never lose or corrupt a record (docs/RELIABILITY.md).

Every fault is provoked for real: real signals to real processes, real SQLite stores locked by
another process, a real full file system (tmpfs), real bad files. Nothing of Optuna or MLflow is
mocked; what was recorded is read back through their APIs.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import h5py
import mlflow
import numpy as np
import optuna
import pytest
from helpers import invariants
from helpers.commands import ENV, start
from helpers.commands import small_disk as small_disk_mount
from mlflow import MlflowClient

from models import ModelFileError
from pipeline.records.locks import StoreLock
from pipeline.records.tracking import client as tracking_client

# No study report where it is not what a test is about: its figures cost more CPU than these trials.
QUICK = ("dataset=iris", "train.epochs=3", "pruner=none", "tracking.report=false")
TIMEOUT = 600


def run(module: str, *args: str, cwd: Path, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout
    )


def study(cwd: Path, name: str) -> optuna.Study:
    """The study; the store-creation lock keeps this from racing a command creating the store."""
    storage = f"sqlite:///{cwd}/mlruns/optuna.db"
    with StoreLock(storage, "init"):
        return optuna.load_study(study_name=name, storage=storage)


def runs(cwd: Path, experiment: str) -> list:
    """The experiment's runs; the store-creation lock keeps this from racing a command creating the store."""
    store = tracking_client(f"sqlite:///{cwd}/mlruns/mlflow.db")
    found = store.get_experiment_by_name(experiment)
    return [] if found is None else store.search_runs([found.experiment_id], max_results=10_000)


def nothing_created(cwd: Path) -> bool:
    """No study and no run exist under ``cwd`` (stores absent, or present and empty)."""
    optuna_db, mlflow_db = cwd / "mlruns" / "optuna.db", cwd / "mlruns" / "mlflow.db"
    studies = optuna.get_all_study_summaries(f"sqlite:///{optuna_db}") if optuna_db.exists() else []
    if not mlflow_db.exists():
        return not studies
    client = MlflowClient(f"sqlite:///{mlflow_db}")
    experiments = [e.experiment_id for e in client.search_experiments()]
    return not studies and not (experiments and client.search_runs(experiments))


def wait_for_running_trial(cwd: Path, name: str, process: subprocess.Popen[str], seconds: float = 120) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            trials = study(cwd, name).get_trials(states=(optuna.trial.TrialState.RUNNING,))
            if trials and "mlflow_run_id" in trials[0].user_attrs:
                time.sleep(1.0)  # well inside training
                return
        except (KeyError, Exception):  # the study does not exist yet
            pass
        time.sleep(0.3)
    pytest.fail("no trial started in time")


# ----- 1 and 2: numerical faults and exceptions inside training ------------------------------------------
@pytest.mark.slow
def test_memory_error_fails_the_trial_with_traceback_and_the_sweep_goes_on(tmp_path: Path) -> None:
    """A width of 10^9 units cannot be allocated: MemoryError fails that trial, not the sweep."""
    result = run(
        "pipeline.sweep",
        *QUICK,
        "search.n_trials=2",
        "model.hidden_units=[8]",
        "~search.space.learning_rate",
        "~search.space.hidden_activation",
        "~search.space.depth",
        "search.space.hidden_units.type=categorical",
        "+search.space.hidden_units.choices=[16,1000000000]",
        "sampler=grid",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    trials = study(tmp_path, "iris-sweep").trials
    failed = [t for t in trials if t.state == optuna.trial.TrialState.FAIL]
    assert failed and all("MemoryError" in t.user_attrs["failure_reason"] for t in failed)
    assert any(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    for trial in failed:
        run_id = trial.user_attrs["mlflow_run_id"]
        assert client.get_run(run_id).info.status == "FAILED"
        assert "traceback.txt" in [a.path for a in client.list_artifacts(run_id)]
    assert "failed, the sweep goes on" in result.stderr


@pytest.mark.slow
def test_a_bug_in_training_stops_the_sweep_and_closes_every_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A programming error (here a shape error raised by our own network) is not an expected fault:
    the trial fails with its traceback, the sweep stops with the error, nothing is left RUNNING."""
    from hydra import compose, initialize_config_dir

    from models import DeepNetwork
    from pipeline.preflight import load_config as to_config
    from pipeline.setup.config import register_schemas
    from pipeline.sweep import sweep

    def broken_fit(self, *args, **kwargs):
        raise ValueError("shapes (8,4) and (5,150) not aligned")

    register_schemas()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(DeepNetwork, "fit", broken_fit)
    conf = Path(__file__).resolve().parents[2] / "conf"
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        config = to_config(compose("config", overrides=[*QUICK, "search.n_trials=3"]))
    with pytest.raises(ValueError, match="not aligned"):
        sweep(config)
    trials = study(tmp_path, "iris-sweep").trials
    assert [t.state for t in trials] == [optuna.trial.TrialState.FAIL]
    assert trials[0].user_attrs["outcome"] == "error"
    statuses = Counter((r.data.tags.get("kind"), r.info.status) for r in runs(tmp_path, "deepsweep-iris"))
    assert statuses == Counter({("trial", "FAILED"): 1, ("study", "FAILED"): 1})
    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    traceback = client.download_artifacts(trials[0].user_attrs["mlflow_run_id"], "traceback.txt", str(tmp_path))
    assert "not aligned" in Path(traceback).read_text()


# ----- 3: Ctrl-C and SIGTERM -------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "sigterm"]
)
def test_interrupt_fails_the_trial_kills_its_run_and_the_same_command_resumes(
    tmp_path: Path, signum: int, exit_code: int
) -> None:
    # The summary's retraining of the best (other seeds, data shares) is not what this test is about.
    command = (*QUICK, "dataset=digits", "search.confirm_seeds=0", "search.data_curve=[]", "train.epochs=400",
               "search.n_trials=2")  # fmt: skip
    process = start("pipeline.sweep", *command, cwd=tmp_path)
    wait_for_running_trial(tmp_path, "digits-sweep", process)
    os.killpg(process.pid, signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == exit_code, stderr
    assert "run the same command to resume" in stderr
    interrupted = study(tmp_path, "digits-sweep").trials
    assert [t.state for t in interrupted] == [optuna.trial.TrialState.FAIL]
    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    assert client.get_run(interrupted[0].user_attrs["mlflow_run_id"]).info.status == "KILLED"
    assert not [r for r in runs(tmp_path, "deepsweep-digits") if r.info.status == "RUNNING"]

    resumed = run("pipeline.sweep", *command[:-2], "train.epochs=5", "search.n_trials=2", cwd=tmp_path)
    assert resumed.returncode == 1 and "created with other settings" in resumed.stderr  # epochs changed: refused
    resumed = run("pipeline.sweep", *command, cwd=tmp_path, timeout=900)
    assert resumed.returncode == 0, resumed.stderr
    states = Counter(t.state.name for t in study(tmp_path, "digits-sweep").trials)
    assert states == Counter({"COMPLETE": 2, "FAIL": 1})
    assert not [r for r in runs(tmp_path, "deepsweep-digits") if r.info.status == "RUNNING"]


@pytest.mark.slow
def test_sigkilled_training_run_is_closed_by_the_next_command(tmp_path: Path) -> None:
    process = start("pipeline.train", "dataset=digits", "train.epochs=3000", cwd=tmp_path)
    deadline = time.time() + 120
    while not [r for r in runs(tmp_path, "deepsweep-digits") if r.info.status == "RUNNING"]:
        assert time.time() < deadline and process.poll() is None
        time.sleep(0.3)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    # The next command trains another dataset (another experiment): it closes the dead run all the same.
    assert run("pipeline.train", *QUICK, cwd=tmp_path).returncode == 0
    assert [r.info.status for r in runs(tmp_path, "deepsweep-iris")] == ["FINISHED"]
    statuses = sorted(r.info.status for r in runs(tmp_path, "deepsweep-digits"))
    assert statuses == ["KILLED"]
    killed = next(r for r in runs(tmp_path, "deepsweep-digits") if r.info.status == "KILLED")
    assert "died before closing this run" in killed.data.tags["failure_reason"]


# ----- 5: several sweeps starting at once on fresh stores ----------------------------------------------
@pytest.mark.slow
def test_four_sweeps_started_at_once_on_fresh_stores_record_exactly_the_budget(tmp_path: Path) -> None:
    command = ("dataset=iris", "train.epochs=2", "pruner=none", "search.n_trials=100", "sampler=random",
               "tracking.report=false")  # fmt: skip
    processes = [start("pipeline.sweep", *command, cwd=tmp_path) for _ in range(4)]
    outputs = [process.communicate(timeout=900) for process in processes]
    # On failure: each process's exception lines (a traceback's unindented lines), which a cut tail can lose.
    failures = ["\n".join(line for line in err.splitlines() if line and not line.startswith(" "))[-3000:]
                for (_, err), process in zip(outputs, processes, strict=True) if process.returncode]  # fmt: skip
    assert [process.returncode for process in processes] == [0, 0, 0, 0], failures
    trials = study(tmp_path, "iris-sweep").trials
    assert len(trials) == 100 and all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert len({t.user_attrs["worker"] for t in trials}) == 4, "a worker was lost"
    recorded = runs(tmp_path, "deepsweep-iris")
    assert Counter((r.data.tags["kind"], r.info.status) for r in recorded) == Counter(
        {("trial", "FINISHED"): 100, ("study", "FINISHED"): 1}
    )
    trial_runs = {r.info.run_id for r in recorded if r.data.tags["kind"] == "trial"}
    assert {t.user_attrs["mlflow_run_id"] for t in trials} == trial_runs
    assert sqlite3.connect(tmp_path / "mlruns" / "mlflow.db").execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert sqlite3.connect(tmp_path / "mlruns" / "optuna.db").execute("PRAGMA integrity_check").fetchone() == ("ok",)


# ----- 6: store contention ---------------------------------------------------------------------------
@pytest.mark.slow
def test_a_store_locked_by_another_process_is_waited_for(tmp_path: Path) -> None:
    """Another process holds an exclusive write lock on the MLflow store for 4 s while a run logs."""
    assert run("pipeline.train", *QUICK, cwd=tmp_path).returncode == 0  # the store exists
    database = tmp_path / "mlruns" / "mlflow.db"
    locked, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        connection = sqlite3.connect(database, timeout=30, isolation_level=None)
        connection.execute("BEGIN EXCLUSIVE")
        locked.set()
        release.wait(4)
        connection.execute("COMMIT")
        connection.close()

    holder = threading.Thread(target=hold_lock)
    process = start("pipeline.train", *QUICK, cwd=tmp_path)
    holder.start()
    locked.wait(30)
    release_timer = threading.Timer(4, release.set)
    release_timer.start()
    _, stderr = process.communicate(timeout=300)
    holder.join()
    assert process.returncode == 0, stderr
    assert "locked" not in stderr.lower()
    assert sorted(r.info.status for r in runs(tmp_path, "deepsweep-iris")) == ["FINISHED", "FINISHED"]


@pytest.mark.slow
def test_a_sweep_whose_tracking_store_is_locked_for_30_s_near_its_end_succeeds_and_prints_no_error(
    tmp_path: Path,
) -> None:
    """Another process holds an exclusive lock on ``mlflow.db`` for 30 s from the tenth of twelve trials on: the
    last trials and the summary (the fluent run the model is logged in included) wait, print nothing, succeed."""
    sweep = start(
        "pipeline.sweep", "dataset=iris", "train.epochs=40", "search.n_trials=12", "search.confirm_seeds=0",
        "search.data_curve=[]", cwd=tmp_path,
    )  # fmt: skip
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and sweep.poll() is None:
        try:
            if sum(t.state.is_finished() for t in study(tmp_path, "iris-sweep").trials) >= 10:
                break
        except (KeyError, ValueError, optuna.exceptions.StorageInternalError):  # not created yet
            pass
        time.sleep(0.1)
    connection = sqlite3.connect(tmp_path / "mlruns" / "mlflow.db", timeout=60, isolation_level=None)
    connection.execute("BEGIN EXCLUSIVE")
    time.sleep(30)  # the provocation itself: a lock held for 30 s, as another program on the machine might
    connection.execute("COMMIT")
    connection.close()
    _, stderr = sweep.communicate(timeout=TIMEOUT)
    assert sweep.returncode == 0, stderr[-3000:]
    assert "ERROR" not in stderr and "Traceback" not in stderr and "locked" not in stderr.lower(), stderr[-3000:]
    invariants.check(tmp_path, "iris-sweep", 12, experiment="deepsweep-iris")


# ----- 7: a full disk ------------------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path: Path):
    """A 4 MiB tmpfs for the artifacts with about 350 kB free; skipped where mounting is not allowed.

    (4 MiB rather than 1: once the filler is gone, the study report and its figures must fit.)"""
    with small_disk_mount(tmp_path / "small-disk", "4m") as folder:
        (folder / "filler").write_bytes(bytes(4 * 2**20 - 350_000))
        yield folder


@pytest.mark.slow
def test_full_disk_gives_a_clear_error_no_truncated_artifact_and_the_sweep_resumes(
    tmp_path: Path, small_disk: Path
) -> None:
    # The study report's figures are artifacts too: they are drawn, and must fit or fail cleanly.
    command = (*QUICK, "tracking.report=true", "dataset=digits", "search.n_trials=6",
               f"tracking.artifact_location={small_disk}")  # fmt: skip
    first = run("pipeline.sweep", *command, cwd=tmp_path)
    assert first.returncode == 1
    assert "a write failed" in first.stderr and "No space left on device" in first.stderr
    assert "run the same command again to resume" in first.stderr
    partial = [path for path in small_disk.rglob("*") if ".partial" in path.parts and path.is_file()]
    assert not partial, "a partly written artifact was left behind"
    for npz in small_disk.rglob("network.npz"):
        assert np.load(npz, allow_pickle=False)["W1"].size  # every stored file is whole
    assert not [r for r in runs(tmp_path, "deepsweep-digits") if r.info.status == "RUNNING"]

    (small_disk / "filler").unlink()  # space is back
    second = run("pipeline.sweep", *command, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    trials = study(tmp_path, "digits-sweep").trials
    assert sum(t.state == optuna.trial.TrialState.COMPLETE for t in trials) == 6
    assert not [r for r in runs(tmp_path, "deepsweep-digits") if r.info.status == "RUNNING"]


# ----- 8 and 9: bad overrides and bad data are refused before anything exists ----------------------------
@pytest.mark.slow
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["+model.foo=1"], "unknown config key model.foo"),
        (["+banana=1"], "unknown config key banana"),
        (["model.fooo=1"], "unknown config key model.fooo"),  # refused before Hydra, with the allowed keys
        (["train.epochs=ten"], "train.epochs"),
        (["train.learning_rate=nan"], "train.learning_rate=nan"),
        (["train.learning_rate=-0.1"], "train.learning_rate=-0.1"),
        (["train.epochs=0"], "train.epochs=0"),
        (["search.n_trials=0"], "search.n_trials=0"),
        (["dataset=csv"], "dataset.path is missing"),
        (["dataset=imagenet"], "Could not find 'dataset/imagenet'"),
        (["sampler=bayes"], "Could not find 'sampler/bayes'"),
        (["search.space.learning_rate.low=2"], "low=2.0 > high"),
        (["search.metric=val_rmse"], "search.metric=val_rmse is never logged"),
        (["sampler.options.n_startup_trial=3"], "sampler.options"),
    ],
)
def test_bad_overrides_are_refused_before_any_study_or_run_exists(
    tmp_path: Path, overrides: list[str], message: str
) -> None:
    result = run("pipeline.sweep", *QUICK, *overrides, cwd=tmp_path)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert nothing_created(tmp_path)


def _write_cat_files(folder: Path, shape: tuple[int, ...] = (4, 64, 64, 3), labels: list[int] | None = None) -> None:
    labels = labels if labels is not None else [0, 1, 0, 1]
    for split in ("train", "test"):
        with h5py.File(folder / f"{split}_catvnoncat.h5", "w") as handle:
            handle[f"{split}_set_x"] = np.zeros(shape, dtype=np.uint8)
            handle[f"{split}_set_y"] = np.array(labels)
            handle["list_classes"] = np.array([b"non-cat", b"cat"])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("content", "target", "message"),
    [
        (None, "y", "file not found"),
        ("a,b,y\n" + "1,2,0\n3,4,1\n" * 20, "label", "'label'"),
        ("a,b,y\n" + "1,x,0\n3,4,1\n" * 20, "y", "non-numeric feature column(s) ['b']"),
        ("a,b,y\n" + "1,,0\n3,4,1\n" * 20, "y", "missing or infinite values in 'b'"),
        ("a,b,y\n", "y", "no data rows"),
        ("a,b,y\n" + "1,2,0\n3,4,0\n" * 20, "y", "class"),
    ],
    ids=["missing-file", "missing-column", "non-numeric", "nan", "empty", "single-class"],
)
def test_bad_csv_is_refused_naming_the_file_and_nothing_is_created(
    tmp_path: Path, content: str | None, target: str, message: str
) -> None:
    data = tmp_path / "data.csv"
    if content is not None:
        data.write_text(content)
    work = tmp_path / "work"
    result = run("pipeline.sweep", "dataset=csv", f"dataset.path={data}", f"dataset.target={target}", cwd=work)
    assert result.returncode == 1
    assert str(data) in result.stderr and message.lower() in result.stderr.lower(), result.stderr[-2000:]
    assert nothing_created(work)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("shape", "labels", "message"),
    [((4, 64, 64), [0, 1, 0, 1], "shape"), ((4, 64, 64, 3), [0, 2, 0, 1], "label")],
    ids=["wrong-image-shape", "label-out-of-range"],
)
def test_bad_image_files_are_refused_naming_the_file(tmp_path: Path, shape: tuple, labels: list, message: str) -> None:
    folder = tmp_path / "cats"
    folder.mkdir()
    _write_cat_files(folder, shape, labels)
    result = run("pipeline.train", "dataset=catvnoncat", f"dataset.path={folder}", cwd=tmp_path / "work")
    assert result.returncode == 1
    assert "catvnoncat.h5" in result.stderr and message in result.stderr.lower(), result.stderr[-2000:]
    assert nothing_created(tmp_path / "work")


# ----- 10: parameters too long for MLflow ------------------------------------------------------------------
def test_a_parameter_too_long_for_mlflow_is_cut_visibly_and_named_in_a_tag(tmp_path: Path) -> None:
    from pipeline.records.tracking import MAX_PARAM_LENGTH, TRUNCATION_MARK, Tracker

    tracker = Tracker(f"sqlite:///{tmp_path}/mlflow.db", "long", str(tmp_path / "artifacts"))
    recorder = tracker.start_run("long-param")
    recorder.log_params({"search_space": "x" * 10_000, "short": "ok"})
    recorder.finish("FINISHED")
    run_data = tracker.client.get_run(recorder.run_id).data
    assert run_data.params["search_space"].endswith(TRUNCATION_MARK)
    assert len(run_data.params["search_space"]) <= MAX_PARAM_LENGTH
    assert run_data.tags["params_truncated"] == "search_space"
    assert run_data.params["short"] == "ok"


# ----- 11: a corrupt logged model --------------------------------------------------------------------------
@pytest.mark.slow
def test_a_corrupted_logged_model_refuses_to_load_instead_of_predicting(tmp_path: Path) -> None:
    assert run("pipeline.train", *QUICK, cwd=tmp_path).returncode == 0
    (recorded,) = runs(tmp_path, "deepsweep-iris")
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    model_uri = recorded.data.tags["model_uri"]
    mlflow.pyfunc.load_model(model_uri)  # loads while intact
    (network,) = [p for p in (tmp_path / "mlruns").rglob("network.npz") if "models" in p.parts]
    network.write_bytes(network.read_bytes()[: network.stat().st_size // 2])
    with pytest.raises(ModelFileError, match="corrupt or truncated"):
        mlflow.pyfunc.load_model(model_uri)
