"""The errors a user can fix, and how to recognise a failed write: the bottom of ``pipeline``, importing nothing of it.

Every message names the key or file, the bad value and what is allowed, so that the entry points can
print it as one line instead of a traceback.
"""

import errno


class ConfigError(ValueError):
    """A configuration value is not allowed; the message names the key, the value and what is allowed."""


class DataError(ValueError):
    """Bad arguments or bad data; the message names the file or argument, the problem and the fix."""


def write_failed(error: BaseException | None) -> bool:
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
