"""File locks beside SQLite stores, for processes on one machine that share a store.

SQLite stores only ever serve one machine, so a lock file next to the database is enough to
serialize first-time schema creation, the budget check before a new trial, and the end-of-sweep
summary. For server stores (PostgreSQL, an MLflow server) the locks do nothing.
"""

import fcntl
from pathlib import Path
from types import TracebackType

from pipeline.uris import absolute_sqlite_uri

_SQLITE = "sqlite:///"


class StoreLock:
    """An exclusive lock named ``<database>.<purpose>.lock``; ``release`` may be called any number of times."""

    def __init__(self, store_uri: str, purpose: str) -> None:
        uri = absolute_sqlite_uri(store_uri)
        self.path = Path(f"{uri[len(_SQLITE) :]}.{purpose}.lock") if uri.startswith(_SQLITE) else None
        self._handle = None

    def acquire(self) -> None:
        if self.path is not None and self._handle is None:
            self._handle = open(self.path, "a")  # noqa: SIM115 (held across calls, closed in release)
            fcntl.flock(self._handle, fcntl.LOCK_EX)

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> "StoreLock":
        self.acquire()
        return self

    def __exit__(self, kind: type | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.release()
