"""A study storage server that restarts is waited out, not a crash.

A sweep on PostgreSQL talks to the database at every step of every trial. When the server restarts (an
upgrade, a failover, ``pg_ctlcluster ... restart``) each call fails for a few seconds with "connection
refused" or "server closed the connection unexpectedly", and Optuna reports it as a ``StorageInternalError``
that says the data may be too long. ``patiently`` retries a call while the failure is a lost or refused
connection, for up to ``OUTAGE_SECONDS`` in all, and says once that it waits and once that the server is back;
``pipeline.search.patient_storage.PatientStorage`` is Optuna's ``RDBStorage`` with every call made so, and the
PostgreSQL budget lock (``records/locks.py``) takes its lock so. MLflow's client does the same for an
``mlflow server`` (its HTTP retries); this is the study storage's half.

Past the limit the call raises ``StoreOutageError``: one line saying which storage stopped answering and that
the same command resumes. From then on every call of this process fails at once with it, so that closing the
run and the trial on the way out does not wait the limit again for each write. What cannot be written then
(the trial's state) is repaired by the next start: the trial of a process that is gone is failed and retried.

SQLite needs none of this (a local file does not restart); its lock waits are Optuna's ``timeout``.
"""

import random
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy.exc

from pipeline.errors import StoreOutageError, causes, first_line
from pipeline.records.uris import mask_password

T = TypeVar("T")

OUTAGE_SECONDS = 120.0  # how long a storage may stay unreachable before the command gives up (MLflow's own limit)


def connection_lost(error: BaseException) -> bool:
    """Whether ``error`` (or its cause) is a refused, lost or reset connection to the database server."""
    for cause in causes(error):
        if isinstance(cause, sqlalchemy.exc.DBAPIError) and cause.connection_invalidated:
            return True
        if isinstance(cause, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError):
            text = str(cause).lower()
            if any(sign in text for sign in ("connection", "server closed", "terminating", "shutting down")):
                return True
    return False


class _Outage:
    """The process's view of the storage server, shared by its threads (the trials, the heartbeat, the bar)."""

    lock = threading.Lock()
    since: float | None = None  # when the current outage was first seen (said once, by whichever thread saw it)
    gave_up: StoreOutageError | None = None  # once given up, every later call of the process fails at once

    @classmethod
    def seen(cls, url: str, error: BaseException) -> float:
        with cls.lock:
            if cls.since is None:
                cls.since = time.monotonic()
                print(
                    f"the study storage {mask_password(url)} is not answering ({_telling(error)}); "
                    f"waiting up to {OUTAGE_SECONDS:.0f} s for it",
                    file=sys.stderr,
                )
            return cls.since

    @classmethod
    def over(cls) -> None:
        with cls.lock:
            if cls.since is not None:
                print(f"the study storage answers again after {time.monotonic() - cls.since:.0f} s", file=sys.stderr)
                cls.since = None


def patiently(url: str, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``call(*args, **kwargs)``, retried with backoff while the database server at ``url`` cannot be reached,
    for up to ``OUTAGE_SECONDS`` (then ``StoreOutageError``, at once for every later call of the process)."""
    pause = 0.25
    while True:
        if _Outage.gave_up is not None:
            raise _Outage.gave_up
        try:
            result = call(*args, **kwargs)
        except Exception as error:
            if not connection_lost(error):
                raise
            if time.monotonic() - _Outage.seen(url, error) > OUTAGE_SECONDS:
                _Outage.gave_up = StoreOutageError(
                    f"the study storage {mask_password(url)} stopped answering for more than {OUTAGE_SECONDS:.0f} s "
                    f"({_telling(error)}); every finished trial is recorded: run the same command again to resume "
                    "once it answers"
                )
                raise _Outage.gave_up from None
            time.sleep(pause * (0.5 + random.random()))
            pause = min(pause * 2, 5.0)
            continue
        _Outage.over()
        return result


def _telling(error: BaseException) -> str:
    """The driver's own words under SQLAlchemy's and Optuna's wrappings (the deepest cause that says something)."""
    return first_line(error, deepest=True, limit=200)
