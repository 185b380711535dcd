"""Tests of pipeline.compare: ``leaderboard`` on a small hand-made runs table, and the command line on
a real MLflow store written by two real ``python -m pipeline.train`` runs.
"""

import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from pipeline.compare import leaderboard, main, render


def runs_table() -> pd.DataFrame:
    """What ``mlflow.search_runs`` returns, cut down: four runs, one without the ranking metric."""
    return pd.DataFrame(
        {
            "run_id": ["a", "b", "c", "d"],
            "status": ["FINISHED"] * 4,
            "metrics.test_accuracy": [0.80, 0.95, math.nan, 0.90],
            "metrics.test_cost": [0.6, 0.2, 0.4, 0.3],
            "metrics.train_cost": [0.5, 0.1, 0.3, 0.2],
            "params.learning_rate": ["0.1", "0.01", "0.5", "0.05"],
            "params.dataset": ["iris"] * 4,
            "params.seed": ["0"] * 4,
            "tags.study_name": ["s", "s", None, None],
            "tags.mlflow.runName": ["r1", "r2", "r3", "r4"],
        }
    )


# ----- leaderboard ------------------------------------------------------------------------------------
def test_leaderboard_ranks_best_first_and_drops_runs_without_the_metric() -> None:
    table = leaderboard(runs_table(), "test_accuracy", ascending=False, top=10)

    assert list(table["run_id"]) == ["b", "d", "a"]
    assert list(table["test_accuracy"]) == [0.95, 0.90, 0.80]


def test_leaderboard_shows_test_metrics_and_hyperparameters_under_plain_names() -> None:
    table = leaderboard(runs_table(), "test_accuracy", ascending=False, top=10)

    columns = ["run_id", "status", "test_accuracy", "test_cost", "dataset", "learning_rate", "study_name"]
    assert list(table.columns) == columns, "train metrics, unlisted params and MLflow's own tags are left out"


def test_leaderboard_ranks_lowest_first_when_ascending_and_keeps_the_ranked_metric() -> None:
    table = leaderboard(runs_table(), "train_cost", ascending=True, top=2)

    assert list(table["run_id"]) == ["b", "d"]
    assert list(table["train_cost"]) == [0.1, 0.2], "the ranked metric is shown even when it is not a test metric"


def test_leaderboard_is_empty_when_no_run_has_the_metric() -> None:
    assert leaderboard(runs_table(), "val_rmse", ascending=True, top=5).empty
    assert leaderboard(pd.DataFrame(), "test_accuracy", ascending=False, top=5).empty


# ----- the command line on a real store ------------------------------------------------------------
@pytest.fixture(scope="session")
def trained_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A folder whose ``mlruns/`` holds one real ``pipeline.train`` run on iris, and that run's id."""
    cwd = tmp_path_factory.mktemp("trained_store")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.train", "dataset=iris", "train.epochs=5", "tracking.log_model=none"],
        cwd=cwd,
        env={**env, "PYTHONUNBUFFERED": "1", "OPENBLAS_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return cwd, re.search(r"^run (\w+):", result.stdout, re.MULTILINE).group(1)


@pytest.fixture
def store(trained_store: tuple[Path, str], tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A private copy of the trained store (tests add runs to it) as a tracking URI, and the real run's id."""
    cwd, run_id = trained_store
    shutil.copyfile(cwd / "mlruns" / "mlflow.db", tmp_path / "mlflow.db")
    yield f"sqlite:///{tmp_path}/mlflow.db", run_id
    mlflow.set_tracking_uri(None)  # the command points this process's MLflow at the store; undo it


def add_run(uri: str, status: str, **metrics: float) -> str:
    """Another run in the trained run's experiment, with only ``metrics``, ended with ``status``."""
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("deepsweep-iris")
    run = client.create_run(experiment.experiment_id, tags={"kind": "train"})
    for key, value in metrics.items():
        client.log_metric(run.info.run_id, key, value)
    client.set_terminated(run.info.run_id, status)
    return run.info.run_id


def board(uri: str, output: Path, *options: str) -> pd.DataFrame:
    assert main(["--tracking-uri", uri, "--output", str(output), *options]) == 0
    return pd.read_csv(output)


@pytest.mark.slow
def test_command_prints_and_saves_a_real_run_with_its_metrics_and_hyperparameters(
    store: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    uri, run_id = store
    logged = MlflowClient(uri).get_run(run_id).data

    saved = board(uri, tmp_path / "board.csv")

    assert list(saved["run_id"]) == [run_id]
    row = saved.iloc[0]
    assert row["test_accuracy"] == pytest.approx(logged.metrics["test_accuracy"])
    assert row["test_cost"] == pytest.approx(logged.metrics["test_cost"])
    assert (row["status"], row["dataset"], row["epochs"], row["depth"]) == ("FINISHED", "iris", 5, 2)
    assert row["hidden_units"] == logged.params["hidden_units"]
    printed = capsys.readouterr().out
    # The printed table names runs by their first 8 characters (it fits 120 columns); the CSV keeps them whole.
    assert run_id[:8] in printed and f"saved {tmp_path / 'board.csv'}" in printed
    assert printed.startswith("training runs (pipeline.train, reruns), best test_accuracy first:")
    assert max(map(len, printed.splitlines())) <= 120


@pytest.mark.slow
def test_command_ranks_best_first_lowest_first_with_minimize_and_cuts_at_top(
    store: tuple[str, str], tmp_path: Path
) -> None:
    uri, real = store
    best = add_run(uri, "FINISHED", test_accuracy=1.0, test_cost=0.0)
    worst = add_run(uri, "FINISHED", test_accuracy=0.0, test_cost=99.0)
    output = tmp_path / "board.csv"

    assert list(board(uri, output)["run_id"]) == [best, real, worst]
    assert list(board(uri, output, "--metric", "test_cost", "--minimize")["run_id"]) == [best, real, worst]
    assert list(board(uri, output, "--metric", "test_cost")["run_id"]) == [worst, real, best]
    assert list(board(uri, output, "--top", "1")["run_id"]) == [best]


@pytest.mark.slow
def test_command_leaves_out_unfinished_runs_unless_all_statuses(store: tuple[str, str], tmp_path: Path) -> None:
    uri, real = store
    failed = add_run(uri, "FAILED", test_accuracy=1.0)
    output = tmp_path / "board.csv"

    assert list(board(uri, output)["run_id"]) == [real]
    saved = board(uri, output, "--all-statuses")
    assert list(saved["run_id"]) == [failed, real] and list(saved["status"]) == ["FAILED", "FINISHED"]


@pytest.mark.slow
def test_command_exits_1_when_no_run_matches(
    store: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    uri, _ = store
    output = tmp_path / "board.csv"

    assert main(["--tracking-uri", uri, "--study", "no-such-study", "--output", str(output)]) == 1
    assert main(["--tracking-uri", uri, "--metric", "val_rmse", "--output", str(output)]) == 1

    assert "no runs with metric 'val_rmse'" in capsys.readouterr().err
    assert not output.exists()


def test_render_separates_sweep_trials_from_training_runs_within_120_columns() -> None:
    table = leaderboard(runs_table(), "test_accuracy", ascending=False, top=10)
    table["kind"] = ["trial", "train", "trial"]
    table["trial_number"] = ["3", None, "7"]
    table["rerun_of"] = [None, "0123456789abcdef", None]
    table["hidden_units"] = ["[128, 128, 128, 128]"] * 3
    table["run_id"] = [name * 32 for name in table["run_id"]]
    text = render(table, "test_accuracy")
    sweeps, runs = text.split("\n\n")
    assert sweeps.startswith("sweep trials, best test_accuracy first:") and "dddddddd" not in sweeps
    assert runs.startswith("training runs") and "dddddddd" in runs and "01234567" in runs
    assert "nan" not in text.lower() and "test_accuracy" in sweeps.splitlines()[1]
    assert max(map(len, text.splitlines())) <= 120


def test_command_refuses_a_missing_store_without_creating_one(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    missing = tmp_path / "elsewhere" / "mlflow.db"

    assert main(["--tracking-uri", f"sqlite:///{missing}", "--output", str(tmp_path / "board.csv")]) == 1

    assert f"no MLflow store at {missing}" in capsys.readouterr().err
    assert not missing.exists() and not missing.parent.exists()
