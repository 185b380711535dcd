"""A sweep on a real SLURM cluster: ``python -m pipeline.launch slurm --workers 3`` against PostgreSQL and a
basic-auth ``mlflow server``, all on 127.0.0.1.

The cluster (deploy/slurm/local/start.sh, started by .ci/run) is three compute nodes n1, n2, n3 on this one
machine: one ``slurmd -N`` each, one CPU each, a controller that declares a silent node DOWN after 10 s and
requeues its jobs. What each test proves:

- a 3-task array uses the budget exactly: one run per trial, nothing RUNNING or WAITING, the parent closed;
  with the secured tracking server and PostgreSQL together, credentials only in the environment;
- a node that dies mid-trial (its slurmd and its task SIGKILLed): SLURM marks it DOWN and requeues the task,
  the dead trial is failed and retried with its parameters, its run closed KILLED, the budget exact;
- ``scancel`` of the whole array: every worker closes its trial and run KILLED; the same launch command
  resumes the study to its budget.

Without the cluster (DEEPSWEEP_TEST_SLURM_CONF) or PostgreSQL the tests are skipped with that reason; .ci/run
starts both and fails if it cannot.
"""

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import optuna
import pytest
from helpers.invariants import check_records
from helpers.servers import ENV, MlflowServer, mlflow_server, needs_postgres, postgres_database
from mlflow import MlflowClient
from optuna.trial import FrozenTrial, TrialState

SLURM_CONF = os.environ.get("DEEPSWEEP_TEST_SLURM_CONF")
ROOT = Path(__file__).resolve().parents[2]
START = ROOT / "deploy" / "slurm" / "local" / "start.sh"
pytestmark = [
    pytest.mark.slow,
    needs_postgres,
    pytest.mark.skipif(
        SLURM_CONF is None, reason="DEEPSWEEP_TEST_SLURM_CONF is not set (.ci/run starts deploy/slurm/local/start.sh)"
    ),
]
T = TypeVar("T")
JOB_SECONDS = 420  # no array here may take longer
# Small uniform trials; no model or PNG per run; the end-of-sweep retrainings off: the array is the subject.
SWEEP = (
    "tracking=server",
    "tracking.artifact_location=",
    "dataset=iris",
    "train.epochs=150",
    "pruner=none",
    "tracking.log_model=none",
    "tracking.log_plots=none",
    "search.confirm_seeds=0",
    "search.data_curve=[]",
    "tracking.report=false",
)


def slurm(*command: str, check: bool = True) -> str:
    done = subprocess.run(command, env=_slurm_env(), capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 or not check, f"{command}: {done.stderr}"
    return done.stdout


def _slurm_env() -> dict[str, str]:
    return {**ENV, "SLURM_CONF": str(SLURM_CONF)}


def wait_until(condition: Callable[[], T], seconds: float, what: str) -> T:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out after {seconds:.0f} s waiting for {what}")


def idle_nodes() -> list[str]:
    return [line.split()[0] for line in slurm("sinfo", "-h", "-N", "-o", "%N %T").splitlines() if "idle" in line]


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    """Three idle nodes before each test module, and again after it (a node a test killed is restarted)."""
    wait_until(lambda: len(set(idle_nodes())) == 3, 90, "3 idle SLURM nodes")
    yield
    restart_nodes()


def restart_nodes() -> None:
    """start.sh is idempotent: it restarts what a test killed and waits for three idle nodes."""
    env = {**_slurm_env(), "DEEPSWEEP_SLURM_ROOT": str(Path(str(SLURM_CONF)).parents[1])}
    subprocess.run(["bash", str(START)], env=env, capture_output=True, text=True, timeout=120, check=True)


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory, cluster: None) -> Iterator[tuple[MlflowServer, str, dict]]:
    """A basic-auth tracking server whose backend store is PostgreSQL, a PostgreSQL study storage, and the
    workers' credentials (environment only)."""
    folder = tmp_path_factory.mktemp("server")
    with (
        postgres_database("deepsweep_slurm_mlflow") as tracking_db,
        postgres_database("deepsweep_slurm_study") as storage,
        mlflow_server(folder, backend_store_uri=tracking_db, auth=True) as server,
    ):
        user = server.add_user("workers", "workers-password-" + os.urandom(6).hex())
        env = {**_slurm_env(), "MLFLOW_TRACKING_USERNAME": user.username, "MLFLOW_TRACKING_PASSWORD": user.password}
        yield server, storage, env


def launch(folder: Path, env: dict, study: str, n_trials: int, *extra: str) -> tuple[str, str]:
    """``python -m pipeline.launch slurm --workers 3`` in ``folder``; returns the job id and what it printed."""
    server_url = env["TRACKING_URL"]
    command = [
        sys.executable, "-m", "pipeline.launch", "slurm", "--workers", "3",
        *SWEEP, f"tracking.tracking_uri={server_url}", f"tracking.storage={env['STORAGE']}",
        f"study_name={study}", f"search.n_trials={n_trials}", *extra,
    ]  # fmt: skip
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    job = re.search(r"submitted job array (\d+)", done.stdout)
    assert job, done.stdout
    return job.group(1), done.stdout


def job_gone(job: str) -> bool:
    return not slurm("squeue", "-h", "-j", job, check=False).strip()


def trials_of(storage: str, name: str) -> list[FrozenTrial]:
    try:
        return optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)
    except KeyError:  # not created yet
        return []


def environment(stores: tuple[MlflowServer, str, dict], monkeypatch: pytest.MonkeyPatch) -> dict:
    server, storage, env = stores
    for key in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.setenv(key, env[key])  # the test's own MlflowClient reads them
    return {**env, "TRACKING_URL": server.url, "STORAGE": storage}


def outputs(folder: Path) -> str:
    return "".join(path.read_text(errors="replace") for path in sorted(folder.glob("deepsweep-*.out")))


def test_a_three_task_array_uses_the_budget_exactly_on_a_secured_server_and_postgresql(
    tmp_path: Path, stores: tuple[MlflowServer, str, dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = environment(stores, monkeypatch)
    job, printed = launch(tmp_path, env, "iris-slurm", 12)
    assert f"scancel {job}" in printed and f"squeue -j {job}" in printed
    assert env["MLFLOW_TRACKING_PASSWORD"] not in printed
    wait_until(lambda: job_gone(job), JOB_SECONDS, f"job array {job} to end")
    study = optuna.load_study(study_name="iris-slurm", storage=env["STORAGE"])
    check_records(study, MlflowClient(env["TRACKING_URL"]), 12, experiment="deepsweep-iris")
    assert all(t.state == TrialState.COMPLETE for t in study.trials), [t.state for t in study.trials]
    text = outputs(tmp_path)
    nodes = set(re.findall(r"task \d+ on (n\d)", text))
    assert len(nodes) == 3, text[-3000:]  # one task per node
    assert not re.search(r"^error:", text, re.MULTILINE) and "Traceback" not in text, text[-3000:]
    assert env["MLFLOW_TRACKING_PASSWORD"] not in text


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            found[int(entry.name)] = (int(stat[stat.rindex(")") + 2 :].split()[1]), command)
    return found


def kill_node(node: str, job: str) -> list[int]:
    """SIGKILL the node's slurmd and everything its job step runs: the machine's sudden death, as SLURM sees it."""
    slurmd = int((Path(str(SLURM_CONF)).parents[1] / "var" / "run" / f"slurmd-{node}.pid").read_text())
    processes = _processes()
    roots = [pid for pid, (_, command) in processes.items() if command.startswith(f"slurmstepd: [{job}.")]
    victims, frontier = [slurmd, *roots], list(roots)
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, (ppid, _) in processes.items() if ppid == parent]
        victims += children
        frontier += children
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    return victims


def test_a_node_that_dies_mid_trial_is_marked_down_its_task_requeued_and_its_trial_retried(
    tmp_path: Path, stores: tuple[MlflowServer, str, dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = environment(stores, monkeypatch)
    study_name, n_trials = "iris-slurm-node-down", 12
    job, _ = launch(tmp_path, env, study_name, n_trials, "train.epochs=400")

    def three_running() -> list[str] | None:
        lines = slurm("squeue", "-h", "-j", job, "-t", "R", "-o", "%N %A").splitlines()  # node, task's job id
        return lines if len(lines) == 3 else None

    tasks = dict(line.split() for line in wait_until(three_running, 120, "three running tasks"))
    victim_job = tasks["n2"]
    processes = _processes()

    def on_n2(trial: FrozenTrial) -> bool:
        pid = int(str(trial.user_attrs.get("worker", ":0")).rpartition(":")[2])
        return pid in processes and f"[{victim_job}." in _ancestry(processes, pid)

    def mid_trial() -> list[FrozenTrial]:
        nonlocal processes
        processes = _processes()
        return [
            t for t in trials_of(env["STORAGE"], study_name)
            if t.state == TrialState.RUNNING and "mlflow_run_id" in t.user_attrs and on_n2(t)
        ]  # fmt: skip

    (dead,) = wait_until(mid_trial, 120, "a trial with a run on node n2")
    kill_node("n2", victim_job)
    wait_until(lambda: "down" in slurm("sinfo", "-h", "-n", "n2", "-o", "%T"), 60, "node n2 to be DOWN")
    wait_until(lambda: job_gone(job), JOB_SECONDS, f"job array {job} to end")
    study = optuna.load_study(study_name=study_name, storage=env["STORAGE"])
    check_records(study, MlflowClient(env["TRACKING_URL"]), n_trials, experiment="deepsweep-iris")
    killed = study.trials[dead.number]
    assert killed.state == TrialState.FAIL
    retries = [t for t in study.trials if t.user_attrs.get("retry_of") == dead.number]
    assert len(retries) == 1 and retries[0].params == killed.params and retries[0].state == TrialState.COMPLETE
    run = MlflowClient(env["TRACKING_URL"]).get_run(killed.user_attrs["mlflow_run_id"])
    assert run.info.status == "KILLED", run.info.status
    assert "attempt 2" in outputs(tmp_path)  # the task SLURM requeued ran again
    restart_nodes()


def _ancestry(processes: dict[int, tuple[int, str]], pid: int) -> str:
    """The command lines of ``pid`` and its ancestors, joined."""
    lines = []
    while pid in processes and pid > 1:
        parent, command = processes[pid]
        lines.append(command)
        pid = parent
    return " | ".join(lines)


def test_scancel_of_the_whole_array_closes_every_run_and_the_same_command_resumes(
    tmp_path: Path, stores: tuple[MlflowServer, str, dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = environment(stores, monkeypatch)
    study_name, n_trials = "iris-slurm-scancel", 12
    job, _ = launch(tmp_path, env, study_name, n_trials, "train.epochs=400")

    def some_done_some_running() -> bool:
        trials = trials_of(env["STORAGE"], study_name)
        running = [t for t in trials if t.state == TrialState.RUNNING and "mlflow_run_id" in t.user_attrs]
        return any(t.state == TrialState.COMPLETE for t in trials) and len(running) >= 2

    wait_until(some_done_some_running, 180, "complete trials and two running ones")
    slurm("scancel", job)
    wait_until(lambda: job_gone(job), 120, f"job array {job} to end after scancel")
    study = optuna.load_study(study_name=study_name, storage=env["STORAGE"])
    client = MlflowClient(env["TRACKING_URL"])
    check_records(study, client, None, experiment="deepsweep-iris")  # every run mirrors its trial already
    interrupted = [t for t in study.trials if t.user_attrs.get("outcome") == "interrupted"]
    assert interrupted, [(t.number, t.state.name, t.user_attrs.get("outcome")) for t in study.trials]
    assert all(client.get_run(t.user_attrs["mlflow_run_id"]).info.status == "KILLED" for t in interrupted)
    again, _ = launch(tmp_path, env, study_name, n_trials, "train.epochs=400")
    wait_until(lambda: job_gone(again), JOB_SECONDS, f"job array {again} to end")
    study = optuna.load_study(study_name=study_name, storage=env["STORAGE"])
    check_records(study, client, n_trials, experiment="deepsweep-iris")


def _database_counters(url: str) -> tuple[int, int]:
    """(transactions committed or rolled back, current connections) of the database ``url`` names."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as connection:
            name = connection.execute(sqlalchemy.text("SELECT current_database()")).scalar()
            query = "SELECT xact_commit + xact_rollback, numbackends FROM pg_stat_database WHERE datname = :n"
            row = connection.execute(sqlalchemy.text(query), {"n": name}).one()
            return int(row[0]), int(row[1]) - 1  # this connection left out
    finally:
        engine.dispose()


@pytest.mark.skipif(
    os.environ.get("DEEPSWEEP_BENCH_SLURM") != "1",
    reason="a benchmark: DEEPSWEEP_BENCH_SLURM=1 python -m pytest tests/e2e/test_slurm.py -k throughput -s",
)
def test_throughput_with_one_two_and_three_nodes(tmp_path: Path) -> None:
    """Trials per minute with 1, 2 and 3 array tasks (one per node) on the same study size, and the store
    traffic per trial: study-database transactions, its connections per worker, tracking-server requests."""
    import json
    import threading

    n_trials = int(os.environ.get("DEEPSWEEP_BENCH_TRIALS", "24"))
    rows = []
    with (
        postgres_database("deepsweep_bench_slurm_mlflow") as tracking_db,
        postgres_database("deepsweep_bench_slurm_study") as storage,
        mlflow_server(tmp_path / "server", backend_store_uri=tracking_db) as server,
    ):
        env = {**_slurm_env(), "TRACKING_URL": server.url, "STORAGE": storage}
        for count in (1, 2, 3):
            folder = tmp_path / f"nodes-{count}"
            folder.mkdir()
            study_name = f"digits-bench-{count}"
            requests_before = server.log().count("HTTP/1.1")
            transactions_before, _ = _database_counters(storage)
            peak, done = [0], threading.Event()

            def sample(peak: list[int] = peak, done: threading.Event = done) -> None:
                while not done.wait(0.5):
                    peak[0] = max(peak[0], _database_counters(storage)[1])

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            started = time.monotonic()
            command = [
                sys.executable, "-m", "pipeline.launch", "slurm", "--workers", str(count), *SWEEP,
                "dataset=digits", "train.epochs=100", f"tracking.tracking_uri={server.url}",
                f"tracking.storage={storage}", f"study_name={study_name}", f"search.n_trials={n_trials}",
            ]  # fmt: skip
            launched = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=300)
            assert launched.returncode == 0, launched.stderr
            job = re.search(r"submitted job array (\d+)", launched.stdout).group(1)
            wait_until(lambda job=job: job_gone(job), 1200, f"job array {job}")
            wall = time.monotonic() - started
            done.set()
            sampler.join()
            trials = optuna.load_study(study_name=study_name, storage=storage).trials
            assert sum(t.state == TrialState.COMPLETE for t in trials) == n_trials == len(trials)
            starts = [t.datetime_start.timestamp() for t in trials]
            ends = [t.datetime_complete.timestamp() for t in trials]
            transactions = _database_counters(storage)[0] - transactions_before
            requests = server.log().count("HTTP/1.1") - requests_before
            rows.append(
                {
                    "nodes": count,
                    "wall s (launch to job end)": round(wall, 1),
                    "trials/min (first start to last end)": round(60 * n_trials / (max(ends) - min(starts)), 1),
                    "median trial s": round(sorted(e - s for s, e in zip(starts, ends, strict=True))[n_trials // 2], 2),
                    "study-db transactions per trial": round(transactions / n_trials, 1),
                    "study-db connections per worker (peak)": round(peak[0] / count, 1),
                    "tracking requests per trial": round(requests / n_trials, 1) if requests else "not logged",
                    "load average at the end": round(os.getloadavg()[0], 1),
                }
            )
    print("THROUGHPUT", json.dumps(rows, indent=1))
