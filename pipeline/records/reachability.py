"""Are the servers there? One short request to each server a command will use, before anything is touched.

An ``mlflow server`` that is down makes MLflow's client retry for minutes and then print a traceback;
a PostgreSQL server that is down fails deep inside Optuna. The pre-flight asks first, with a short
timeout, and turns every answer that is not "yes" into one ``ConfigError`` naming the server (its URI
with the password masked) and the fix:

- an ``http(s)://`` tracking URI: ``GET /health`` (unauthenticated), then one authenticated API call
  (``experiments/search``, one result) with the credentials MLflow itself will send: the
  MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN) environment
  variables, and MLflow's TLS variables;
- a database URI (``postgresql://``, ``mysql://``), as the study storage or as the tracking URI:
  one connection with a short ``connect_timeout``.

Local stores (``sqlite:``, folders) are not checked. Only the standard library and SQLAlchemy.
"""

import math
import os
import socket
import ssl
import urllib.error
import urllib.request
from base64 import b64encode
from urllib.parse import urlsplit, urlunsplit

from pipeline.errors import ConfigError, first_line
from pipeline.records.uris import mask_password

TIMEOUT_SECONDS = 5.0
# A server that accepted the connection but is slow to answer is waited for as long as MLflow's own client
# would wait (MLFLOW_HTTP_REQUEST_TIMEOUT, 120 s by default): the pre-flight refuses what is unreachable or
# misconfigured, never what is only slow.
SLOW_SECONDS = float(os.environ.get("MLFLOW_HTTP_REQUEST_TIMEOUT", "120"))
DATABASE_SCHEMES = ("postgresql", "mysql")  # also postgresql+psycopg://, mysql+pymysql://, ...
SET_CREDENTIALS = "set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"


def check_reachable(
    tracking_uri: str, storage: str | None = None, timeout: float = TIMEOUT_SECONDS, slow: float | None = None
) -> None:
    """Raise ``ConfigError`` unless every server among ``tracking_uri`` and ``storage`` answers.

    Both are checked, so that one message names every server that is missing; a refused connection or an
    unknown host fails at once, a tracking server with no answer within ``timeout`` seconds is asked again
    and waited for up to ``slow`` seconds (MLflow's own limit) before it is refused.
    """
    problems = []
    if tracking_uri.startswith(("http://", "https://")):
        problems.append(_tracking_server_problem(tracking_uri, timeout, SLOW_SECONDS if slow is None else slow))
    for uri in dict.fromkeys((tracking_uri, storage or "")):
        if uri.startswith(DATABASE_SCHEMES):
            problems.append(_database_problem(uri, timeout))
    found = [problem for problem in problems if problem]
    if found:
        raise ConfigError("; ".join(found))


# ----- the tracking server -----------------------------------------------------------------------------
def _tracking_server_problem(uri: str, timeout: float, slow: float) -> str | None:
    shown = mask_password(uri)
    parts = urlsplit(uri)
    # user:password@ in the URI itself: sent as basic auth, the way MLflow's client (requests) does.
    base = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path.rstrip("/"), "", ""))
    headers, credentials = _auth_headers(parts.username, parts.password)
    context = _tls_context() if parts.scheme == "https" else None

    status, failure, _ = _get_patiently(f"{base}/health", {}, (timeout, slow), context, shown)
    if failure is not None:
        return (
            f"cannot reach the tracking server {shown} ({failure}): start it (mlflow server) "
            "or fix tracking.tracking_uri"
        )
    if status == 404:
        return f"{shown} is not an MLflow tracking server (GET /health answered 404): check tracking.tracking_uri"
    if status not in (200, 401, 403):  # a proxy may protect /health too; the API call below says more
        return f"the tracking server {shown} is not healthy (GET /health answered {status}): see the server's log"

    search = f"{base}/api/2.0/mlflow/experiments/search?max_results=1"
    status, failure, body = _get_patiently(search, headers, (timeout, slow), context, shown)
    if failure is not None:
        return f"the tracking server {shown} stopped answering ({failure}): see the server's log"
    if status == 401 and credentials:
        return (
            f"the tracking server {shown} refused the credentials in {credentials} (401): check the user name "
            "and password, or ask the server's admin to create the user"
        )
    if status == 401:
        return f"the tracking server {shown} needs credentials: {SET_CREDENTIALS}"
    if status == 403 and "Invalid Host header" in body:
        return (
            f"the tracking server {shown} refuses the host name {parts.netloc.rpartition('@')[2]!r} (403 Invalid "
            "Host header): start it with that name among its --allowed-hosts, or use a name it allows"
        )
    if status == 403:
        return (
            f"the tracking server {shown} refused access to its experiments (403): ask its admin for permission "
            f"(MLflow basic-auth: READ or more) for the user in MLFLOW_TRACKING_USERNAME"
        )
    if status >= 500:
        return (
            f"the tracking server {shown} failed an API call ({status}): its backend store may be down; "
            "see the server's log"
        )
    if status != 200:
        return f"the tracking server {shown} answered {status} to an API call: check tracking.tracking_uri"
    return None


def _auth_headers(url_user: str | None, url_password: str | None) -> tuple[dict[str, str], str]:
    """The Authorization header MLflow's client will send, and where its credentials come from."""
    user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if user and password:
        source = "MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD"
    elif token:
        return {"Authorization": f"Bearer {token}"}, "MLFLOW_TRACKING_TOKEN"
    elif url_user is not None:
        user, password, source = url_user, url_password or "", "tracking.tracking_uri"
    else:
        return {}, ""
    basic = b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {basic}"}, source


def _tls_context() -> ssl.SSLContext:
    """TLS as MLflow's client is told to do it: MLFLOW_TRACKING_INSECURE_TLS, MLFLOW_TRACKING_SERVER_CERT_PATH,
    MLFLOW_TRACKING_CLIENT_CERT_PATH."""
    if os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() == "true":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context = ssl.create_default_context(cafile=os.environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH") or None)
    client_cert = os.environ.get("MLFLOW_TRACKING_CLIENT_CERT_PATH")
    if client_cert:
        context.load_cert_chain(client_cert)
    return context


def _get_patiently(
    url: str, headers: dict[str, str], timeouts: tuple[float, float], context: ssl.SSLContext | None, shown: str
) -> tuple[int, str | None, str]:
    """``_get`` with the short timeout, then, if the server took the connection but did not answer in time,
    once more with the long one (saying so: the command is waiting, not stuck)."""
    short, long = timeouts
    answer = _get(url, headers, short, context)
    if answer[1] is None or not answer[1].startswith("no answer within") or long <= short:
        return answer
    print(f"the tracking server {shown} is slow (no answer within {short:g} s); waiting up to {long:g} s", flush=True)
    return _get(url, headers, long, context)


def _get(
    url: str, headers: dict[str, str], timeout: float, context: ssl.SSLContext | None
) -> tuple[int, str | None, str]:
    """``(status, None, start of the body)`` for any HTTP answer; ``(0, why, "")`` when there was none."""
    request = urllib.request.Request(url, headers=headers, method="GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as answer:
            return answer.status, None, ""
    except urllib.error.HTTPError as error:
        with error:
            body = error.read(300).decode("utf-8", "replace")
        return error.code, None, body
    except (urllib.error.URLError, OSError) as error:
        return 0, _why(getattr(error, "reason", error), timeout), ""


def _why(reason: object, timeout: float) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused: nothing listens there"
    if isinstance(reason, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(reason, socket.gaierror):
        return "host name not found"
    if isinstance(reason, ssl.SSLError):
        return f"TLS failed: {getattr(reason, 'reason', None) or reason}; see MLFLOW_TRACKING_SERVER_CERT_PATH"
    return str(reason)


# ----- a database server -------------------------------------------------------------------------------
def _database_problem(uri: str, timeout: float) -> str | None:
    # Imported here: only a database server needs SQLAlchemy, and a sweep on SQLite files starts sooner.
    import sqlalchemy
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    shown = mask_password(uri)
    try:
        url = make_url(uri)
    except sqlalchemy.exc.ArgumentError:
        return f"{shown} is not a database URL (expected e.g. postgresql://USER:PASSWORD@HOST:5432/DB)"
    where = f"{url.host or 'localhost'}:{url.port or ''}".rstrip(":")
    try:
        engine = sqlalchemy.create_engine(
            url, poolclass=NullPool, connect_args={"connect_timeout": max(2, math.ceil(timeout))}
        )
    except ImportError as error:  # the driver is not installed
        return f'cannot use {shown}: {error}; install the driver (pip install -e ".[postgres]" for PostgreSQL)'
    try:
        with engine.connect():
            return None
    except sqlalchemy.exc.DBAPIError as error:
        message = first_line(error.orig or error)
    except Exception as error:  # a driver that fails in its own way: still one line, never the password
        message = f"{type(error).__name__}: {first_line(error)}"
    finally:
        engine.dispose()
    if url.password:  # a driver may quote the URI it was given
        message = message.replace(url.password, "***")
    text = message.lower()
    if "password authentication failed" in text:
        return f"the database server {where} refused the password of user {url.username!r} in {shown}: fix it"
    if "no password supplied" in text:
        return f"the database server {where} needs a password for {shown}: put it in ~/.pgpass or PGPASSWORD"
    if "does not exist" in text and "database" in text:
        return (
            f"the database {url.database!r} does not exist on {where} ({shown}): create it "
            f"(createdb -O {url.username} {url.database}) or fix tracking.storage"
        )
    if "no pg_hba.conf entry" in text:
        return f"the database server {where} refuses connections from this machine (pg_hba.conf) for {shown}"
    if "connection refused" in text:
        return f"cannot reach the database server {where} (connection refused) for {shown}: start it or fix the URI"
    if "timeout" in text or "timed out" in text:
        return f"cannot reach the database server {where} (no answer within {timeout:g} s) for {shown}"
    if "could not translate host name" in text or "name or service not known" in text:
        return f"cannot reach the database server {where} (host name not found) for {shown}"
    return f"cannot use the database {shown}: {message}"
