"""What the entry points print: short results, and clear one-line errors instead of tracebacks."""

import atexit
import io
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn
from urllib.parse import unquote, urlsplit

from models import DivergenceError, ModelFileError
from pipeline.errors import ConfigError, DataError, StoreOutageError, causes, first_line, write_failed
from pipeline.interrupts import Terminated, handle_signals
from pipeline.records.uris import SECRET_VARIABLES, mask_password, mask_secrets

# Exit codes: 1 for a refused input or a failed run, 130 for Ctrl-C, 143 for SIGTERM (the shell's
# conventions).
EXPECTED_ERRORS = (ConfigError, DataError, DivergenceError, ModelFileError, StoreOutageError)


MAX_MESSAGE = 2000  # characters of one error message: a 1 MB column name must not become a 1 MB line

__all__ = [
    "Terminated",
    "add_secrets",
    "fail_cleanly",
    "handle_sigterm",
    "mask_output",
    "print_result",
    "run_to_exit",
]


class MaskedStream(io.TextIOBase):
    """A text stream that masks secrets in everything written through it (Hydra's and MLflow's lines too)."""

    secrets: tuple[str, ...] = ()  # passwords of the config's store URIs, added by ``add_secrets``

    def __init__(self, stream: io.TextIOBase) -> None:
        self._stream = stream
        self._environment = tuple(os.environ[name] for name in SECRET_VARIABLES if os.environ.get(name))

    def write(self, text: str) -> int:
        self._stream.write(mask_secrets(text, self._environment + MaskedStream.secrets))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._stream, "encoding", "utf-8")


def mask_output() -> None:
    """From now on every line this process prints on stdout and stderr has its secrets masked."""
    if not isinstance(sys.stdout, MaskedStream):
        sys.stdout = MaskedStream(sys.stdout)
    if not isinstance(sys.stderr, MaskedStream):
        sys.stderr = MaskedStream(sys.stderr)


def add_secrets(*uris: str) -> None:
    """Mask the passwords of these URIs wherever they appear in what this process prints."""
    found = []
    for uri in uris:
        password = urlsplit(uri).password if "://" in uri else None
        if password:
            found += [password, unquote(password)]
    MaskedStream.secrets = tuple(dict.fromkeys((*MaskedStream.secrets, *found)))


def run_to_exit(main: Callable[[], object]) -> NoReturn:
    """Run an entry point's ``main`` and end the process with its exit code, without Python's teardown.

    After a sweep the interpreter spends 0.5-0.9 s freeing every loaded module one object at a time
    (MLflow, pandas, matplotlib, scikit-learn; docs/BENCHMARKS.md), longer than many trials. Nothing
    of ours needs it: every store write is committed when it is made, every call of ours waits for
    its result (threads still alive are idle pool workers, e.g. MLflow's download pool), and what
    must happen at exit happens here first: the ``atexit`` handlers run (MLflow's, logging's,
    multiprocessing's, and ``records.locks``' closing of the SQLite stores), stdout and stderr are
    flushed. Then ``os._exit``. An exception other than ``SystemExit`` leaves the normal way.
    """
    try:
        main()
        code: object = 0
    except SystemExit as stop:
        code = stop.code
    if code is None:
        code = 0
    elif not isinstance(code, int):  # sys.exit("message"): printed, exit 1, as Python does
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()  # the handlers Python would run at exit, in its order
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can be written anyway
            pass
    os._exit(code)


def handle_sigterm() -> None:
    """SIGTERM and Ctrl-C raise in the main thread, never inside a store write (``pipeline.interrupts``)."""
    handle_signals()


def brief(value: object, digits: int = 4) -> str:
    """A value as a run name, a figure's label or a table shows it: a float to ``digits`` significant digits, a whole
    float as an integer (``64.0`` -> ``64`` and ``100000.0`` -> ``100000``, where ``digits`` alone could give
    ``1e+05``); anything else as it prints."""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.{digits}g}"
    return str(value)


def short(message: str, limit: int = MAX_MESSAGE) -> str:
    """``message`` cut to ``limit`` characters, saying how much was left out."""
    return message if len(message) <= limit else f"{message[:limit]}… ({len(message) - limit} more characters)"


def _names_the_write(error: BaseException) -> bool:
    """An error that says what failed at the bottom of a write (an OSError, a locked or full database)."""
    return isinstance(error, OSError) or any(sign in str(error) for sign in ("locked", "No space", "disk is full"))


def what_failed(error: BaseException) -> str:
    """The failed write in the user's words: the bottom cause's first line (not Optuna's "exceeding max length"
    nor the SQL statement SQLAlchemy appends), a full SQLite database said to be a full disk."""
    line = first_line(error, prefer=_names_the_write, limit=300)
    if "disk is full" in line and "No space" not in line:
        line = f"No space left on device ({line.removeprefix('(sqlite3.OperationalError) ')})"
    return short(line, 300)


def _locked(error: BaseException) -> bool:
    return any(re.search(r"database is locked|database is busy", str(e)) for e in causes(error))


@contextmanager
def fail_cleanly() -> Iterator[None]:
    """Turn the errors a user can fix into one clear message and exit code 1; Ctrl-C into exit 130,
    SIGTERM into 143."""
    try:
        yield
    except EXPECTED_ERRORS as error:
        print(f"error: {short(str(error))}", file=sys.stderr)
        sys.exit(1)
    except Exception as error:
        if write_failed(error):
            print(
                f"error: a write failed ({what_failed(error)}). What was recorded before is intact "
                "(files are written to a temporary name and renamed); free some space and run the same command "
                "again to resume.",
                file=sys.stderr,
            )
            sys.exit(1)
        if _locked(error):
            print(
                "error: a store stayed locked by another process for longer than deepsweep waits (120 s). "
                "Nothing was half-written; stop the other process (or wait for it) and run the same command "
                "again to resume.",
                file=sys.stderr,
            )
            sys.exit(1)
        raise
    except Terminated:
        print("terminated", file=sys.stderr)
        sys.exit(143)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)


def print_result(run_id: str, metrics: dict[str, float], tracking_uri: str) -> None:
    # Counts (n_parameters) are whole numbers: printed as such, not as 17.0000.
    shown = ", ".join(
        f"{key}={int(value)}" if key.startswith("n_") and float(value).is_integer() else f"{key}={value:.4f}"
        for key, value in sorted(metrics.items())
    )
    print(f"run {run_id}: {shown}")
    print(f"browse: mlflow ui --backend-store-uri {mask_password(tracking_uri)}")
