"""The errors a user can fix, and how to recognise a failed write: the bottom of ``pipeline``, importing nothing of it.

Every message names the key or file, the bad value and what is allowed, so that the entry points can
print it as one line instead of a traceback.
"""

import errno
from collections.abc import Iterator


class ConfigError(ValueError):
    """A configuration value is not allowed; the message names the key, the value and what is allowed."""


class StoreOutageError(RuntimeError):
    """A store's server stopped answering for longer than the command waits; the message says which and that the
    same command resumes."""


class DataError(ValueError):
    """Bad arguments or bad data; the message names the file or argument, the problem and the fix."""


def causes(error: BaseException | None, limit: int = 10) -> Iterator[BaseException]:
    """``error`` and what caused it, down the chain (bounded: chains can loop)."""
    for _ in range(limit):
        if error is None:
            return
        yield error
        error = error.__cause__ or error.__context__


def write_failed(error: BaseException | None) -> bool:
    """Whether ``error`` (or its cause) is a full disk, an exceeded quota or a file size limit."""
    return any(
        (isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG))
        or "disk is full" in str(e)
        or "No space left" in str(e)
        for e in causes(error)
    )
