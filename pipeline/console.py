"""What the entry points print: short results, and clear one-line errors instead of tracebacks."""

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from models import DivergenceError, ModelFileError
from pipeline.errors import ConfigError, DataError, write_failed
from pipeline.records.uris import mask_password

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


def print_result(run_id: str, metrics: dict[str, float], tracking_uri: str) -> None:
    shown = ", ".join(f"{key}={value:.4f}" for key, value in sorted(metrics.items()))
    print(f"run {run_id}: {shown}")
    print(f"browse: mlflow ui --backend-store-uri {mask_password(tracking_uri)}")
