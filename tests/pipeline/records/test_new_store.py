"""``pipeline.records.new_store``: a store copied from the cached template is the store MLflow migrates."""

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.records.new_store import template_path
from pipeline.records.tracking import client

pytestmark = pytest.mark.slow


def _shape(database: Path) -> dict[str, object]:
    """Tables with their columns, the indexes, and the rows, with the store's folder and times left out."""
    with sqlite3.connect(database) as connection:
        tables = [name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        folder = str(database.parents[1])
        rows = {
            table: [
                tuple(str(v).replace(folder, "<folder>") for v in row[:3])
                for row in connection.execute(f"SELECT * FROM '{table}'")
            ]
            for table in tables
        }
        return {
            "columns": {table: connection.execute(f"PRAGMA table_info('{table}')").fetchall() for table in tables},
            "indexes": sorted(connection.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index'")),
            "rows": rows,
        }


def _migrated_by_mlflow(folder: Path) -> Path:
    """A store made by MLflow alone (its migrations), in a process of its own."""
    folder.mkdir()
    code = "from mlflow import MlflowClient; MlflowClient('sqlite:///mlruns/mlflow.db').search_experiments()"
    subprocess.run([sys.executable, "-c", code], cwd=folder, check=True, capture_output=True)
    return folder / "mlruns" / "mlflow.db"


def test_a_store_from_the_template_has_mlflows_schema_and_default_experiment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    reference = _migrated_by_mlflow(tmp_path / "mlflow")
    for name in ("first", "second"):  # the first makes the template, the second copies it
        monkeypatch.chdir(tmp_path)
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)
        client("sqlite:///mlruns/mlflow.db")
        assert _shape(tmp_path / name / "mlruns" / "mlflow.db") == _shape(reference), name
    assert template_path().is_file()
    assert not list((tmp_path / "second" / "mlruns").glob(".*creating*")), "no temporary file is left"


def test_a_damaged_template_is_replaced_and_the_store_still_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    template_path().parent.mkdir(parents=True)
    template_path().write_bytes(b"not a database")
    monkeypatch.chdir(tmp_path)
    store = client("sqlite:///mlruns/mlflow.db")
    assert store.get_experiment_by_name("Default") is not None
    assert not template_path().exists() or template_path().read_bytes()[:15] == b"SQLite format 3"


def test_an_unwritable_cache_folder_only_costs_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cache").write_text("a file where the cache folder would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    store = client("sqlite:///mlruns/mlflow.db")
    assert store.get_experiment_by_name("Default") is not None
