"""Locks shared by every process that uses one store, so that they take turns where it matters:
first-time schema creation, the budget check before a new trial, the end-of-sweep summary; and the
SQLite settings the stores get (write-ahead logging, commits without an ``fsync`` each).

SQLite stores serve one machine: a lock file beside the database is enough. PostgreSQL stores
serve many: a session-level advisory lock in the database itself. Other stores get no lock.
"""

import atexit
import contextlib
import fcntl
import os
import sqlite3
import weakref
import zlib
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import sqlalchemy

from pipeline.records.outage import connection_lost, patiently
from pipeline.records.uris import absolute_sqlite_uri

_SQLITE = "sqlite:///"
_engines: dict[str, sqlalchemy.Engine] = {}
_held_files: dict[Path, list] = {}  # lock file -> [open handle, nesting count] held by this process


def _engine(url: str) -> sqlalchemy.Engine:
    if url not in _engines:  # one small pool per store and process, reused by every lock
        _engines[url] = sqlalchemy.create_engine(url, pool_size=1, max_overflow=2, pool_pre_ping=True)
    return _engines[url]


class StoreLock:
    """An exclusive lock on ``purpose`` for one store; ``release`` may be called any number of times."""

    def __init__(self, store_uri: str, purpose: str) -> None:
        uri = absolute_sqlite_uri(store_uri)
        self.path = Path(f"{uri[len(_SQLITE) :]}.{purpose}.lock") if uri.startswith(_SQLITE) else None
        self.postgres_url = uri if uri.startswith(("postgresql", "postgres")) else None
        self.key = zlib.crc32(f"deepsweep:{purpose}".encode())  # the advisory lock's number
        self._handle = None
        self._connection: sqlalchemy.Connection | None = None

    def acquire(self) -> None:
        if self.path is not None and self._handle is None:
            held = _held_files.get(self.path)
            if held is not None:  # this process holds it already (nested use): count, do not deadlock
                held[1] += 1
                self._handle = held[0]
                return
            self._handle = open(self.path, "a")  # noqa: SIM115 (held across calls, closed in release)
            fcntl.flock(self._handle, fcntl.LOCK_EX)
            _held_files[self.path] = [self._handle, 1]
        elif self.postgres_url is not None and self._connection is None:
            self._connection = patiently(self.postgres_url, self._lock_in_postgres)

    def _lock_in_postgres(self) -> sqlalchemy.Connection:
        connection = _engine(self.postgres_url).connect()
        try:
            connection.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"), {"key": self.key})
        except BaseException:
            connection.invalidate()
            raise
        return connection

    def release(self) -> None:
        if self._handle is not None:
            held = _held_files[self.path]
            held[1] -= 1
            if held[1] == 0:
                del _held_files[self.path]
                fcntl.flock(self._handle, fcntl.LOCK_UN)
                self._handle.close()
            self._handle = None
        if self._connection is not None:
            connection, self._connection = self._connection, None
            try:
                connection.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
                connection.rollback()
                connection.close()
            except Exception as error:
                # The server restarted under the lock: its session, and with it the lock, is gone already.
                if not connection_lost(error):
                    raise
                connection.invalidate()

    def __enter__(self) -> "StoreLock":
        self.acquire()
        return self

    def __exit__(self, kind: type | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.release()


@sqlalchemy.event.listens_for(sqlalchemy.engine.Engine, "connect")
def _commit_without_fsync(connection: object, _record: object) -> None:
    """Every SQLite connection of this process (Optuna's, MLflow's, the locks') commits without
    waiting for the disk: ``PRAGMA synchronous=NORMAL``.

    In write-ahead-log mode (``enable_wal``) a commit is still atomic and survives the process being
    killed at any instant; only an operating-system crash or a power cut may lose the last commits,
    never the store's consistency (docs/RELIABILITY.md). A trial's bookkeeping is a few dozen small
    commits, and an ``fsync`` each was a fifth of it (docs/BENCHMARKS.md).
    """
    if isinstance(connection, sqlite3.Connection):
        connection.execute("PRAGMA synchronous=NORMAL")


_sqlite_engines: "weakref.WeakSet[sqlalchemy.Engine]" = weakref.WeakSet()


@sqlalchemy.event.listens_for(sqlalchemy.engine.Engine, "engine_connect")
def _remember_sqlite_engine(connection: sqlalchemy.Connection) -> None:
    if connection.engine.dialect.name == "sqlite":
        _sqlite_engines.add(connection.engine)


@atexit.register
def close_sqlite_stores() -> None:
    """Close this process's SQLite connections at exit, so that the last one out folds the write-ahead
    log back into the database file and removes it: ``mlflow.db`` alone then holds every record, even
    when the process leaves without the interpreter's teardown (``pipeline.console.run_to_exit``)."""
    for engine in list(_sqlite_engines):
        with contextlib.suppress(Exception):  # exiting: a store that cannot close now keeps its log file
            engine.dispose()


def enable_wal(store_uri: str) -> None:
    """Put a SQLite store in write-ahead-log mode (a setting kept in the file; no-op for other stores).

    Readers then never block the writer and commits cost one sequential append instead of a journal
    and a database write: fewer "database is locked" waits between workers, faster small writes.
    """
    uri = absolute_sqlite_uri(store_uri)
    if uri.startswith(_SQLITE) and Path(uri[len(_SQLITE) :]).exists():
        with contextlib.closing(sqlite3.connect(uri[len(_SQLITE) :], timeout=60)) as connection:
            connection.execute("PRAGMA journal_mode=WAL")


def create_atomically(database: Path, create: Callable[[str], object]) -> None:
    """Create the SQLite store ``database`` whole or not at all: ``create(uri)`` builds its schema in a
    temporary file beside it, which is then synced and renamed into place. A process killed at any
    instant leaves either no store or a complete one (plus, at worst, a stale temporary file, which
    the next creation removes). Call it holding the store's ``init`` lock."""
    for stale in database.parent.glob(f".{database.name}.creating-*"):
        pid = stale.name.rpartition("-")[2]
        if not (pid.isdigit() and process_alive(int(pid))):
            stale.unlink(missing_ok=True)
    temporary = database.with_name(f".{database.name}.creating-{os.getpid()}")
    temporary.unlink(missing_ok=True)
    try:
        create(f"{_SQLITE}{temporary}")
        with contextlib.closing(sqlite3.connect(temporary, timeout=60)) as connection:
            connection.execute("PRAGMA journal_mode=DELETE")  # fold any write-ahead log into the file itself
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, database)
        directory = os.open(database.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    finally:
        remove_database(temporary)


def remove_database(database: Path) -> None:
    """Delete a SQLite file and the log files SQLite may keep beside it."""
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm"), Path(f"{database}-journal")):
        path.unlink(missing_ok=True)


def process_alive(pid: int, started: str | None = None) -> bool:
    """Whether a process with this id exists on this machine, and, given ``started`` (``process_started`` of
    the process that had the id), whether it is still that process: a machine or container restarted with the
    same host name hands the same ids to new processes, which must not pass for the dead ones."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        pass
    now = process_started(pid) if started else None
    return now is None or now == started


def process_started(pid: int) -> str | None:
    """When process ``pid`` started, in clock ticks since the machine booted, and the boot's id (Linux's
    /proc), as ``<boot id>/<ticks>``: unique to one process on one machine. ``None`` where /proc cannot say."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
    fields = stat[stat.rindex(")") + 2 :].split()
    return f"{boot}/{fields[19]}"  # field 22 of proc(5), starttime
