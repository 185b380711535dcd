"""What the entry points print: short results, and clear one-line errors instead of tracebacks."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from models import DivergenceError, ModelFileError
from pipeline.config import ConfigError
from pipeline.data import DataError
from pipeline.uris import mask_password

# Exit codes: 1 for a refused input or a failed run, 130 for Ctrl-C (the shell's convention).
EXPECTED_ERRORS = (ConfigError, DataError, DivergenceError, ModelFileError)


@contextmanager
def fail_cleanly() -> Iterator[None]:
    """Turn the errors a user can fix into one clear message and exit code 1; Ctrl-C into exit 130."""
    try:
        yield
    except EXPECTED_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)


def print_result(run_id: str, metrics: dict[str, float], tracking_uri: str) -> None:
    shown = ", ".join(f"{key}={value:.4f}" for key, value in sorted(metrics.items()))
    print(f"run {run_id}: {shown}")
    print(f"browse: mlflow ui --backend-store-uri {mask_password(tracking_uri)}")
