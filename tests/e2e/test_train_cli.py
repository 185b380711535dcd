"""End-to-end tests of ``python -m pipeline.train`` and ``python -m pipeline.rerun`` as a user runs them.

Every command is a real subprocess writing a real MLflow store (SQLite + artifact folders) in a temporary
folder; what it recorded is read back through the MLflow API. Nothing is mocked.
"""

import math
import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from helpers.commands import start
from hydra import compose, initialize_config_dir
from mlflow import MlflowClient
from mlflow.entities import Metric, Run
from omegaconf import OmegaConf

from models import DeepNetwork
from pipeline.preflight import load_config as to_config
from pipeline.rerun import main as rerun_main
from pipeline.setup.config import Config, register_schemas
from pipeline.setup.data import load

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 300  # seconds per command: generous, a hung command must not hang the suite
# Small and fast: 150 examples, one hidden layer of 8, a few epochs.
SMALL = ("dataset=iris", "model.hidden_units=[8]", "train.epochs=6")
DIVERGING = (
    "dataset=diabetes",
    "model.output=linear",
    "train.optimizer=gd",
    "train.learning_rate=1000",
    "train.batch_size=null",
    "train.epochs=200",
)
SECRET = "s3cret"

register_schemas()


# ----- helpers ------------------------------------------------------------------------------------------


def _dataset(config: Config):
    return load(config.dataset, config.seed)


def finish(process: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    try:
        out, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def run(module: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return finish(start(module, *args, cwd=cwd))


def shown(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def store_uri(cwd: Path) -> str:
    """The default store ``sqlite:///mlruns/mlflow.db`` as seen from ``cwd``."""
    return f"sqlite:///{(cwd / 'mlruns' / 'mlflow.db').resolve()}"


def printed_run_id(result: subprocess.CompletedProcess[str]) -> str:
    found = re.search(r"^run ([0-9a-f]{32}):", result.stdout, re.MULTILINE)
    assert found, f"no 'run <id>:' line printed\n{shown(result)}"
    return found.group(1)


def all_runs(client: MlflowClient) -> list[Run]:
    return client.search_runs([experiment.experiment_id for experiment in client.search_experiments()])


def histories(client: MlflowClient, run_id: str) -> dict[str, list[tuple[int, float]]]:
    run = client.get_run(run_id)
    return {key: sorted((p.step, p.value) for p in client.get_metric_history(run_id, key)) for key in run.data.metrics}


def artifact_text(client: MlflowClient, run_id: str, path: str, folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(client.download_artifacts(run_id, path, str(folder))).read_text(encoding="utf-8")


def composed(*overrides: str) -> Config:
    """The config the commands build from ``overrides``, composed here the same way."""
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return to_config(compose("config", overrides=list(overrides)))


@contextmanager
def tracking_uri(uri: str) -> Iterator[None]:
    """Point this process's MLflow at ``uri`` (``models:/`` URIs resolve through it), then back."""
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)  # None: unset, as before


# ----- the training commands, started together so that they share the machine's cores --------------------
@dataclass
class Finished:
    result: subprocess.CompletedProcess[str]
    cwd: Path

    @property
    def client(self) -> MlflowClient:
        return MlflowClient(store_uri(self.cwd))

    def only_run(self) -> Run:
        runs = all_runs(self.client)
        assert len(runs) == 1, f"expected one run in {store_uri(self.cwd)}, found {len(runs)}\n{shown(self.result)}"
        return runs[0]


@pytest.fixture(scope="module")
def trainings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Finished]:
    """Three runs, each in its own working directory with the default relative stores: a small one, a diverging
    one, and one started from a subfolder whose Optuna storage URI holds a password (train never opens it)."""
    root = tmp_path_factory.mktemp("train")
    commands = {
        "small": (root / "small", SMALL),
        "diverging": (root / "diverging", DIVERGING),
        "subfolder": (
            root / "project" / "sub",
            (*SMALL, f"tracking.storage=postgresql://u:{SECRET}@127.0.0.1/db", "tracking.log_model=none"),
        ),
    }
    started = {name: (start("pipeline.train", *args, cwd=cwd), cwd) for name, (cwd, args) in commands.items()}
    return {name: Finished(finish(process), cwd) for name, (process, cwd) in started.items()}


@pytest.fixture(scope="module")
def small(trainings: dict[str, Finished]) -> tuple[Finished, Run]:
    finished = trainings["small"]
    assert finished.result.returncode == 0, shown(finished.result)
    return finished, finished.only_run()


# ----- one run: what it holds ------------------------------------------------------------------------------
@pytest.mark.slow
def test_train_prints_its_run_id_and_how_to_browse_the_store(small: tuple[Finished, Run]) -> None:
    finished, run = small
    assert printed_run_id(finished.result) == run.info.run_id
    assert "mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db" in finished.result.stdout
    assert "Traceback" not in finished.result.stderr


@pytest.mark.slow
def test_run_finishes_with_every_config_value_as_a_plainly_named_parameter(small: tuple[Finished, Run]) -> None:
    _, run = small
    params = run.data.params
    assert run.info.status == "FINISHED"
    expected = {
        "dataset": "iris",
        "learning_rate": "0.01",
        "hidden_units": "[8]",
        "depth": "1",
        "hidden_activation": "relu",
        "output": "softmax",
        "init": "he",
        "optimizer": "adam",
        "epochs": "6",
        "batch_size": "64",
        "l2": "0.0",
        "seed": "0",
        "val_fraction": "0.2",
        "test_fraction": "0.2",
        "scaling": "standard",
        "dtype": "float64",
        "log_every": "1",
    }
    assert {key: params.get(key) for key in expected} == expected
    assert not [key for key in params if "." in key], "parameters are keyed by plain names, not dotted paths"


@pytest.mark.slow
def test_every_epoch_records_train_and_validation_cost_and_accuracy(small: tuple[Finished, Run]) -> None:
    finished, run = small
    logged = histories(finished.client, run.info.run_id)
    for key in ("train_cost", "train_accuracy", "val_cost", "val_accuracy"):
        assert [step for step, _ in logged.get(key, [])] == list(range(6)), key
        assert all(math.isfinite(value) for _, value in logged[key]), key
    assert all(0.0 <= value <= 1.0 for _, value in logged["val_accuracy"])


@pytest.mark.slow
def test_pyfunc_model_of_the_model_uri_tag_reproduces_the_logged_test_accuracy(small: tuple[Finished, Run]) -> None:
    finished, run = small
    metrics = run.data.metrics
    assert {"test_cost", "test_accuracy"} <= set(metrics)
    assert math.isfinite(metrics["test_cost"]) and metrics["test_cost"] > 0
    # The pyfunc model, found through the run's model_uri tag, predicts class indices from raw rows.
    dataset = _dataset(composed(*SMALL))
    with tracking_uri(store_uri(finished.cwd)):
        model = mlflow.pyfunc.load_model(run.data.tags["model_uri"])
    shift, multiplier = np.asarray(dataset.input_shift), np.asarray(dataset.input_multiplier)
    raw_test_rows = pd.DataFrame((dataset.X_test.T - shift) / multiplier, columns=list(dataset.feature_names))
    predicted = np.asarray(model.predict(raw_test_rows))
    labels = dataset.Y_test.argmax(axis=0) if dataset.Y_test.shape[0] > 1 else dataset.Y_test[0].astype(int)
    truth = labels
    assert set(predicted) <= set(range(len(dataset.class_names)))
    assert np.mean(predicted == truth) == pytest.approx(metrics["test_accuracy"], abs=1e-12)


@pytest.mark.slow
def test_artifacts_hold_the_full_config_the_parameters_and_the_learning_curves(
    small: tuple[Finished, Run], tmp_path: Path
) -> None:
    finished, run = small
    client = finished.client
    listed = {artifact.path for artifact in client.list_artifacts(run.info.run_id)}
    assert {"config.yaml", "network.npz", "learning_curves.png"} <= listed
    logged = to_config(OmegaConf.create(artifact_text(client, run.info.run_id, "config.yaml", tmp_path)))
    assert logged == composed(*SMALL)  # every value, including the relative store URIs, exactly as given
    network = DeepNetwork.load(client.download_artifacts(run.info.run_id, "network.npz", str(tmp_path)))
    assert network.layer_dims[0] == 4 and network.layer_dims[1:-1] == [8] and network.layer_dims[-1] == 3
    png = Path(client.download_artifacts(run.info.run_id, "learning_curves.png", str(tmp_path))).read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000


@pytest.mark.slow
def test_tags_record_git_commit_package_versions_and_data_fingerprint(small: tuple[Finished, Run]) -> None:
    _, run = small
    tags = run.data.tags
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", tags.get("git_commit", "")), tags.get("git_commit")
    commit = tags["git_commit"].removesuffix("-dirty")
    assert subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{commit}^{{commit}}"]).returncode == 0
    assert tags.get("numpy_version") == np.__version__
    assert tags.get("mlflow_version") == mlflow.__version__
    assert tags.get("deepsweep_version") == metadata.version("deepsweep")
    assert tags.get("hydra-core_version") == metadata.version("hydra-core")
    assert tags.get("data_fingerprint") == _dataset(composed(*SMALL)).fingerprint
    assert re.fullmatch(r"models:/.+", tags.get("model_uri", ""))


# ----- failures and secrets ----------------------------------------------------------------------------------
@pytest.mark.slow
def test_diverging_run_exits_non_zero_and_ends_failed_with_the_reason_and_no_infinite_metric(
    trainings: dict[str, Finished],
) -> None:
    finished = trainings["diverging"]
    result = finished.result
    assert result.returncode == 1, shown(result)
    said = re.search(r"diverged at epoch (\d+)", result.stderr)
    assert said and "Traceback" not in result.stderr, shown(result)
    run = finished.only_run()
    assert run.info.status == "FAILED"
    assert f"diverged at epoch {said.group(1)}" in run.data.tags.get("failure_reason", "")
    logged = histories(finished.client, run.info.run_id)
    assert logged["train_cost"], "the epochs before divergence are recorded"
    values = [value for points in logged.values() for _, value in points]
    assert all(math.isfinite(value) and abs(value) < 1e308 for value in values)  # MLflow stores inf as 1.8e308
    assert not any(key.startswith("test_") for key in logged)


@pytest.mark.slow
def test_password_in_the_storage_uri_is_never_logged(trainings: dict[str, Finished], tmp_path: Path) -> None:
    finished = trainings["subfolder"]
    assert finished.result.returncode == 0, shown(finished.result)
    run = finished.only_run()
    assert not [key for key, value in run.data.params.items() if SECRET in value]
    assert not [key for key, value in run.data.tags.items() if SECRET in value]
    config_yaml = artifact_text(finished.client, run.info.run_id, "config.yaml", tmp_path)
    assert "postgresql://u:***@127.0.0.1/db" in config_yaml and SECRET not in config_yaml
    leaks = [str(p) for p in (finished.cwd / "mlruns").rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert leaks == [], "the store (database and artifacts) holds the password"
    assert SECRET not in finished.result.stdout + finished.result.stderr


@pytest.mark.slow
def test_default_stores_are_created_relative_to_the_working_directory(trainings: dict[str, Finished]) -> None:
    finished = trainings["subfolder"]
    sub = finished.cwd
    assert finished.result.returncode == 0, shown(finished.result)
    assert (sub / "mlruns" / "mlflow.db").is_file()
    run = finished.only_run()
    assert Path(run.info.artifact_uri).resolve().is_relative_to((sub / "mlruns" / "artifacts").resolve())
    assert (Path(run.info.artifact_uri) / "config.yaml").is_file()
    assert sorted(p.name for p in sub.iterdir()) == ["mlruns"], "no outputs/, .hydra/ or other files beside it"
    assert sorted(p.name for p in sub.parent.iterdir()) == ["sub"]


BAD_OVERRIDES = {  # id -> (overrides, what the message must name)
    "learning_rate=-1": (("train.learning_rate=-1",), "train.learning_rate"),
    "+model.foo": (("+model.foo=1",), "model.foo"),
    "dataset=nope": (("dataset=nope",), "dataset/nope"),
    "output-unfit-for-data": (("dataset=iris", "model.output=linear"), "model.output"),
}
UNKNOWN_RUN = "0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def refused(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Finished]:
    """Every bad override, started together, each in an empty working directory."""
    root = tmp_path_factory.mktemp("refused")
    started = {
        name: (start("pipeline.train", *overrides, cwd=root / name), root / name)
        for name, (overrides, _) in BAD_OVERRIDES.items()
    }
    return {name: Finished(finish(process), cwd) for name, (process, cwd) in started.items()}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BAD_OVERRIDES))
def test_bad_override_exits_non_zero_naming_the_key_and_records_nothing(
    name: str, refused: dict[str, Finished]
) -> None:
    finished, (_, named) = refused[name], BAD_OVERRIDES[name]
    result = finished.result
    assert result.returncode != 0, shown(result)
    assert named in result.stderr and "Traceback" not in result.stderr, shown(result)
    store = finished.cwd / "mlruns" / "mlflow.db"
    assert not store.exists() or all_runs(finished.client) == []


def test_rerun_without_a_store_exits_2_and_creates_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The command's main, run in this process with its default relative --tracking-uri: it must stop before
    # touching MLflow, so a subprocess would add only start-up time.
    monkeypatch.chdir(tmp_path)
    assert rerun_main([UNKNOWN_RUN]) == 2
    assert "no MLflow store" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [], "looking for the run must not create an empty store"


@pytest.mark.parametrize(("text", "words"), [("model: [unclosed\n", "not valid YAML"), ("- a\n", "no mapping")])
def test_rerun_of_a_run_whose_config_is_not_yaml_exits_2_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, words: str
) -> None:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = MlflowClient(uri)
    run = client.create_run(client.create_experiment("x", artifact_location=str(tmp_path / "artifacts"))).info.run_id
    (tmp_path / "config.yaml").write_text(text)
    client.log_artifact(run, str(tmp_path / "config.yaml"))
    capsys.readouterr()  # MLflow's own lines from making the store above
    assert rerun_main([run, "--tracking-uri", uri]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


# ----- rerun ----------------------------------------------------------------------------------------------------
def printed_rerun_id(result: subprocess.CompletedProcess[str]) -> str:
    found = re.search(r"recorded as run ([0-9a-f]{32})", result.stdout)
    assert found, f"the rerun's run id is not printed\n{shown(result)}"
    return found.group(1)


def doctored_copy(client: MlflowClient, source: Run, folder: Path) -> str:
    """A run holding ``source``'s config (minus the pyfunc model, to rerun faster) and metrics, except
    train_cost at step 2 nudged by 1e-12."""
    copy = client.create_run(source.info.experiment_id, tags={"mlflow.runName": "doctored"}).info.run_id
    config = OmegaConf.create(artifact_text(client, source.info.run_id, "config.yaml", folder))
    config.tracking.log_model = "none"
    OmegaConf.save(config, folder / "config.yaml")
    client.log_artifact(copy, str(folder / "config.yaml"))
    metrics = [
        Metric(key, value + (1e-12 if (key, step) == ("train_cost", 2) else 0.0), 0, step)
        for key, points in histories(client, source.info.run_id).items()
        for step, value in points
    ]
    client.log_batch(copy, metrics=metrics)
    client.set_terminated(copy)
    return copy


@dataclass
class Reruns:
    source: Run
    doctored: str  # a copy of the source run with one metric value changed
    results: dict[str, Finished]  # "same", "doctored", "unknown"; each ran in its own folder


@pytest.fixture(scope="module")
def reruns(small: tuple[Finished, Run], tmp_path_factory: pytest.TempPathFactory) -> Reruns:
    """``pipeline.rerun`` of the small run, of a doctored copy of it and of an unknown run id, started together
    from another working directory with the store named by its absolute URI."""
    finished, source = small
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    doctored = doctored_copy(finished.client, source, elsewhere / "download")
    uri = ("--tracking-uri", store_uri(finished.cwd))
    started = {
        name: (start("pipeline.rerun", run_id, *uri, cwd=elsewhere / name), elsewhere / name)
        for name, run_id in (("same", source.info.run_id), ("doctored", doctored), ("unknown", UNKNOWN_RUN))
    }
    return Reruns(source, doctored, {name: Finished(finish(process), cwd) for name, (process, cwd) in started.items()})


@pytest.mark.slow
def test_rerun_matches_every_metric_exactly_and_is_tagged_as_a_rerun(
    small: tuple[Finished, Run], reruns: Reruns
) -> None:
    finished, source = small
    result = reruns.results["same"].result
    assert result.returncode == 0, shown(result)
    assert "match exactly" in result.stdout
    client = finished.client
    new = client.get_run(printed_rerun_id(result))
    assert new.info.run_id != source.info.run_id and new.info.status == "FINISHED"
    assert new.info.experiment_id == source.info.experiment_id
    assert new.data.tags.get("rerun_of") == source.info.run_id
    assert new.data.tags.get("rerun_matches") == "true"
    assert new.data.tags.get("data_fingerprint") == source.data.tags["data_fingerprint"]
    assert new.data.params == source.data.params
    assert histories(client, new.info.run_id) == histories(client, source.info.run_id)


@pytest.mark.slow
def test_rerun_exits_1_naming_the_metric_when_a_logged_value_differs_in_the_last_digits(
    small: tuple[Finished, Run], reruns: Reruns
) -> None:
    finished, _ = small
    result = reruns.results["doctored"].result
    assert result.returncode == 1, shown(result)
    assert "train_cost at step 2" in result.stdout
    new = finished.client.get_run(printed_rerun_id(result))
    assert new.data.tags.get("rerun_of") == reruns.doctored and new.data.tags.get("rerun_matches") == "false"


@pytest.mark.slow
def test_rerun_of_an_unknown_run_exits_2_and_records_nothing(small: tuple[Finished, Run], reruns: Reruns) -> None:
    finished, _ = small
    result = reruns.results["unknown"].result
    assert result.returncode == 2, shown(result)
    assert UNKNOWN_RUN in result.stderr and "Traceback" not in result.stderr
    assert not [run for run in all_runs(finished.client) if run.data.tags.get("rerun_of") == UNKNOWN_RUN]
    assert list(reruns.results["unknown"].cwd.iterdir()) == [], "nothing is written where the command ran"


@pytest.mark.parametrize("module", ["pipeline.train", "pipeline.sweep"])
def test_a_hydra_folder_in_a_system_folder_is_refused_before_hydra_creates_it(tmp_path: Path, module: str) -> None:
    target = Path("/etc") / f"deepsweep-test-{os.getpid()}-{module.split('.')[1]}"
    try:
        process = start(module, f"hydra.run.dir={target}", cwd=tmp_path)
        stdout, stderr = process.communicate(timeout=120)
        result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert f"hydra.run.dir='{target}' is inside the system folder /etc" in result.stderr
        assert not target.exists() and list(tmp_path.iterdir()) == []
    finally:
        if target.is_dir():
            target.rmdir()
