"""End-to-end tests of ``python -m pipeline.sweep``: the real command runs as a subprocess in a fresh
folder, then its Optuna study and MLflow runs are read back from the real SQLite stores it wrote
(``optuna.load_study`` and ``MlflowClient``, no mocks).

What they prove: trials and nested runs match one to one with mirrored states, parameters, per-epoch
metrics and artifacts; the parent run holds the summary and the best model is registered, loads and
predicts, and reruns exactly; pruned trials end FINISHED with a PRUNED state tag; diverging trials
fail without stopping the sweep or storing infinities; a SIGKILLed sweep resumes to exactly its
budget, retrying the dead trial with the same parameters and seed; two workers share one budget
exactly; a resume with changed settings is refused until ``new_study=true``; bad input is refused
before any store exists.
"""

import math
import os
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import chdir, contextmanager, suppress
from pathlib import Path

import mlflow
import numpy as np
import optuna
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from mlflow import MlflowClient
from optuna.trial import FrozenTrial, TrialState
from sklearn.datasets import load_digits

from pipeline.preflight import load_config
from pipeline.setup.config import register_schemas

pytestmark = pytest.mark.slow

TIMEOUT = 300  # seconds for one command; a sweep here takes well under a minute
# Run status that mirrors each trial state (a pruned trial ended normally: FINISHED, with its
# ``trial_state`` tag PRUNED). A FAIL trial without an ``outcome`` is one whose worker died: its run
# cannot close itself and is closed KILLED by the next start.
MIRROR = {TrialState.COMPLETE: "FINISHED", TrialState.PRUNED: "FINISHED", TrialState.FAIL: "FAILED"}
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
# Small and fast: no pyfunc model and no curve PNG unless a test is about them.
# What these tests do not look at: models, plots and the study report (its figures cost more CPU than the trials).
QUIET = ("tracking.log_model=none", "tracking.log_plots=none", "tracking.report=false")
# The summary's retraining of the best (three more seeds, three data shares), as long as a trial each.
NO_RETRAINING = ("search.confirm_seeds=0", "search.data_curve=[]")


def command_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")}
    # One BLAS thread per sweep: the test machine has two cores and pytest itself holds one.
    return {**env, "PYTHONUNBUFFERED": "1", "OPENBLAS_NUM_THREADS": "1"}


def run(cwd: Path, module: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=command_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def sweep(cwd: Path, *overrides: str) -> subprocess.CompletedProcess:
    return run(cwd, "pipeline.sweep", *overrides)


def succeeded(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result


def tracking_uri(cwd: Path) -> str:
    return f"sqlite:///{cwd}/mlruns/mlflow.db"


@pytest.fixture(scope="session")
def empty_tracking_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow SQLite store with its schema created and nothing in it.

    Creating the schema (MLflow's migrations) takes seconds; the tests that are not about a first
    start copy this file into their folder instead of paying for it again.
    """
    database = tmp_path_factory.mktemp("empty_store") / "mlflow.db"
    with chdir(database.parent):  # MLflow roots the unused Default experiment's artifacts in the cwd
        MlflowClient(f"sqlite:///{database}").search_experiments()
    return database


@pytest.fixture
def sweep_dir(tmp_path: Path, empty_tracking_store: Path) -> Path:
    """A sweep folder whose ``mlruns/mlflow.db`` is an empty, ready MLflow store."""
    (tmp_path / "mlruns").mkdir()
    shutil.copyfile(empty_tracking_store, tmp_path / "mlruns" / "mlflow.db")
    return tmp_path


def load_study(cwd: Path, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{cwd}/mlruns/optuna.db")


def all_runs(client: MlflowClient, experiment_name: str, filter_string: str = "") -> list:
    experiment = client.get_experiment_by_name(experiment_name)
    assert experiment is not None, f"no MLflow experiment {experiment_name!r}"
    return client.search_runs([experiment.experiment_id], filter_string, max_results=1000)


def parent_run(client: MlflowClient, study: optuna.Study):
    return client.get_run(study.user_attrs["mlflow_parent_run_id"])


def child_runs(client: MlflowClient, experiment_name: str, parent_id: str) -> dict[str, object]:
    runs = all_runs(client, experiment_name, f"tags.`mlflow.parentRunId` = '{parent_id}'")
    return {run.info.run_id: run for run in runs}


def expected_status(trial: FrozenTrial) -> str:
    died = trial.state == TrialState.FAIL and "outcome" not in trial.user_attrs
    return "KILLED" if died else MIRROR[trial.state]


def assert_runs_mirror_trials(client: MlflowClient, study: optuna.Study) -> None:
    for trial in study.trials:
        run = client.get_run(trial.user_attrs["mlflow_run_id"])
        assert run.info.status == expected_status(trial), f"trial {trial.number} is {trial.state.name}"
        assert run.data.tags["trial_number"] == str(trial.number)
        if run.info.status != "FINISHED":
            assert run.data.tags.get("failure_reason"), f"trial {trial.number}: a run that did not finish says why"


def steps(client: MlflowClient, run_id: str, key: str) -> list[int]:
    return sorted(point.step for point in client.get_metric_history(run_id, key))


# ----- one small sweep, read back from every side --------------------------------------------------
EPOCHS = 8
SMALL = ("search.n_trials=6", f"train.epochs={EPOCHS}")


Swept = tuple[Path, subprocess.CompletedProcess]  # the sweep's folder and its finished command
Small = tuple[Path, optuna.Study, MlflowClient]  # the folder, and its stores opened for reading


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory: pytest.TempPathFactory) -> Swept:
    """``python -m pipeline.sweep search.n_trials=6 train.epochs=8`` on digits, with all defaults."""
    cwd = tmp_path_factory.mktemp("small_sweep")
    return cwd, succeeded(sweep(cwd, *SMALL))


@pytest.fixture(scope="module")
def small(small_sweep: Swept) -> Small:
    cwd, _ = small_sweep
    return cwd, load_study(cwd, "digits-sweep"), MlflowClient(tracking_uri(cwd))


def test_the_sweep_says_what_it_does_after_the_trials_and_mlflow_chatters_nowhere(small_sweep: Swept) -> None:
    _, result = small_sweep
    said = result.stdout.splitlines()
    phases = ["drawing the study report", "confirming the best:", "analysing the best:", "registering", "leaderboard:"]
    where = [next(i for i, line in enumerate(said) if line.startswith(phase)) for phase in phases]
    assert where == sorted(where), "each phase is announced before what it produces"
    for chatter in ("Successfully registered model", "Created version", "INFO", "Validating input example"):
        assert chatter not in result.stderr and chatter not in result.stdout


def test_sweep_records_one_nested_run_per_trial_with_the_trials_state(small: Small) -> None:
    _, study, client = small
    parent = parent_run(client, study)
    children = child_runs(client, "deepsweep-digits", parent.info.run_id)

    assert len(study.trials) == 6
    assert {trial.user_attrs["mlflow_run_id"] for trial in study.trials} == set(children)
    assert all(trial.state in FINISHED for trial in study.trials)
    assert_runs_mirror_trials(client, study)
    for trial in study.trials:
        assert trial.user_attrs["outcome"] == ("complete" if trial.state == TrialState.COMPLETE else "pruned")
        assert isinstance(trial.user_attrs["train_seed"], int)
        assert trial.user_attrs["worker"].rpartition(":")[2].isdigit()
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["kind"] == "study" and "mlflow.parentRunId" not in parent.data.tags


def test_each_trials_run_logs_the_parameters_optuna_suggested(small: Small) -> None:
    _, study, client = small
    for trial in study.trials:
        params = client.get_run(trial.user_attrs["mlflow_run_id"]).data.params
        depth = trial.params["depth"]
        widths = [trial.params[f"hidden_units_l{layer}"] for layer in range(1, depth + 1)]
        assert float(params["learning_rate"]) == trial.params["learning_rate"]
        assert params["hidden_activation"] == trial.params["hidden_activation"]
        assert params["depth"] == str(depth)
        assert params["hidden_units"] == str(widths)
        assert params["train_seed"] == str(trial.user_attrs["train_seed"])
        assert params["epochs"] == str(EPOCHS)


def test_each_trials_run_has_per_epoch_metric_histories(small: Small) -> None:
    _, study, client = small
    for trial in study.trials:
        run_id = trial.user_attrs["mlflow_run_id"]
        for key in ("train_cost", "train_accuracy", "val_cost", "val_accuracy"):
            logged = steps(client, run_id, key)
            if trial.state == TrialState.COMPLETE:
                assert logged == list(range(EPOCHS)), f"trial {trial.number} {key}"
            else:  # a pruned trial stops early, but what it trained is there
                assert logged == list(range(len(logged))) and logged, f"trial {trial.number} {key}"
        history = client.get_metric_history(run_id, "val_accuracy")
        if trial.state == TrialState.COMPLETE:
            last = max(history, key=lambda point: point.step)
            assert last.value == pytest.approx(trial.value), "the trial's value is the last epoch's metric"


def test_each_trials_run_stores_its_config_and_trained_parameters(small: Small) -> None:
    _, study, client = small
    for trial in study.trials:
        names = {item.path for item in client.list_artifacts(trial.user_attrs["mlflow_run_id"])}
        # A pruned trial stops inside training: its config is there, its (unfinished) parameters are not.
        wanted = {"config.yaml", "network.npz"} if trial.state == TrialState.COMPLETE else {"config.yaml"}
        assert wanted <= names, f"trial {trial.number} ({trial.state.name}): {names}"


def test_parent_run_holds_the_trials_table_plots_and_the_best_trial(small: Small) -> None:
    cwd, study, client = small
    parent = parent_run(client, study)
    names = {item.path for item in client.list_artifacts(parent.info.run_id)}
    plots = {item.path for item in client.list_artifacts(parent.info.run_id, "plots")}

    assert {"trials.csv", "config.yaml"} <= names
    assert plots and all(path.endswith(".png") for path in plots), plots
    assert parent.data.tags["best_trial_number"] == str(study.best_trial.number)
    assert parent.data.tags["best_run_id"] == study.best_trial.user_attrs["mlflow_run_id"]
    assert parent.data.metrics["best_val_accuracy"] == pytest.approx(study.best_value)
    table = pd.read_csv(client.download_artifacts(parent.info.run_id, "trials.csv", str(cwd)))
    assert sorted(table["number"]) == [trial.number for trial in study.trials]
    assert set(table["mlflow_run_id"]) == {trial.user_attrs["mlflow_run_id"] for trial in study.trials}


@contextmanager
def mlflow_pointed_at(uri: str):
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(None)  # also clears MLFLOW_TRACKING_URI, which the call above exported


def test_best_model_is_registered_and_its_pyfunc_predicts_digits(small: Small) -> None:
    cwd, study, client = small
    best_run = study.best_trial.user_attrs["mlflow_run_id"]
    versions = client.search_model_versions("name='deepsweep-digits'")

    assert [version.run_id for version in versions] == [best_run]
    digits = load_digits()
    rows = pd.DataFrame(digits.data[:200], columns=digits.feature_names)
    with mlflow_pointed_at(tracking_uri(cwd)):
        model = mlflow.pyfunc.load_model(f"models:/deepsweep-digits/{versions[0].version}")
        predicted = model.predict(rows)
    # Class indices (integers), as the served model answers; digits' class i is the digit i.
    accuracy = np.mean(np.asarray(predicted).reshape(-1) == digits.target[:200])
    assert accuracy > 0.8, f"the registered model predicts raw digits badly: accuracy {accuracy:.2f}"


def test_sweep_prints_a_rerun_command_that_reproduces_the_best_trial(small_sweep: Swept, small: Small) -> None:
    cwd, result = small_sweep
    _, study, _ = small
    best_run = study.best_trial.user_attrs["mlflow_run_id"]
    assert f"python -m pipeline.rerun {best_run}" in result.stdout

    rerun = succeeded(run(cwd, "pipeline.rerun", best_run, "--tracking-uri", tracking_uri(cwd)))
    assert "match exactly" in rerun.stdout


def test_sweep_names_its_stores_first_and_ends_with_what_this_run_did(small_sweep: Swept) -> None:
    cwd, result = small_sweep
    lines = result.stdout.splitlines()
    # A sweep started in another folder would silently start another study: the first line says where.
    assert lines[0] == (
        f"stores: tracking sqlite:///{cwd}/mlruns/mlflow.db, study sqlite:///{cwd}/mlruns/optuna.db"
        " (study 'digits-sweep')"
    ), lines[0]
    assert lines[-1] == "this run: 6 trials; the study: 6 of 6", lines[-1]
    assert not any(line.startswith(("resuming", "nothing to run")) for line in lines)


@pytest.mark.parametrize(
    ("module", "typo", "meant"),
    [
        ("pipeline.sweep", "search.n_trail=5", "did you mean search.n_trials?"),
        ("pipeline.train", "train.learnin_rate=0.1", "did you mean train.learning_rate"),
        ("pipeline.sweep", "serch.metric=val_cost", "did you mean search?"),
    ],
)
def test_a_mistyped_key_gets_did_you_mean_and_no_hint_to_append_it(
    tmp_path: Path, module: str, typo: str, meant: str
) -> None:
    result = run(tmp_path, module, typo)
    assert result.returncode == 1 and meant in result.stderr, result.stderr
    assert "+" not in result.stderr and "Traceback" not in result.stderr
    assert not list(tmp_path.iterdir()), "a refused command creates nothing"


def test_help_is_the_projects_own_page_with_every_group_option_and_examples(tmp_path: Path) -> None:
    page = succeeded(run(tmp_path, "pipeline.sweep", "--help")).stdout
    assert page.startswith("python -m pipeline.sweep: an Optuna study")
    examples = [line for line in page.splitlines() if line.startswith("  python -m pipeline.sweep")]
    assert len(examples) == 9, examples
    register_schemas()
    for example in examples:  # every example is a command the pre-flight accepts as written
        overrides = shlex.split(example.partition("#")[0])[3:]
        with initialize_config_dir(config_dir=str(Path(__file__).resolve().parents[2] / "conf"), version_base="1.3"):
            load_config(compose("config", overrides=overrides))
    conf = Path(__file__).resolve().parents[2] / "conf"
    for group in ("dataset", "model", "train", "search", "sampler", "pruner", "tracking", "experiment"):
        listed = next(line for line in page.splitlines() if line.startswith(f"{group}: "))
        options = sorted(path.stem for path in (conf / group).glob("*.yaml"))
        assert listed == f"{group}: {', '.join(options)}", (listed, options)
    assert "\n  n_trials: 40\n" in page  # the composed config follows the groups, every value in it
    assert "Traceback" not in page and not list(tmp_path.iterdir()), "help must create nothing"


# ----- pruning ---------------------------------------------------------------------------------------
def test_median_pruner_prunes_trials_and_their_runs_say_so(sweep_dir: Path) -> None:
    epochs = 10
    succeeded(
        sweep(
            sweep_dir,
            "dataset=iris",
            "sampler=random",
            "pruner=median",
            "pruner.report_every=1",
            "pruner.options.n_startup_trials=2",
            "pruner.options.n_warmup_steps=1",
            "search.n_trials=8",
            f"train.epochs={epochs}",
            *QUIET,
        )
    )
    study = load_study(sweep_dir, "iris-sweep")
    client = MlflowClient(tracking_uri(sweep_dir))
    pruned = study.get_trials(states=(TrialState.PRUNED,))

    assert len(study.trials) == 8 and all(trial.state in FINISHED for trial in study.trials)
    assert pruned, "with two startup trials and reports every epoch, some of eight random trials are pruned"
    assert_runs_mirror_trials(client, study)
    for trial in pruned:
        run = client.get_run(trial.user_attrs["mlflow_run_id"])
        assert run.info.status == "FINISHED" and run.data.tags["trial_state"] == "PRUNED"
        assert run.data.tags["failure_reason"].startswith("TrialPruned: pruned at epoch")
        epoch = run.data.tags["pruned_at_epoch"]
        name = run.info.run_name
        assert name.startswith(f"trial-{trial.number} ") and name.endswith(f" [pruned@{epoch}]"), "what it tried first"
        assert trial.user_attrs["outcome"] == "pruned"
        assert max(steps(client, run.info.run_id, "val_accuracy")) < epochs - 1, "a pruned trial stops early"
    for trial in study.get_trials(states=(TrialState.COMPLETE,)):
        run = client.get_run(trial.user_attrs["mlflow_run_id"])
        assert run.info.run_name.startswith(f"trial-{trial.number} "), "a complete run says what it tried"
        assert "[" not in run.info.run_name and f"lr={trial.params['learning_rate']:.2g}" in run.info.run_name


# ----- divergence ------------------------------------------------------------------------------------
def test_diverging_trials_fail_without_stopping_the_sweep_or_storing_infinities(sweep_dir: Path) -> None:
    result = sweep(
        sweep_dir,
        "dataset=diabetes",
        "search.metric=val_rmse",
        "search.direction=minimize",
        "train.optimizer=gd",
        "train.batch_size=null",
        "train.epochs=100",
        "search.space.learning_rate.low=0.01",
        "search.space.learning_rate.high=100",
        "sampler=random",
        "pruner=none",
        "search.n_trials=6",
        *QUIET,
    )
    succeeded(result)
    study = load_study(sweep_dir, "diabetes-sweep-val_rmse")
    client = MlflowClient(tracking_uri(sweep_dir))
    failed = study.get_trials(states=(TrialState.FAIL,))
    complete = study.get_trials(states=(TrialState.COMPLETE,))

    assert len(study.trials) == 6, "every trial of the budget ran"
    assert failed, "learning rates up to 100 with full-batch gradient descent diverge"
    assert complete and max(t.number for t in complete) > min(t.number for t in failed), "the sweep went on"
    assert_runs_mirror_trials(client, study)
    for trial in failed:
        reason = trial.user_attrs["failure_reason"]
        assert "diverged" in reason and trial.user_attrs["outcome"] == "failed"
        run = client.get_run(trial.user_attrs["mlflow_run_id"])
        assert run.info.status == "FAILED" and run.data.tags["failure_reason"] == reason
    assert all(math.isfinite(trial.value) for trial in complete)
    for logged in all_runs(client, "deepsweep-diabetes"):
        for key in logged.data.metrics:
            values = [point.value for point in client.get_metric_history(logged.info.run_id, key)]
            # MLflow stores inf as ±sys.float_info.max; a diverging run's last finite costs may well exceed 1e300.
            bad = [v for v in values if not math.isfinite(v) or abs(v) >= sys.float_info.max]
            assert not bad, f"run {logged.info.run_id} stored {key}={bad[:3]} (an infinity, as MLflow stores it)"


# ----- kill and resume -------------------------------------------------------------------------------
def running_trial_with_a_run(database: Path) -> int | None:
    """The number of a RUNNING trial that has its MLflow run (its values reported so far are kept in the
    process, not yet written: search/pruning.py).

    Read-only SQL on Optuna's tables: polling through Optuna could create the schema while the sweep
    is creating it, which is exactly what corrupts SQLite stores.
    """
    if not database.is_file():
        return None
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as connection:
            row = connection.execute(
                "SELECT t.number FROM trials t JOIN trial_user_attributes a ON a.trial_id = t.trial_id "
                "WHERE t.state = 'RUNNING' AND a.key = 'mlflow_run_id'"
            ).fetchone()
    except sqlite3.OperationalError:  # tables not created yet, or a write in progress
        return None
    return None if row is None else row[0]


def start_and_kill_mid_trial(cwd: Path, overrides: tuple[str, ...]) -> int:
    """Start the sweep in its own session, SIGKILL it (and every child) while a trial trains; the trial number."""
    with open(cwd / "killed.log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "pipeline.sweep", *overrides],
            cwd=cwd,
            env=command_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + TIMEOUT
            number = None
            while number is None and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
                number = running_trial_with_a_run(cwd / "mlruns" / "optuna.db")
        finally:
            with suppress(ProcessLookupError):  # the group is gone only if the sweep ended by itself
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    assert number is not None, f"no trial was seen running; output:\n{(cwd / 'killed.log').read_text()}"
    return number


def test_killed_sweep_resumes_to_its_budget_retrying_the_dead_trial_with_its_params_and_seed(sweep_dir: Path) -> None:
    overrides = ("dataset=iris", "train.epochs=400", "pruner=none", "search.n_trials=4", *QUIET, *NO_RETRAINING)
    killed_number = start_and_kill_mid_trial(sweep_dir, overrides)
    client = MlflowClient(tracking_uri(sweep_dir))
    killed = load_study(sweep_dir, "iris-sweep").trials[killed_number]
    assert killed.state == TrialState.RUNNING, "SIGKILL leaves the trial RUNNING: the case to recover from"
    assert client.get_run(killed.user_attrs["mlflow_run_id"]).info.status == "RUNNING"

    succeeded(sweep(sweep_dir, *overrides))

    study = load_study(sweep_dir, "iris-sweep")
    trials = study.trials
    finished = [trial for trial in trials if trial.state in FINISHED]
    failed = [trial for trial in trials if trial.state == TrialState.FAIL]
    assert len(finished) == 4, [(t.number, t.state.name) for t in trials]
    assert [trial.number for trial in failed] == [killed_number]
    assert "outcome" not in failed[0].user_attrs, "the dead trial is not counted against the budget"
    retries = [trial for trial in trials if trial.system_attrs.get("failed_trial") == killed_number]
    assert len(retries) == 1 and retries[0].state == TrialState.COMPLETE
    assert retries[0].params == killed.params
    assert retries[0].user_attrs["train_seed"] == killed.user_attrs["train_seed"]
    assert retries[0].user_attrs["mlflow_run_id"] != killed.user_attrs["mlflow_run_id"], "the retry has its own run"
    assert not study.get_trials(states=(TrialState.RUNNING, TrialState.WAITING))
    killed_run = client.get_run(killed.user_attrs["mlflow_run_id"])
    assert killed_run.info.status == "KILLED"
    assert "died" in killed_run.data.tags["failure_reason"]
    assert_runs_mirror_trials(client, study)
    statuses = {run.info.run_id: run.info.status for run in all_runs(client, "deepsweep-iris")}
    assert "RUNNING" not in statuses.values(), statuses
    assert statuses[study.user_attrs["mlflow_parent_run_id"]] == "FINISHED", "the resumed parent run is closed"


# ----- two workers -----------------------------------------------------------------------------------
def test_two_workers_share_one_budget_exactly(tmp_path: Path) -> None:
    overrides = ("dataset=iris", "search.workers=2", "search.n_trials=6", "train.epochs=1500", "pruner=none")
    succeeded(sweep(tmp_path, *overrides, *QUIET, *NO_RETRAINING))
    study = load_study(tmp_path, "iris-sweep")
    client = MlflowClient(tracking_uri(tmp_path))
    children = child_runs(client, "deepsweep-iris", study.user_attrs["mlflow_parent_run_id"])

    assert len(study.trials) == 6
    assert all(trial.state == TrialState.COMPLETE for trial in study.trials)
    assert len(children) == 6 and {run.info.status for run in children.values()} == {"FINISHED"}
    assert {trial.user_attrs["mlflow_run_id"] for trial in study.trials} == set(children)
    workers = {trial.user_attrs["worker"] for trial in study.trials}
    assert len(workers) == 2, f"both worker processes ran trials: {workers}"
    assert len({worker.rpartition(":")[2] for worker in workers}) == 2


# ----- resume refusal and new_study --------------------------------------------------------------------
def test_two_csv_files_get_a_study_and_a_model_each_and_a_shared_name_is_refused_naming_both(tmp_path: Path) -> None:
    rows = np.random.default_rng(0).normal(size=(60, 3))
    for name, shift in (("sales", 0.0), ("stock", 1.0)):
        frame = pd.DataFrame(rows + shift, columns=["a", "b", "c"]).assign(label=(rows[:, 0] > 0).astype(int))
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    tiny = ("dataset=csv", "dataset.target=label", "search.n_trials=2", "train.epochs=2", "search.confirm_seeds=0")
    for name in ("sales", "stock"):
        succeeded(sweep(tmp_path, *tiny, f"dataset.path={tmp_path / name}.csv", "search.data_curve=[]"))
    names = {s.study_name for s in optuna.get_all_study_summaries(f"sqlite:///{tmp_path}/mlruns/optuna.db")}
    assert names == {"csv-sales-sweep", "csv-stock-sweep"}
    models = {m.name for m in MlflowClient(tracking_uri(tmp_path)).search_registered_models()}
    assert models == {"deepsweep-csv-sales", "deepsweep-csv-stock"}

    refused = sweep(tmp_path, *tiny, f"dataset.path={tmp_path / 'stock'}.csv", "study_name=csv-sales-sweep")

    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert f"data: {tmp_path / 'sales'}.csv -> {tmp_path / 'stock'}.csv" in refused.stderr
    assert "data_fingerprint" not in refused.stderr, "the files are named, not their digests"


def test_resume_with_changed_settings_is_refused_until_new_study(sweep_dir: Path) -> None:
    # One name throughout: the default name would follow the metric (setup/names.py) and never meet the change.
    tiny = ("dataset=iris", "study_name=iris-sweep", "search.n_trials=2", "train.epochs=3", *QUIET)
    changed = ("search.direction=minimize", "search.metric=val_cost")
    succeeded(sweep(sweep_dir, *tiny))
    client = MlflowClient(tracking_uri(sweep_dir))
    before_runs = {run.info.run_id: run.info.status for run in all_runs(client, "deepsweep-iris")}
    before_trials = len(load_study(sweep_dir, "iris-sweep").trials)

    refused = sweep(sweep_dir, *tiny, *changed)

    assert refused.returncode == 1, refused.stderr
    assert "direction: 'maximize' -> 'minimize'" in refused.stderr
    assert "metric: 'val_accuracy' -> 'val_cost'" in refused.stderr
    assert "study_name=" in refused.stderr and "new_study=true" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert len(load_study(sweep_dir, "iris-sweep").trials) == before_trials, "nothing new in the study"
    after_runs = {run.info.run_id: run.info.status for run in all_runs(client, "deepsweep-iris")}
    assert after_runs == before_runs, "no run created or reopened"

    succeeded(sweep(sweep_dir, *tiny, *changed, "new_study=true"))

    summaries = {s.study_name: s for s in optuna.get_all_study_summaries(f"sqlite:///{sweep_dir}/mlruns/optuna.db")}
    archived = [name for name in summaries if name.startswith("iris-sweep-archived-")]
    assert len(archived) == 1 and summaries[archived[0]].n_trials == 2
    assert summaries[archived[0]].direction == optuna.study.StudyDirection.MAXIMIZE
    fresh = load_study(sweep_dir, "iris-sweep")
    assert fresh.direction == optuna.study.StudyDirection.MINIMIZE and len(fresh.trials) == 2
    assert fresh.user_attrs["deepsweep_settings"]["metric"] == "val_cost"
    assert fresh.user_attrs["mlflow_parent_run_id"] not in before_runs, "the new study has its own parent run"


# ----- bad input -------------------------------------------------------------------------------------
def test_metric_the_dataset_never_logs_is_refused_before_any_store_exists(tmp_path: Path) -> None:
    result = sweep(tmp_path, "search.metric=val_rmse")

    assert result.returncode == 1
    assert "search.metric=val_rmse is never logged for dataset 'digits'" in result.stderr
    assert "val_accuracy" in result.stderr, "the message lists the metrics that can be optimized"
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "mlruns" / "optuna.db").exists(), "no study storage was created"
    assert not (tmp_path / "mlruns" / "mlflow.db").exists(), "no tracking store was created"
