"""The servers a sweep over several machines needs, started for one test on 127.0.0.1.

- ``postgres_database(prefix)``: a fresh PostgreSQL database on the server named by
  DEEPSWEEP_TEST_POSTGRES_URL (``.ci/run`` starts it), dropped afterwards, so that no test sees
  another's studies or advisory locks.
- ``mlflow_server(folder, ...)``: a real ``mlflow server`` serving its artifacts itself
  (``--artifacts-destination``, ``mlflow-artifacts:`` URIs), so that the hosts using it share no
  folder; optionally with MLflow's ``basic-auth`` app and a test admin password.
- ``heartbeat_env(grace)``: a short heartbeat grace for every process of a simulated host.

Every address is 127.0.0.1; every wait has a deadline.
"""

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from base64 import b64encode
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get("DEEPSWEEP_TEST_POSTGRES_URL")
needs_postgres = pytest.mark.skipif(
    POSTGRES_URL is None, reason="DEEPSWEEP_TEST_POSTGRES_URL is not set (.ci/run starts a local PostgreSQL)"
)
# The password in the test server's URL: nothing deepsweep logs, prints or stores may contain it.
POSTGRES_PASSWORD = (make_url(POSTGRES_URL).password or "") if POSTGRES_URL else ""
# A user's environment without anything that would point MLflow elsewhere or carry credentials.
_DROPPED = ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN")
ENV = {key: value for key, value in os.environ.items() if key not in (*_DROPPED, "HYDRA_FULL_ERROR")}
SERVER_START_SECONDS = 180  # an mlflow server on a busy two-core machine can take a minute to answer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ----- PostgreSQL ------------------------------------------------------------------------------------
def _url_with_database(name: str) -> str:
    assert POSTGRES_URL is not None
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


def _create_database(name: str) -> None:
    """``CREATE DATABASE`` as the test role; where it lacks CREATEDB and this is root beside a local
    cluster (as in ``.ci/run``), ``createdb`` as the ``postgres`` superuser over the local socket."""
    assert POSTGRES_URL is not None
    owner = make_url(POSTGRES_URL).username
    engine = sqlalchemy.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
            return
    except sqlalchemy.exc.ProgrammingError as error:
        if "permission denied" not in str(error):
            raise
    finally:
        engine.dispose()
    if os.geteuid() == 0 and shutil.which("su") and shutil.which("createdb"):
        made = subprocess.run(
            ["su", "postgres", "-c", f"createdb -O {owner} {name}"], capture_output=True, text=True, timeout=60
        )
        if made.returncode == 0:
            return
    pytest.skip(
        f"the role {owner!r} of DEEPSWEEP_TEST_POSTGRES_URL may not create databases; "
        f"grant it with ALTER ROLE {owner} CREATEDB (each test makes a database of its own)"
    )


def _drop_database(name: str) -> None:
    assert POSTGRES_URL is not None
    engine = sqlalchemy.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


@contextlib.contextmanager
def postgres_database(prefix: str) -> Iterator[str]:
    """A new, empty database on the test server; yields its URL (with the password) and drops it after."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    _create_database(name)
    try:
        yield _url_with_database(name)
    finally:
        _drop_database(name)


def database_text(url: str) -> str:
    """Every row of every table of a database as text: the contents a byte scan must look through."""
    engine = sqlalchemy.create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            tables = connection.execute(
                sqlalchemy.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            ).scalars()
            parts = []
            for table in list(tables):
                rows = connection.execute(sqlalchemy.text(f'SELECT row_to_json(t)::text FROM "{table}" t')).scalars()
                parts += [table, *rows]
            return "\n".join(parts)
    finally:
        engine.dispose()


# ----- mlflow server ---------------------------------------------------------------------------------
@dataclass
class Credentials:
    username: str
    password: str

    def header(self) -> str:
        return "Basic " + b64encode(f"{self.username}:{self.password}".encode()).decode()


@dataclass
class MlflowServer:
    url: str
    folder: Path
    process: subprocess.Popen
    admin: Credentials | None

    def log(self) -> str:
        return (self.folder / "server.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        """SIGTERM to the server's process group (the server, its web worker, its job consumers)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)

    def add_user(self, username: str, password: str) -> Credentials:
        """Create a user through MLflow's own API, as the admin."""
        assert self.admin is not None
        request = urllib.request.Request(
            f"{self.url}/api/2.0/mlflow/users/create",
            data=f'{{"username": "{username}", "password": "{password}"}}'.encode(),
            headers={"Content-Type": "application/json", "Authorization": self.admin.header()},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            assert answer.status == 200, answer.read()
        return Credentials(username, password)


AUTH_INI = """[mlflow]
default_permission = READ
database_uri = sqlite:///{folder}/basic_auth.db
admin_username = admin
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
# Each password check is a PBKDF2 hash (~0.5 s on a busy core); cache a good one for 5 minutes.
auth_cache_ttl_seconds = 300
"""


def start_mlflow_server(
    folder: Path, backend_store_uri: str | None = None, auth: bool = False, port: int | None = None
) -> MlflowServer:
    """Start ``mlflow server`` on 127.0.0.1 (a free port) and wait until it answers ``/health``.

    Its backend store is ``backend_store_uri`` (default: SQLite in ``folder``), its artifacts live in
    ``folder/artifacts`` and are served by the server. With ``auth``, MLflow's ``basic-auth`` app
    runs with its user database in ``folder`` and a random admin password. ``port``: a given one (a restart
    of a stopped server), else a free one.
    """
    folder.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", backend_store_uri or f"sqlite:///{folder}/server.db",
        "--artifacts-destination", str(folder / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    env = dict(ENV)
    admin = None
    if auth:
        admin = Credentials("admin", secrets.token_urlsafe(18))
        (folder / "basic_auth.ini").write_text(AUTH_INI.format(folder=folder))
        command += ["--app-name", "basic-auth"]
        env.update(
            MLFLOW_AUTH_CONFIG_PATH=str(folder / "basic_auth.ini"),
            MLFLOW_AUTH_ADMIN_PASSWORD=admin.password,  # read on the first start only
            MLFLOW_FLASK_SERVER_SECRET_KEY=secrets.token_hex(16),  # CSRF key of the auth app
        )
    with open(folder / "server.log", "ab") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = MlflowServer(f"http://127.0.0.1:{port}", folder, process, admin)
    deadline = time.monotonic() + SERVER_START_SECONDS
    while True:
        try:
            with urllib.request.urlopen(f"{server.url}/health", timeout=5) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            pytest.fail(f"mlflow server did not start: {server.log()}")
        time.sleep(0.5)


@contextlib.contextmanager
def mlflow_server(folder: Path, backend_store_uri: str | None = None, auth: bool = False) -> Iterator[MlflowServer]:
    server = start_mlflow_server(folder, backend_store_uri, auth)
    try:
        yield server
    finally:
        server.stop()


# ----- the heartbeat grace ---------------------------------------------------------------------------
def heartbeat_env(grace: int) -> dict[str, str]:
    """The environment that gives a command (and the worker processes it spawns) a heartbeat grace of
    ``grace`` seconds, read by pipeline/search/recovery.py (a heartbeat every ``grace // 6`` s, at least 1)."""
    return {"DEEPSWEEP_HEARTBEAT_GRACE": str(grace)}


def scan_for(
    secrets_: dict[str, str], *, texts: dict[str, str] | None = None, folders: tuple[Path, ...] = ()
) -> list[str]:
    """Where any of ``secrets_`` (name -> value) occurs: in ``texts`` (label -> text) and in the bytes of
    every file under ``folders``. Returns ``["<secret> in <where>", ...]``."""
    found = []
    for name, value in secrets_.items():
        if not value:
            continue
        for label, text in (texts or {}).items():
            if value in text:
                found.append(f"{name} in {label}")
        for folder in folders:
            for path in folder.rglob("*"):
                if path.is_file() and not path.is_symlink() and value.encode() in path.read_bytes():
                    found.append(f"{name} in {path}")
    return found
