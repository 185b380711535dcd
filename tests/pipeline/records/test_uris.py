"""Tests of pipeline.records.uris: passwords masked before anything is logged or printed, relative SQLite stores made
absolute so that every process finds the same store, and URIs with nothing to change left exactly as given."""

from pathlib import Path

import pytest

from pipeline.console import print_result
from pipeline.records.uris import absolute_path, absolute_sqlite_uri, mask_password, sqlite_file


# ----- mask_password ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("uri", "masked"),
    [
        ("postgresql://u:s3cret@127.0.0.1/db", "postgresql://u:***@127.0.0.1/db"),
        (
            "postgresql+psycopg2://deepsweep:s3cret@db.lan:5432/sweeps",
            "postgresql+psycopg2://deepsweep:***@db.lan:5432/sweeps",
        ),
        ("mysql://u:p@ss@host/db", "mysql://u:***@host/db"),  # an unencoded @ in the password
        ("http://u:s3cret@127.0.0.1:5000", "http://u:***@127.0.0.1:5000"),
        ("postgresql://:s3cret@host/db", "postgresql://:***@host/db"),
        ("postgresql://host/db?password=s3cret&sslmode=require", "postgresql://host/db?password=***&sslmode=require"),
        ("postgresql://host/db?sslmode=require&PWD=s3cret", "postgresql://host/db?sslmode=require&PWD=***"),
        ("https://host/api?token=s3cret#top", "https://host/api?token=***#top"),
        ("postgresql://u:s3cret@host/db?password=s3cret", "postgresql://u:***@host/db?password=***"),
    ],
)
def test_password_is_masked(uri: str, masked: str) -> None:
    assert mask_password(uri) == masked


@pytest.mark.parametrize(
    "uri",
    [
        "sqlite:///mlruns/mlflow.db",  # relative: rebuilding it from its parts would give sqlite:/mlruns/...
        "sqlite:////tmp/store/mlflow.db",
        "sqlite:///:memory:",
        "sqlite:///mlruns/optuna.db?timeout=30",
        "postgresql://deepsweep@127.0.0.1:5432/deepsweep",
        "http://127.0.0.1:5000",
        "mlflow-artifacts:/deepsweep",
        "file:///tmp/mlruns",
        "mlruns/artifacts",
    ],
)
def test_uri_without_secret_is_returned_unchanged(uri: str) -> None:
    assert mask_password(uri) == uri


def test_masking_twice_changes_nothing_more() -> None:
    once = mask_password("postgresql://u:s3cret@host/db?password=s3cret")
    assert mask_password(once) == once and "s3cret" not in once


def test_printed_result_masks_the_tracking_password(capsys: pytest.CaptureFixture[str]) -> None:
    print_result("abc123", {"test_accuracy": 0.5}, "http://u:s3cret@127.0.0.1:5000")
    out = capsys.readouterr().out
    assert "s3cret" not in out and "http://u:***@127.0.0.1:5000" in out and "abc123" in out


# ----- absolute_sqlite_uri, sqlite_file, absolute_path ----------------------------------------------------
def test_relative_sqlite_uri_is_made_absolute_against_base_and_its_folder_created(tmp_path: Path) -> None:
    uri = absolute_sqlite_uri("sqlite:///mlruns/mlflow.db", base=tmp_path)
    assert uri == f"sqlite:///{(tmp_path / 'mlruns' / 'mlflow.db').resolve()}"
    assert (tmp_path / "mlruns").is_dir() and not (tmp_path / "mlruns" / "mlflow.db").exists()


def test_relative_sqlite_uri_defaults_to_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert absolute_sqlite_uri("sqlite:///stores/a.db") == f"sqlite:///{(tmp_path / 'stores' / 'a.db').resolve()}"


def test_absolute_sqlite_uri_keeps_its_path(tmp_path: Path) -> None:
    path = (tmp_path / "elsewhere" / "mlflow.db").resolve()
    assert absolute_sqlite_uri(f"sqlite:///{path}", base=tmp_path / "unused") == f"sqlite:///{path}"
    assert not (tmp_path / "unused").exists()


@pytest.mark.parametrize(
    "uri", ["sqlite:///:memory:", "sqlite://", "http://127.0.0.1:5000", "postgresql://u@host/db", "file:./mlruns"]
)
def test_non_file_sqlite_and_other_uris_are_returned_unchanged(uri: str, tmp_path: Path) -> None:
    assert absolute_sqlite_uri(uri, base=tmp_path) == uri
    assert list(tmp_path.iterdir()) == []


def test_sqlite_file_names_the_database_file_of_sqlite_uris_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert sqlite_file("sqlite:///mlruns/mlflow.db?timeout=5") == tmp_path.absolute() / "mlruns" / "mlflow.db"
    assert sqlite_file("sqlite:////srv/mlflow.db") == Path("/srv/mlflow.db")
    assert sqlite_file("sqlite:///:memory:") is None and sqlite_file("http://127.0.0.1:5000") is None
    assert list(tmp_path.iterdir()) == []  # naming the file creates nothing


def test_absolute_path_makes_relative_folders_absolute_and_leaves_uris_alone(tmp_path: Path) -> None:
    assert absolute_path("mlruns/artifacts", base=tmp_path) == str((tmp_path / "mlruns" / "artifacts").resolve())
    assert (tmp_path / "mlruns" / "artifacts").is_dir()
    for uri in ("mlflow-artifacts:/deepsweep", "s3://bucket/path", "file:///tmp/x"):
        assert absolute_path(uri, base=tmp_path) == uri


def test_a_count_is_printed_as_a_whole_number(capsys: pytest.CaptureFixture[str]) -> None:
    print_result("abc123", {"n_parameters": 17.0, "test_accuracy": 0.5}, "sqlite:///mlruns/mlflow.db")
    assert "run abc123: n_parameters=17, test_accuracy=0.5000" in capsys.readouterr().out
