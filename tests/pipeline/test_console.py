"""What the entry points print when a write fails (``pipeline.console``): the failure in the user's words."""

import sqlite3

import pytest
import sqlalchemy.exc
from optuna.exceptions import StorageInternalError

from pipeline.console import fail_cleanly


def optuna_commit_failure(bottom: Exception) -> StorageInternalError:
    """The chain Optuna raises when SQLite refuses its commit: its own text on top, SQLAlchemy's in between."""
    try:
        try:
            try:
                raise bottom
            except sqlite3.OperationalError as error:
                raise sqlalchemy.exc.OperationalError("UPDATE trials SET state=?", {}, error) from error
        except sqlalchemy.exc.OperationalError as error:
            raise StorageInternalError(
                "An exception is raised during the commit. This typically happens due to invalid data in the commit, "
                "e.g. exceeding max length."
            ) from error
    except StorageInternalError as error:
        return error


def test_a_full_disk_under_the_study_storage_is_said_as_such_in_one_line(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as stopped, fail_cleanly():
        raise optuna_commit_failure(sqlite3.OperationalError("database or disk is full"))
    assert stopped.value.code == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: a write failed (No space left on device (database or disk is full)).")
    assert "exceeding max length" not in line and "UPDATE" not in line
