"""End-to-end tests of ``python -m pipeline.serve``: a real sweep registers a model in a fresh folder,
the real command serves it there over MLflow's scoring server on 127.0.0.1, and real HTTP requests
are answered. The tests that start commands are marked slow; the last few check the command's choices
(model, host, example) without a server.

What they prove: with no MLflow variable in the environment, the command finds the model the sweep
registered in the folder's store and serves it without leaving a stray ``mlflow.db``; it prints one
line whose curl works; ``dataframe_split`` with the feature names (in any order) and plain ``inputs``
rows both predict the trained network's integer classes, the same as ``mlflow.pyfunc.load_model``;
``params.output=probabilities`` gives rows named by class that sum to one; bad requests get a 400
without a traceback; SIGTERM stops everything within seconds, freeing the port; a non-loopback host,
a missing store (no file created), an unknown model or version are refused in one line.
"""

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import mlflow
import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from mlflow import MlflowClient

from models import DeepNetwork
from pipeline.serve import choose_version, example_command, is_loopback
from pipeline.setup.config import register_schemas, to_config
from pipeline.setup.data import Dataset, load

register_schemas()  # the config schemas Hydra composes against

ROOT = Path(__file__).resolve().parents[2]
SWEEP = ("dataset=iris", "search.n_trials=3", "train.epochs=5", "tracking.log_plots=none", "tracking.report=false")
COMMAND_SECONDS = 300  # a sweep or a refusal; the sweep takes ~15 s on two cores
START_SECONDS = 180  # the scoring server answering /ping; ~5 s when the machine is idle
STOP_SECONDS = 10  # SIGTERM to exit, with the port free again
# No proxy from the environment between the test and 127.0.0.1.
HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def command_env() -> dict[str, str]:
    """The user's environment without any MLflow variable: the command must need none."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")}
    env.pop("HYDRA_FULL_ERROR", None)
    return {**env, "PYTHONUNBUFFERED": "1", "OPENBLAS_NUM_THREADS": "1"}


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=command_env(), capture_output=True, text=True, timeout=COMMAND_SECONDS
    )


def shown(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def server_processes(port: int) -> list[int]:
    """Running processes started with ``--port <port>`` (the command, mlflow models serve, uvicorn); Linux only."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            if f"--port\0{port}\0".encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
    return found


def post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{url}/invocations", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    try:
        with HTTP.open(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def answers_ping(url: str) -> bool:
    try:
        with HTTP.open(f"{url}/ping", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


# ----- the sweep, and what to compare the server with ------------------------------------------------
@dataclass
class Swept:
    cwd: Path
    name: str
    version: int
    dataset: Dataset
    network: DeepNetwork  # the trained network, from the best run's network.npz
    store: str


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Swept:
    cwd = tmp_path_factory.mktemp("serve")
    result = run(cwd, "-m", "pipeline.sweep", *SWEEP)
    assert result.returncode == 0, shown(result)
    store = f"sqlite:///{cwd / 'mlruns' / 'mlflow.db'}"
    (version,) = MlflowClient(store).search_model_versions("name='deepsweep-iris'")
    folder = cwd / "reference"
    folder.mkdir()
    parameters = MlflowClient(store).download_artifacts(version.run_id, "network.npz", str(folder))
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        config = to_config(compose("config", overrides=list(SWEEP)))
    dataset = load(config.dataset, config.seed)
    return Swept(cwd, version.name, int(version.version), dataset, DeepNetwork.load(parameters), store)


def raw_rows(dataset: Dataset) -> np.ndarray:
    """The test split as a user has it: raw, unscaled rows ``(m, n_x)``."""
    return (dataset.X_test.T - np.asarray(dataset.input_shift)) / np.asarray(dataset.input_multiplier)


# ----- the server ---------------------------------------------------------------------------------------
@dataclass
class Server:
    process: subprocess.Popen[str]
    port: int
    url: str
    stdout: Path
    stderr: Path


@contextlib.contextmanager
def serving(cwd: Path, *args: str) -> Iterator[Server]:
    """``python -m pipeline.serve --port <free> args...`` in ``cwd``, once it answers /ping; killed
    with its process group afterwards, whatever happened."""
    port = free_port()
    stdout, stderr = cwd / f"serve-{port}.out", cwd / f"serve-{port}.err"
    with open(stdout, "w") as out, open(stderr, "w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "pipeline.serve", "--port", str(port), *args],
            cwd=cwd,
            env=command_env(),
            stdout=out,
            stderr=err,
            text=True,
            start_new_session=True,
        )
    server = Server(process, port, f"http://127.0.0.1:{port}", stdout, stderr)
    try:
        deadline = time.monotonic() + START_SECONDS
        while not (answers_ping(server.url) and "serving" in stdout.read_text()):
            assert process.poll() is None, f"serve exited {process.returncode}:\n{stderr.read_text()}"
            assert time.monotonic() < deadline, f"no /ping answer in {START_SECONDS} s:\n{stderr.read_text()}"
            time.sleep(0.25)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # the command stops its server
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=STOP_SECONDS)
        # Whatever is left of the command; the server's own processes die with it (PR_SET_PDEATHSIG).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_SECONDS)


@pytest.fixture(scope="module")
def server(swept: Swept) -> Iterator[Server]:
    with serving(swept.cwd) as started:
        yield started


@pytest.mark.slow
def test_serve_names_the_model_it_serves_and_prints_a_curl_that_works(swept: Swept, server: Server) -> None:
    line = server.stdout.read_text()
    assert f"serving deepsweep-iris version {swept.version} (@champion: val_accuracy " in line
    assert f"from {swept.store} at {server.url}" in line
    body = re.search(r"curl -s \S+/invocations -H 'Content-Type: application/json' -d '(.+)'", line)
    assert body, line
    status, answer = post(server.url, json.loads(body.group(1)))
    assert status == 200 and len(answer["predictions"]) == 1, answer
    # The store was found without MLFLOW_TRACKING_URI, and no empty one was made beside it.
    assert not (swept.cwd / "mlflow.db").exists()


@pytest.mark.slow
def test_both_request_formats_predict_the_trained_networks_classes(swept: Swept, server: Server) -> None:
    rows = raw_rows(swept.dataset)
    expected = swept.network.predict(swept.dataset.X_test).ravel()
    names = list(swept.dataset.feature_names)
    order = names[::-1]  # columns are matched by name, not position
    split = {"dataframe_split": {"columns": order, "data": pd.DataFrame(rows, columns=names)[order].values.tolist()}}
    plain = {"inputs": rows.tolist()}

    answers = {kind: post(server.url, body) for kind, body in (("split", split), ("inputs", plain))}
    for kind, (status, answer) in answers.items():
        assert status == 200, f"{kind}: {answer}"
        predictions = answer["predictions"]
        assert all(isinstance(value, int) for value in predictions), f"{kind}: {predictions[:5]}"
        np.testing.assert_array_equal(predictions, expected, err_msg=kind)
    mlflow.set_tracking_uri(swept.store)
    try:
        local = mlflow.pyfunc.load_model(f"models:/{swept.name}/{swept.version}").predict(rows)
    finally:
        mlflow.set_tracking_uri(None)  # also clears MLFLOW_TRACKING_URI, which the call above exported
    np.testing.assert_array_equal(local, expected)


@pytest.mark.slow
def test_probabilities_are_rows_named_by_class_that_sum_to_one(swept: Swept, server: Server) -> None:
    rows = raw_rows(swept.dataset)
    status, answer = post(server.url, {"inputs": rows.tolist(), "params": {"output": "probabilities"}})
    assert status == 200, answer
    probabilities = pd.DataFrame(answer["predictions"])
    assert list(probabilities.columns) == list(swept.dataset.class_names)
    assert probabilities.shape == (len(rows), 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    np.testing.assert_allclose(probabilities.to_numpy(), swept.network.predict_proba(swept.dataset.X_test).T)
    split = {"columns": list(swept.dataset.feature_names), "data": rows[:2].tolist()}
    status, answer = post(server.url, {"dataframe_split": split, "params": {"output": "probabilities"}})
    assert status == 200 and len(answer["predictions"]) == 2, answer


@pytest.mark.slow
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"inputs": [[5.1, 3.5, 1.4]]}, "declares 4 inputs"),
        ({"dataframe_split": {"columns": ["a", "b", "c", "d"], "data": [[1, 2, 3, 4]]}}, "unexpected ['a', 'b'"),
        ({"inputs": [[5.1, 3.5, 1.4, 0.2]], "params": {"output": "proba"}}, "allowed: ['predictions'"),
    ],
)
def test_requests_that_do_not_fit_get_a_400_without_a_traceback(server: Server, body: dict, message: str) -> None:
    status, answer = post(server.url, body)
    assert status == 400 and message in answer["message"], answer
    assert "stack_trace" not in answer and "Traceback" not in answer["message"]


@pytest.mark.slow
def test_sigterm_stops_the_server_within_seconds_and_frees_its_port(swept: Swept) -> None:
    with serving(swept.cwd) as server:
        started_by_it = set(server_processes(server.port)) - {server.process.pid}
        assert len(started_by_it) == 2, "expected mlflow models serve and its uvicorn"
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)  # to the command alone: it stops the server itself
        code = server.process.wait(timeout=STOP_SECONDS)
        assert code == 143, server.stderr.read_text()
        assert time.monotonic() - started < STOP_SECONDS
        assert not listening(server.port), "the scoring server outlived the command"
        assert server_processes(server.port) == [], "a process of the scoring server outlived the command"
        assert "Traceback" not in server.stderr.read_text()


# ----- refusals ------------------------------------------------------------------------------------------
def refused(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 1, shown(result)
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, shown(result)
    for fragment in fragments:
        assert fragment in result.stderr, shown(result)


@pytest.mark.slow
def test_a_host_other_machines_can_reach_is_refused_without_allow_remote(swept: Swept) -> None:
    port = free_port()
    result = run(swept.cwd, "-m", "pipeline.serve", "--host", "0.0.0.0", "--port", str(port))
    refused(result, "--host 0.0.0.0", "no authentication", "--allow-remote")
    assert not listening(port)


@pytest.mark.slow
def test_a_missing_store_is_refused_and_none_is_created(tmp_path: Path) -> None:
    refused(run(tmp_path, "-m", "pipeline.serve"), f"no MLflow store at {tmp_path / 'mlruns' / 'mlflow.db'}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_an_unknown_model_or_version_is_refused_with_the_registered_ones(swept: Swept) -> None:
    listed = f"registered: deepsweep-iris (version {swept.version})"
    refused(run(swept.cwd, "-m", "pipeline.serve", "--model", "nope"), "no registered model 'nope'", listed)
    missing = f"deepsweep-iris/{swept.version + 1}"
    refused(run(swept.cwd, "-m", "pipeline.serve", "--model", missing), f"has no version {swept.version + 1}", listed)


# ----- the command's choices, without a server --------------------------------------------------------
def version(name: str, number: int, created: int, aliases: tuple = (), tags: dict | None = None) -> SimpleNamespace:
    return SimpleNamespace(name=name, version=str(number), creation_timestamp=created, aliases=list(aliases),
                           tags=tags or {})  # fmt: skip


VERSIONS = [version("digits", 1, 100), version("digits", 2, 300), version("iris", 1, 200), version("iris", 3, 400)]
NEWEST = "the newest version: no sweep has named a champion"


@pytest.mark.parametrize(
    ("model", "chosen"),
    [
        (None, ("iris", 3, NEWEST)),
        ("digits", ("digits", 2, NEWEST)),
        ("digits/1", ("digits", 1, "asked for by --model")),
        ("models:/iris/1", ("iris", 1, "asked for by --model")),
    ],
)
def test_without_a_champion_the_default_is_the_newest_version(model: str | None, chosen: tuple) -> None:
    assert choose_version(VERSIONS, model, "sqlite:///x.db") == chosen


CROWNED = [
    version(
        "iris", 1, 200, ("champion", "first"), {"metric": "val_accuracy", "metric_value": "0.98", "study": "first"}
    ),
    version("iris", 2, 300, ("second",), {"metric": "val_accuracy", "metric_value": "0.95", "study": "second"}),
]


def test_the_champion_is_served_by_default_and_an_alias_on_request() -> None:
    why = "@champion: val_accuracy 0.98, study first"
    assert choose_version(CROWNED, None, "sqlite:///x.db") == ("iris", 1, why)
    assert choose_version(CROWNED, "iris", "sqlite:///x.db") == ("iris", 1, why)
    assert choose_version(CROWNED, "iris@second", "sqlite:///x.db") == (
        "iris",
        2,
        "@second: val_accuracy 0.95, study second",
    )
    with pytest.raises(ValueError, match=r"has no alias @third; its aliases: \['champion', 'first', 'second'\]"):
        choose_version(CROWNED, "iris@third", "sqlite:///x.db")


def test_nothing_registered_is_refused() -> None:
    with pytest.raises(ValueError, match="no model is registered") as refusal:
        choose_version([], None, "postgresql://user:secret@db/mlflow")
    assert "secret" not in str(refusal.value) and "user:***@db" in str(refusal.value)


def test_only_loopback_hosts_need_no_permission() -> None:
    assert all(map(is_loopback, ("127.0.0.1", "localhost", "::1", "127.0.0.2")))
    assert not any(map(is_loopback, ("0.0.0.0", "::", "192.168.1.5", "example.org")))


def test_the_printed_curl_uses_the_first_logged_example_row_in_either_format() -> None:
    for logged in (
        {"inputs": [[5.999999999999999, 2.7]]},
        {"dataframe_split": {"columns": ["a", "b"], "data": [[6, 2.7]]}},
    ):
        command = example_command("http://127.0.0.1:5001", logged)
        assert command.endswith("""-d '{"inputs": [[6.0, 2.7]]}'"""), command


@pytest.mark.slow
def test_a_model_whose_files_are_damaged_is_refused_at_once_naming_the_file(tmp_path: Path) -> None:
    """A registered model that lost or broke a file (its own store: the artifacts are found by absolute path) is
    refused before any server starts, naming the file; repaired, it loads again."""
    assert run(tmp_path, "-m", "pipeline.sweep", *SWEEP).returncode == 0
    model = next(p for p in (tmp_path / "mlruns").rglob("MLmodel") if (p.parent / "artifacts" / "network.npz").exists())
    for damage, target in (
        ("truncate", model.parent / "artifacts" / "network.npz"),
        ("delete", model.parent / "artifacts" / "network.npz"),
        ("delete", model),
    ):
        whole = target.read_bytes()
        if damage == "truncate":
            target.write_bytes(whole[:100])
        else:
            target.unlink()
        result = run(tmp_path, "-m", "pipeline.serve", "--port", str(free_port()))
        target.write_bytes(whole)
        refused(result, "cannot be served")
        assert target.name in result.stderr, (damage, result.stderr)
        assert "serving " not in result.stdout, "no server was started"
