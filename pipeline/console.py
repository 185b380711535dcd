"""What the entry points print: short results, and clear one-line errors instead of tracebacks."""

import errno
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from models import DivergenceError, ModelFileError
from pipeline.config import ConfigError
from pipeline.data import DataError
from pipeline.uris import mask_password

# Exit codes: 1 for a refused input or a failed run, 130 for Ctrl-C, 143 for SIGTERM (the shell's
# conventions).
EXPECTED_ERRORS = (ConfigError, DataError, DivergenceError, ModelFileError)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that whatever is running closes its trial and run on the way out."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated("SIGTERM")


def handle_sigterm() -> None:
    """From now on SIGTERM raises ``Terminated`` in the main thread instead of killing the process."""
    signal.signal(signal.SIGTERM, _raise_terminated)


@contextmanager
def fail_cleanly() -> Iterator[None]:
    """Turn the errors a user can fix into one clear message and exit code 1; Ctrl-C into exit 130,
    SIGTERM into 143."""
    try:
        yield
    except EXPECTED_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    except Exception as error:
        if not write_failed(error):
            raise
        print(
            f"error: a write failed ({error}). What was recorded before is intact (files are written to a "
            "temporary name and renamed); free some space and run the same command again to resume.",
            file=sys.stderr,
        )
        sys.exit(1)
    except Terminated:
        print("terminated", file=sys.stderr)
        sys.exit(143)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)


def write_failed(error: BaseException) -> bool:
    """Whether ``error`` (or its cause) is a full disk, an exceeded quota or a file size limit."""
    for _ in range(10):  # a bounded walk down the chain of causes
        if error is None:
            return False
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            return True
        if "disk is full" in str(error) or "No space left" in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False


def print_result(run_id: str, metrics: dict[str, float], tracking_uri: str) -> None:
    shown = ", ".join(f"{key}={value:.4f}" for key, value in sorted(metrics.items()))
    print(f"run {run_id}: {shown}")
    print(f"browse: mlflow ui --backend-store-uri {mask_password(tracking_uri)}")
