"""``python -m pipeline.serve``: serve a registered model over HTTP with MLflow's own scoring server.

Examples::

    python -m pipeline.serve                                  # @champion of the model registered last
    python -m pipeline.serve --model deepsweep-iris           # that model's @champion
    python -m pipeline.serve --model deepsweep-iris/2 --port 5002
    python -m pipeline.serve --model deepsweep-iris@iris-sweep   # the version study iris-sweep registered
    python -m pipeline.serve --tracking-uri sqlite:////data/mlruns/mlflow.db

It runs ``mlflow models serve -m models:/NAME/VERSION --env-manager local`` with ``MLFLOW_TRACKING_URI``
set for that process alone, so the model is found in this folder's store (``sqlite:///mlruns/mlflow.db``
by default) whatever the shell has set. The endpoints (``/ping``, ``/invocations``) and the request
formats are MLflow's. The default is the ``@champion`` alias (``pipeline.records.champion``: the best version
by the metric the sweeps chose it by) of the model registered last; the first line says which version and why.
Exit codes: 1 refused input (no store, no such model, a
non-loopback host without ``--allow-remote``, a busy port) or a scoring server that failed;
130 Ctrl-C, 143 SIGTERM (both stop the server first).
"""

import argparse
import contextlib
import ctypes
import http.client
import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from models import ModelFileError
from pipeline.console import fail_cleanly, handle_sigterm
from pipeline.errors import ConfigError, first_line
from pipeline.record_names import DEFAULT_TRACKING_URI
from pipeline.records.champion import CHAMPION
from pipeline.records.pyfunc_model import example_request
from pipeline.records.tracking import client, configure, load_pyfunc_model
from pipeline.records.uris import mask_password, sqlite_file

LOOPBACK_NAMES = ("localhost",)
STARTUP_SECONDS = 300  # the scoring server copies the model and imports MLflow: seconds, not minutes
STOP_SECONDS = 10  # after SIGTERM, before the server is killed


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to any interface
        return False


def check_host(host: str, allow_remote: bool) -> None:
    if not is_loopback(host) and not allow_remote:
        raise ConfigError(
            f"--host {host} would accept requests from other machines, and MLflow's scoring server has no "
            "authentication (anyone who reaches the port can use the model); serve on 127.0.0.1 behind an "
            "authenticating proxy, or pass --allow-remote to do it anyway"
        )


def open_store(tracking_uri: str) -> str:
    """The store's URI made absolute; refused, before anything is created, when its file is missing."""
    store = sqlite_file(tracking_uri)
    if store is not None and not store.is_file():  # opening it would create an empty store
        raise ConfigError(
            f"no MLflow store at {store}; run a sweep in this folder first, or give the store with --tracking-uri"
        )
    return configure(tracking_uri)


def registered_versions(tracking_uri: str) -> list[Any]:
    """Every model version in the store's registry that is ready to serve."""
    try:
        store = client(tracking_uri)
        versions = store.search_model_versions()
        # A version found by search carries no aliases (MLflow's search leaves them out): read each model's.
        aliases: dict[tuple[str, str], list[str]] = {}
        for name in {version.name for version in versions}:
            for alias, number in (store.get_registered_model(name).aliases or {}).items():
                aliases.setdefault((name, str(number)), []).append(alias)
    except Exception as error:  # MLflow wraps connection and schema problems in several types
        text = (str(error).splitlines() or [type(error).__name__])[0]
        password = urlsplit(tracking_uri).password
        if password:  # MLflow's message may quote the URI
            text = text.replace(password, "***")
        raise ConfigError(f"cannot read the model registry in {mask_password(tracking_uri)}: {text}") from None
    return [
        SimpleNamespace(
            name=v.name,
            version=str(v.version),
            creation_timestamp=v.creation_timestamp,
            aliases=sorted(aliases.get((v.name, str(v.version)), [])),
            tags=dict(v.tags or {}),
        )
        for v in versions
        if v.status == "READY"
    ]


def listing(versions: list[Any]) -> str:
    """``a (versions 1, 2), b (version 1)``: what is registered, for the refusals."""
    by_name: dict[str, list[int]] = {}
    for version in versions:
        by_name.setdefault(version.name, []).append(int(version.version))
    parts = []
    for name, numbers in sorted(by_name.items()):
        label = "version" if len(numbers) == 1 else "versions"
        parts.append(f"{name} ({label} {', '.join(map(str, sorted(numbers)))})")
    return ", ".join(parts)


def choose_version(versions: list[Any], model: str | None, tracking_uri: str) -> tuple[str, int, str]:
    """``(name, version, why)`` from ``--model NAME[/VERSION|@ALIAS]``. No version: the model's ``@champion``
    (the newest version when no sweep has crowned one); no ``--model``: the champion of the model registered
    last."""
    store = mask_password(tracking_uri)
    if not versions:
        raise ConfigError(
            f"no model is registered in {store}; a sweep registers its best model (python -m pipeline.sweep)"
        )
    if model is None:
        newest = max(versions, key=lambda version: (version.creation_timestamp, int(version.version)))
        return _by_alias(versions, newest.name, CHAMPION, default=True)
    plain = model.removeprefix("models:/")
    name, at, alias = plain.partition("@")
    if at:
        return _by_alias(versions, name, alias, default=False, asked=model)
    name, _, number = plain.rpartition("/")
    if not name or not number.isdigit():  # no version given (names hold no "/")
        name, number = plain, ""
    numbers = sorted(int(version.version) for version in versions if version.name == name)
    if not numbers:
        raise ConfigError(f"--model {model}: no registered model {name!r} in {store}; registered: {listing(versions)}")
    if not number:
        return _by_alias(versions, name, CHAMPION, default=True)
    if int(number) not in numbers:
        raise ConfigError(f"--model {model}: {name!r} has no version {number}; registered: {listing(versions)}")
    return name, int(number), "asked for by --model"


def _by_alias(versions: list[Any], name: str, alias: str, *, default: bool, asked: str = "") -> tuple[str, int, str]:
    """The version of ``name`` that ``alias`` points at; for the default ``@champion`` of a model no sweep crowned,
    its newest version."""
    mine = [version for version in versions if version.name == name]
    if not mine:
        raise ConfigError(f"--model {asked}: no registered model {name!r}; registered: {listing(versions)}")
    for version in mine:
        if alias in (version.aliases or []):
            tags = version.tags or {}
            chosen = f"{tags['metric']} {float(tags['metric_value']):.4g}, study {tags.get('study', '?')}"
            why = f"@{alias}: {chosen}" if "metric" in tags and "metric_value" in tags else f"@{alias}"
            return name, int(version.version), why
    if default:
        newest = max(int(version.version) for version in mine)
        return name, newest, "the newest version: no sweep has named a champion"
    known = sorted({a for version in mine for a in (version.aliases or [])})
    raise ConfigError(f"--model {asked}: {name!r} has no alias @{alias}; its aliases: {known or 'none'}")


def socket_address(host: str, port: int) -> tuple[int, tuple[str, int]]:
    """The address family and address uvicorn binds for ``host`` (IPv6 when it holds a colon)."""
    return (socket.AF_INET6 if ":" in host else socket.AF_INET), (host, port)


def check_port_free(host: str, port: int) -> None:
    """Refuse a port another process holds, before the server starts and fails with a traceback."""
    family, address = socket_address(host, port)
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is no obstacle
        try:
            probe.bind(address)
        except OSError as error:
            raise ConfigError(
                f"cannot listen on {host} port {port} ({error.strerror}); choose another with --port"
            ) from None


def client_host(host: str) -> str:
    """Where this machine reaches a server bound to ``host`` (a wildcard address is reached on loopback)."""
    if host == "0.0.0.0":
        return "127.0.0.1"
    return "::1" if host == "::" else host


def base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def answers_ping(host: str, port: int) -> bool:
    # http.client, not urllib: no proxy from the environment gets between us and a local server.
    connection = http.client.HTTPConnection(host, port, timeout=2)
    try:
        connection.request("GET", "/ping")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def port_open(host: str, port: int) -> bool:
    family, address = socket_address(host, port)
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex(address) == 0


def server_environment(tracking_uri: str) -> dict[str, str]:
    """This process's environment with the store for the server alone, and this interpreter's scripts
    first on PATH (MLflow starts ``uvicorn`` by name)."""
    env = dict(os.environ)
    env["MLFLOW_TRACKING_URI"] = tracking_uri
    env["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36  # prctl(2) options


def _prctl(option: int, value: int) -> None:
    with contextlib.suppress(OSError, AttributeError):  # no prctl outside Linux: both uses are extras
        ctypes.CDLL(None).prctl(option, value)


def _die_with_parent() -> None:
    """In the server process before it starts: SIGTERM it when this process dies, even by SIGKILL, so
    that no server outlives the command (MLflow does the same for the uvicorn process it starts)."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start_server(model_uri: str, host: str, port: int, tracking_uri: str) -> subprocess.Popen[bytes]:
    """Start ``mlflow models serve``. Its SIGTERM ends it at once while the uvicorn process it started
    is still shutting down: this process becomes a subreaper, inherits that orphan, and can wait for it."""
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "--env-manager", "local"]
    # A session of its own: Ctrl-C reaches this process only, which stops the command and its uvicorn
    # child together (one process group) and then reports.
    return subprocess.Popen(
        [*command, "--host", host, "--port", str(port)],
        env=server_environment(tracking_uri),
        start_new_session=True,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )


def wait_for_server(server: subprocess.Popen[bytes], host: str, port: int, deadline: float) -> bool:
    """Wait until the command, every process it left behind and its hold on the port are gone; False
    at the deadline."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.wait(timeout=max(0.0, deadline - time.monotonic()))
    while server.poll() is None or port_open(host, port) or _children_running():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _children_running() -> bool:
    """Reap every ended child process (the inherited uvicorn among them); whether any still runs."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == 0:
            return True


def stop_server(server: subprocess.Popen[bytes], host: str, port: int) -> None:
    """SIGTERM to the server's process group; SIGKILL if it is not all gone after ``STOP_SECONDS``."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    if not wait_for_server(server, host, port, time.monotonic() + STOP_SECONDS):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        wait_for_server(server, host, port, time.monotonic() + STOP_SECONDS)


def example_command(url: str, request: dict[str, Any] | None) -> str:
    """A one-line curl for the model's first logged example row, as an ``inputs`` request."""
    request = request or {}
    rows = request.get("inputs") or request.get("dataframe_split", {}).get("data")
    # 6 significant digits: the logged rows are scaled back from the training inputs (5.999999999999999)
    body = json.dumps({"inputs": [[float(f"{value:.6g}") for value in rows[0]]]}) if rows else '{"inputs": [[...]]}'
    return f"curl -s {url}/invocations -H 'Content-Type: application/json' -d '{body}'"


def check_model_loads(model_uri: str) -> None:
    """Load the model here, as the scoring server will, so that a version whose files are damaged or missing is
    refused at once, naming the file, instead of by the server's traceback minutes later."""
    try:
        load_pyfunc_model(model_uri)
    except Exception as error:  # ModelFileError (a damaged network.npz), a missing file, MLflow's own refusal
        raise ConfigError(
            f"{model_uri} cannot be served: {first_line(error, prefer=_names_the_file, limit=500)}. Its files are "
            "damaged or missing; serve another "
            "version (--model NAME/VERSION) or run the sweep again to register a good one"
        ) from None


def _names_the_file(error: BaseException) -> bool:
    """Our ``ModelFileError`` (a damaged network.npz) or a file-system error: what names the file and what is wrong."""
    return isinstance(error, ModelFileError | OSError)


def serve(tracking_uri: str, name: str, version: int, host: str, port: int, why: str = "") -> int:
    """Run the scoring server until it stops or this process is interrupted; returns the exit code."""
    model_uri = f"models:/{name}/{version}"
    check_model_loads(model_uri)
    server = start_server(model_uri, host, port, tracking_uri)
    local = client_host(host)
    try:
        request = example_request(model_uri)  # read while the server starts
        deadline = time.monotonic() + STARTUP_SECONDS
        while server.poll() is None and not answers_ping(local, port):
            if time.monotonic() > deadline:
                print(f"error: the scoring server did not answer /ping within {STARTUP_SECONDS} s", file=sys.stderr)
                return 1
            time.sleep(0.25)
        if server.poll() is None:
            url = base_url(local, port)
            where = base_url(host, port) + ("" if local == host else f" (from this machine: {url})")
            chosen = f" ({why})" if why else ""
            line = f"serving {name} version {version}{chosen} from {mask_password(tracking_uri)} at {where}"
            print(f"{line}; try: {example_command(url, request)}", flush=True)
        code = server.wait()
    finally:  # whatever ended it (Ctrl-C, SIGTERM, a crash): nothing of the server is left running
        stop_server(server, local, port)
    if code != 0:
        print(f"error: the scoring server stopped with exit code {code} (its messages are above)", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.serve", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", help="NAME, NAME/VERSION or NAME@ALIAS (default: @champion of the model registered last)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5001, help="port to listen on (default 5001)")
    parser.add_argument(
        "--tracking-uri", default=DEFAULT_TRACKING_URI, help=f"the MLflow store (default {DEFAULT_TRACKING_URI})"
    )
    parser.add_argument(
        "--allow-remote", action="store_true", help="allow a non-loopback --host (the server has no authentication)"
    )
    args = parser.parse_args(argv)
    # The model is looked up in the tracking store's own registry, here and in the server.
    os.environ.pop("MLFLOW_REGISTRY_URI", None)
    handle_sigterm()
    with fail_cleanly():
        if not 1 <= args.port <= 65535:
            raise ConfigError(f"--port {args.port} is not allowed; allowed: 1 to 65535")
        check_host(args.host, args.allow_remote)
        tracking_uri = open_store(args.tracking_uri)
        name, version, why = choose_version(registered_versions(tracking_uri), args.model, tracking_uri)
        check_port_free(args.host, args.port)
        return serve(tracking_uri, name, version, args.host, args.port, why)
    return 1  # not reached: fail_cleanly exits


if __name__ == "__main__":
    sys.exit(main())
