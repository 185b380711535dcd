"""Checks of where the records go, before anything is written there: store URIs, SQLite files,
artifact roots and the names that become paths.

Each check raises ``ConfigError`` naming the key, what is wrong and the way out; none creates,
opens for writing or locks anything (a refused command leaves no file behind).
"""

import contextlib
import os
import re
import sqlite3
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pipeline.errors import ConfigError
from pipeline.records.uris import mask_password, sqlite_file

# Where records never go, whatever the config says.
SYSTEM_FOLDERS = tuple(
    Path(p)
    for p in (
        "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/proc", "/sys",
        "/dev", "/run", "/var/lib", "/var/log", "/var/cache", "/var/spool", "/var/mail", "/snap",
    )
)  # fmt: skip
TRACKING_SCHEMES = ("sqlite", "http", "https", "postgresql", "mysql", "mssql")
STORAGE_SCHEMES = ("sqlite", "postgresql", "mysql")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.+\-]{0,199}$")
SQLITE_HEADER = b"SQLite format 3\x00"


def check_name(key: str, name: str | None) -> None:
    """A study, experiment or model name: it becomes part of file paths, so no folders, no ``..``."""
    if name is None:
        return
    if not NAME.match(name) or ".." in name:
        shown = name if len(name) <= 80 else name[:80] + "…"
        raise ConfigError(
            f"{key}={shown!r} is not allowed; a name is 1-200 letters, digits, spaces and _ . + - "
            "starting with a letter or digit (no /, no ..), e.g. digits-sweep"
        )


def _system_folder(path: Path) -> Path | None:
    resolved = path.resolve()
    if resolved == Path("/"):
        return resolved
    return next((folder for folder in SYSTEM_FOLDERS if resolved == folder or folder in resolved.parents), None)


def _scheme(uri: str) -> str:
    return uri.split(":", 1)[0].split("+", 1)[0].lower() if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", uri) else ""


def check_store_uri(key: str, uri: str, schemes: tuple[str, ...], *, must_exist: bool = False) -> None:
    """A store URI: a known scheme, not an in-memory database, not inside a system folder, and an
    existing SQLite file that is a whole, writable SQLite database."""
    scheme = _scheme(uri)
    if scheme not in schemes:
        raise ConfigError(
            f"{key}={mask_password(uri)!r} is not a store URI deepsweep can use; give one of "
            f"{', '.join(s + '://' for s in schemes)} (e.g. sqlite:///mlruns/mlflow.db)"
        )
    if scheme != "sqlite":
        if not urlsplit(uri).hostname:
            raise ConfigError(f"{key}={mask_password(uri)!r} names no host; e.g. {scheme}://HOST:PORT/...")
        return
    if not uri.startswith("sqlite:///") or uri.partition("?")[0] in ("sqlite:///:memory:", "sqlite:///"):
        raise ConfigError(
            f"{key}={uri!r}: an in-memory or unnamed SQLite database cannot be resumed or shared by workers; "
            "give a file, e.g. sqlite:///mlruns/mlflow.db"
        )
    relative = uri.removeprefix("sqlite:///").partition("?")[0]
    if not relative.startswith("/"):  # sqlite:///relative/path: inside the project, like every written path
        stays_inside(key, mask_password(uri), Path(relative), Path.cwd())
    check_sqlite_file(key, sqlite_file(uri), must_exist=must_exist)


def check_sqlite_file(key: str, database: Path, *, must_exist: bool = False) -> None:
    """Refuse a SQLite store file that is in a system folder, is not a database, is empty or damaged,
    or cannot be written; a missing one is fine (it is created) unless ``must_exist``."""
    folder = _system_folder(database)
    if folder is not None:
        raise ConfigError(f"{key}: {database} is inside the system folder {folder}; keep stores in your project")
    if database.is_dir():
        raise ConfigError(f"{key}: {database} is a folder, not a database file; name a file such as mlflow.db")
    if not database.exists():
        if must_exist:
            raise ConfigError(f"{key}: no store at {database}; pass the store holding the runs")
        return
    if not database.is_file():
        raise ConfigError(f"{key}: {database} is not a regular file")
    size = database.stat().st_size
    if size == 0:
        raise ConfigError(
            f"{key}: {database} is empty (0 bytes), not a store: it was truncated or created by something else. "
            "Restore it from a backup, or move it away (mv it to a new name) to start afresh"
        )
    with open(database, "rb") as handle:
        header = handle.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise ConfigError(
            f"{key}: {database} is not a SQLite database (it starts with {header[:8]!r}); "
            "point the URI at a store file, or move this file away"
        )
    if not os.access(database, os.W_OK) or not os.access(database.parent, os.W_OK):
        raise ConfigError(
            f"{key}: {database} (or its folder) is read-only; deepsweep records into it, so it needs write "
            "access: fix the permissions, or copy the store somewhere writable and point the URI there"
        )
    problem = _damage(database)
    if problem:
        raise ConfigError(
            f"{key}: {database} is damaged ({problem}). Restore it from a backup; "
            f"'sqlite3 {database} .recover' may save what it holds; or move it away to start afresh"
        )


def _damage(database: Path) -> str | None:
    """What is wrong with a SQLite file's structure, read-only, or None (``PRAGMA quick_check``)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)) as connection:
            rows = connection.execute("PRAGMA quick_check(3)").fetchall()
    except sqlite3.DatabaseError as error:
        return str(error)
    found = [row[0] for row in rows if row[0] != "ok"]
    return "; ".join(found)[:300] or None


def half_created(database: Path) -> str | None:
    """Why a SQLite store looks half-created (a process killed while creating its schema), or None.

    A complete MLflow or Optuna store records its schema version in ``alembic_version``; Alembic's
    ``_alembic_tmp_*`` tables exist only while a migration runs.
    """
    if not database.is_file() or database.stat().st_size == 0:
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)) as connection:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            versions = (
                connection.execute("SELECT * FROM alembic_version").fetchall() if "alembic_version" in tables else []
            )
    except sqlite3.DatabaseError as error:
        return str(error)
    if not tables:
        return None  # an empty database: the schema is simply created
    temporary = sorted(name for name in tables if name.startswith("_alembic_tmp_"))
    if temporary:
        return f"a schema migration was cut short (tables {temporary} are left)"
    if not versions:
        return "its tables exist but no schema version was recorded"
    return None


def check_half_created(key: str, uri: str) -> None:
    """Refuse, with the way out, a SQLite store that a killed process left half-created."""
    database = sqlite_file(uri)
    problem = half_created(database) if database is not None else None
    if problem:
        raise ConfigError(
            f"{key}: {database} was left half-created by a process killed while creating it ({problem}); it "
            f"holds no finished work. Move it away (mv {database} {database}.broken) and run the command again"
        )


def check_artifact_location(key: str, location: str, project: Path) -> None:
    """An artifact root: a remote URI is taken as given; a local folder must not be a system folder,
    and a relative one must stay inside the project (``../..`` does not leave it silently)."""
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", location) and not location.startswith("file:"):
        return
    path_text = unquote(urlsplit(location).path) if location.startswith("file:") else location
    path = stays_inside(key, location, Path(path_text).expanduser(), project)
    folder = _system_folder(path)
    if folder is not None:
        raise ConfigError(f"{key}={location!r} is inside the system folder {folder}; choose a folder of your own")


def stays_inside(key: str, given: str, path: Path, project: Path) -> Path:
    """The one rule for every path a command writes: a relative path stays inside the project folder (``../..``
    does not leave it silently); an absolute one is taken as meant. Returns the path made absolute."""
    if path.is_absolute():
        return path
    resolved = (project / path).resolve()
    if project.resolve() not in (resolved, *resolved.parents):
        raise ConfigError(
            f"{key}={given!r} leaves the project folder {project}; give a path inside it, or an absolute path "
            "if it is meant to go elsewhere"
        )
    return resolved


HYDRA_FOLDERS = ("hydra.run.dir", "hydra.sweep.dir", "hydra.runtime.output_dir")  # Hydra creates them before any check


def check_hydra_folders(overrides: list[str]) -> None:
    """Refuse a Hydra output folder in a system folder, from the command line itself: Hydra creates it before
    the command's own checks run (``hydra.run.dir=/etc/x`` would create /etc/x)."""
    for override in overrides:
        key, _, value = override.lstrip("+~").partition("=")
        if key in HYDRA_FOLDERS and value:
            folder = _system_folder(stays_inside(key, value, Path(value).expanduser(), Path.cwd()))
            if folder is not None:
                raise ConfigError(f"{key}={value!r} is inside the system folder {folder}; choose a folder of your own")
