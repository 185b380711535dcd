"""Store locations: relative SQLite paths made absolute, and passwords masked before anything is logged."""

import re
from pathlib import Path
from urllib.parse import urlsplit

_SQLITE = "sqlite:///"


def absolute_sqlite_uri(uri: str, base: Path | None = None, *, create: bool = True) -> str:
    """``sqlite:///mlruns/x.db`` relative to ``base`` (default: the working directory) made absolute,
    with its folder created (unless ``create`` is false); any other URI is returned unchanged.

    Worker processes and later reruns then find the same store whatever their working directory.
    """
    if not uri.startswith(_SQLITE) or uri == _SQLITE + ":memory:":
        return uri
    path = Path(uri[len(_SQLITE) :])
    if not path.is_absolute():
        path = (base or Path.cwd()) / path
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    return _SQLITE + str(path.resolve())


def sqlite_file(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (made absolute), or None for any other URI."""
    if not uri.startswith(_SQLITE) or uri == _SQLITE + ":memory:":
        return None
    return Path(uri[len(_SQLITE) :].partition("?")[0]).absolute()


def absolute_path(location: str, base: Path | None = None) -> str:
    """A plain relative folder made absolute (and created); URIs with a scheme are returned unchanged."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", location) and not re.match(r"^[a-zA-Z]:[\\/]", location):
        return location
    path = Path(location)
    if not path.is_absolute():
        path = (base or Path.cwd()) / path
    path.mkdir(parents=True, exist_ok=True)
    return str(path.resolve())


def mask_password(uri: str) -> str:
    """``scheme://user:secret@host/db`` → ``scheme://user:***@host/db``; also masks ``password=`` query values.

    Only the secrets are replaced, in place: rebuilding the URI from its parts would turn
    ``sqlite:///relative.db`` into ``sqlite:/relative.db``, an absolute path.
    """
    netloc = urlsplit(uri).netloc
    if "@" in netloc:
        credentials, _, host = netloc.rpartition("@")
        if ":" in credentials:
            user = credentials.split(":", 1)[0]
            uri = uri.replace(f"//{netloc}", f"//{user}:***@{host}", 1)
    head, question, query = uri.partition("?")
    return head + question + re.sub(r"(?i)((?:password|passwd|pwd|token)=)[^&#]*", r"\1***", query)


# A password inside any URI-like text: scheme://user:SECRET@host
_CREDENTIALS = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@'\"]*:)(?P<secret>[^\s@'\"/]+)(?P<at>@)")
_QUERY_SECRET = re.compile(r"(?i)((?:password|passwd|pwd|token)=)[^&#\s'\"]+")
# Environment variables whose values are secrets wherever they appear.
SECRET_VARIABLES = ("MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN", "PGPASSWORD", "DATABRICKS_TOKEN")


def mask_secrets(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with every URI password, ``password=`` value and each of ``secrets`` replaced by ``***``."""
    text = _CREDENTIALS.sub(r"\g<head>***\g<at>", text)
    text = _QUERY_SECRET.sub(r"\1***", text)
    for secret in secrets:
        if secret and len(secret) >= 4:  # a 1-3 character "secret" would mask ordinary text
            text = text.replace(secret, "***")
    return text
