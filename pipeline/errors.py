"""The errors a user can fix, and how to recognise a failed write: the bottom of ``pipeline``, importing nothing of it.

Every message names the key or file, the bad value and what is allowed, so that the entry points can
print it as one line instead of a traceback.
"""

import errno
from collections.abc import Callable, Iterator


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


def first_line(
    error: BaseException,
    prefer: Callable[[BaseException], bool] | None = None,
    deepest: bool = False,
    limit: int = 300,
) -> str:
    """The telling line of an error chain (``causes``), for a one-line message: the first error down the chain that
    ``prefer`` accepts; else, with ``deepest``, the deepest one that says something (a driver's error under an ORM's
    wrapping; some say only ``()``); else ``error`` itself. Its first non-blank line, cut to ``limit`` characters, or
    its type's name when it says nothing."""
    chain = list(causes(error))
    chosen = next((e for e in chain if prefer(e)), None) if prefer is not None else None
    if chosen is None and deepest:
        chosen = next((e for e in reversed(chain) if len(_line(e).strip("() ")) > 3), None)
    chosen = chosen or error
    return (_line(chosen) or type(chosen).__name__)[:limit]


def _line(error: BaseException) -> str:
    return next((part.strip() for part in str(error).splitlines() if part.strip()), "")
