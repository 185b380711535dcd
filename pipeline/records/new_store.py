"""A new SQLite MLflow store in milliseconds: a copy of an empty one this MLflow version migrated once.

MLflow builds a new store's schema by running all of its Alembic migrations, about 1.3 s of a sweep's
start on the test machine (docs/BENCHMARKS.md). The result is the same file every time, so the first
creation keeps one migrated, empty copy per MLflow version under the user's cache folder
(``$XDG_CACHE_HOME/deepsweep`` or ``~/.cache/deepsweep``) and later creations copy it. The template
holds no experiment: MLflow adds its ``Default`` experiment when it first opens the copy, exactly as
it does in a store it has just migrated (its artifact folder follows the working directory then).
Where the cache folder cannot be written, or a template does not open, the store is migrated as before.
"""

import contextlib
import os
import shutil
import sqlite3
from pathlib import Path

import mlflow
from mlflow import MlflowClient

from pipeline.records.locks import create_atomically, remove_database
from pipeline.records.uris import sqlite_file


def cache_folder() -> Path:
    """Where the templates live: ``$XDG_CACHE_HOME/deepsweep``, else ``~/.cache/deepsweep``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "deepsweep"


def template_path() -> Path:
    """This MLflow version's template (a schema change comes with a new MLflow version)."""
    return cache_folder() / f"mlflow-{mlflow.__version__}-empty.db"


def create_schema(uri: str) -> None:
    """Give the new, still unnamed store at ``uri`` (a ``sqlite:///`` file) MLflow's schema and its
    ``Default`` experiment; ``create_atomically`` then renames it into place."""
    template = _template()
    if template is None:
        _open(uri)
        return
    database = sqlite_file(uri)
    try:
        shutil.copyfile(template, database)
        _open(uri)
    except Exception:  # a damaged or foreign template: forget it, migrate this store as MLflow does
        template.unlink(missing_ok=True)
        remove_database(database)
        # Under another name: MLflow keeps what it opened at ``uri`` for the rest of the process.
        migrated = database.with_name(f"{database.name}.migrated")
        try:
            _open(f"sqlite:///{migrated}")
            os.replace(migrated, database)
        finally:
            remove_database(migrated)


def _open(uri: str) -> None:
    # The first client on a store runs MLflow's migrations if tables are missing, checks the schema
    # version otherwise, and adds the Default experiment when there is none.
    MlflowClient(uri).search_experiments(max_results=1)


def _template() -> Path | None:
    """The template, made first if missing (or remade if damaged); ``None`` where the cache folder cannot be
    written."""
    path = template_path()
    if path.exists() and _migrated(path):
        return path
    try:
        path.unlink(missing_ok=True)  # damaged: made again below
        path.parent.mkdir(parents=True, exist_ok=True)
        create_atomically(path, _empty_schema)  # two processes racing both make a whole one; one wins
    except OSError:
        return None
    return path


def _migrated(path: Path) -> bool:
    """Whether ``path`` is an SQLite file with MLflow's migration table: checked with sqlite3 itself, because
    MLflow, given a file that is not a database, retries its connection with back-off for about 90 s."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60)) as connection:
            return connection.execute("SELECT version_num FROM alembic_version").fetchone() is not None
    except sqlite3.DatabaseError:
        return False


def _empty_schema(uri: str) -> None:
    """MLflow's migrated schema with no experiment in it (MLflow's own first open adds ``Default``)."""
    _open(uri)
    with contextlib.closing(sqlite3.connect(sqlite_file(uri), timeout=60)) as connection, connection:
        connection.execute("DELETE FROM experiment_tags")
        connection.execute("DELETE FROM experiments")
