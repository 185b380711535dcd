"""``pipeline.records.tracking`` against a real SQLite MLflow store in a temporary folder."""

from pathlib import Path

import numpy as np
import pytest

from models import DeepNetwork
from pipeline.records.pyfunc_model import PYFUNC_ENTRY, model_requirements
from pipeline.records.tracking import STATUS_FINISHED, STATUS_RUNNING, Tracker


@pytest.fixture
def tracker(tmp_path: Path) -> Tracker:
    return Tracker(f"sqlite:///{tmp_path}/mlflow.db", "tracking-test", str(tmp_path / "artifacts"))


def _log_model(tracker: Tracker, run_id: str, folder: Path) -> str:
    network = DeepNetwork([2, 3, 2], output="softmax", seed=0)
    parameters = network.save(folder / "network.npz")
    preprocessing = folder / "preprocessing.json"
    preprocessing.write_text(
        '{"feature_names": ["a", "b"], "class_names": ["x", "y"], "task": "multiclass",'
        ' "input_multiplier": [1.0, 1.0], "input_shift": [0.0, 0.0]}'
    )
    return tracker.recorder(run_id).log_pyfunc_model(
        PYFUNC_ENTRY,
        {"network": str(parameters), "preprocessing": str(preprocessing)},
        model_requirements(),
        ["a", "b"],
        np.zeros((2, 2)),
    )


@pytest.mark.slow
def test_logging_a_model_into_a_finished_run_keeps_its_status_and_end_time(tracker: Tracker, tmp_path: Path) -> None:
    recorder = tracker.start_run("finished")
    recorder.finish(STATUS_FINISHED)
    before = tracker.run(recorder.run_id).info
    _log_model(tracker, recorder.run_id, tmp_path)
    after = tracker.run(recorder.run_id).info
    assert (after.status, after.end_time) == (STATUS_FINISHED, before.end_time)
    assert "model_uri" in tracker.run(recorder.run_id).data.tags


@pytest.mark.slow
def test_logging_a_model_into_a_running_run_leaves_it_running(tracker: Tracker, tmp_path: Path) -> None:
    recorder = tracker.start_run("running")
    _log_model(tracker, recorder.run_id, tmp_path)
    assert tracker.run(recorder.run_id).info.status == STATUS_RUNNING


def test_a_failed_write_keeps_the_buffer_for_the_next_flush(tracker: Tracker) -> None:
    recorder = tracker.start_run("buffer")
    recorder.add_metrics({"train_cost": 0.5}, step=0)
    recorder.add_params({"learning_rate": 0.1})
    recorder.add_tags({"note": "kept"})
    real_client, recorder.client = recorder.client, None  # any call now fails, as a lost store would
    with pytest.raises(AttributeError):
        recorder.flush()
    recorder.client = real_client
    recorder.flush()
    data = tracker.run(recorder.run_id).data
    assert (data.metrics, data.params["learning_rate"], data.tags["note"]) == ({"train_cost": 0.5}, "0.1", "kept")


def test_runs_carry_their_process_from_creation(tracker: Tracker) -> None:
    import os
    import socket

    tags = tracker.run(tracker.start_run("process").run_id).data.tags
    assert (tags["host"], tags["pid"]) == (socket.gethostname(), str(os.getpid()))


def test_only_the_half_written_files_of_dead_processes_are_removed(tracker: Tracker, tmp_path: Path) -> None:
    """Another sweep starting cleans up after killed processes; the files a live one is writing stay, the
    temporary file ``persistence.save`` makes first (``.<pid>-network.npz.<random>.tmp``) included."""
    import os

    from pipeline.records.tracking import PARTIAL_FOLDER, remove_partial_files

    recorder = tracker.start_run("r", {})
    recorder.log_text("x", "a.txt")
    partial = Path(tracker.run(recorder.run_id).info.artifact_uri.removeprefix("file://")).parent / PARTIAL_FOLDER
    dead = os.fork()
    if dead == 0:
        os._exit(0)
    os.waitpid(dead, 0)
    live = [partial / f"{os.getpid()}-network.npz", partial / f".{os.getpid()}-network.npz.k3j2.tmp"]
    gone = [partial / f"{dead}-network.npz", partial / f".{dead}-network.npz.k3j2.tmp", partial / "stray"]
    for path in live + gone:
        path.write_bytes(b"half")
    assert sorted(remove_partial_files(tracker)) == sorted(gone)
    assert all(path.exists() for path in live)
