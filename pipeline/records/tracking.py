"""MLflow access for the whole project: experiments, runs, batched metrics, artifacts, models.

Every read and write of a tracking store goes through this module, except the creation of an empty
store (``new_store.py``). ``mlflow`` is imported only under ``pipeline/records/``: here, in
``new_store.py``, and in ``pyfunc_model.py`` and ``pyfunc_entry.py`` (the served model, which must
subclass MLflow's ``PythonModel``), as tests/pipeline/test_architecture.py checks. Every store call
goes through ``_retry`` so that a busy SQLite store (several workers writing at once) is waited out
instead of surfacing as an error.
"""

import contextlib
import functools
import io
import logging
import math
import os
import random
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.exceptions import MlflowException
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME

from pipeline.errors import ConfigError
from pipeline.interrupts import critical
from pipeline.record_names import FAILURE_ATTR, HOST_TAG, PID_STARTED_TAG, PID_TAG
from pipeline.records.locks import StoreLock, create_atomically, enable_wal, process_alive, process_started
from pipeline.records.new_store import create_schema
from pipeline.records.pyfunc_model import model_signature
from pipeline.records.uris import absolute_path, absolute_sqlite_uri, mask_password, sqlite_file

T = TypeVar("T")

# MLflow's limits per log_batch call and per parameter value.
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_PER_BATCH = 100
MAX_PARAM_LENGTH = 6000
TRUNCATION_MARK = "…[truncated: the full value is in config.yaml]"

EXPERIMENT_TAGS = {"mlflow.experimentKind": "custom_model_development"}

PARTIAL_FOLDER = ".partial"  # beside each run's artifacts/: files being written, renamed into place when whole

STATUS_FINISHED = RunStatus.to_string(RunStatus.FINISHED)
STATUS_FAILED = RunStatus.to_string(RunStatus.FAILED)
STATUS_KILLED = RunStatus.to_string(RunStatus.KILLED)
STATUS_RUNNING = RunStatus.to_string(RunStatus.RUNNING)


def _is_busy(error: BaseException) -> bool:
    text = str(error).lower()
    return "database is locked" in text or "database is busy" in text or "deadlock" in text


BUSY_SECONDS = 120.0  # how long a store locked by another process is waited for (Optuna's SQLite timeout too)


def _retry(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``call(*args, **kwargs)``, retried with jittered backoff while the store reports it is busy, for up to
    ``BUSY_SECONDS`` in all (a count of attempts gave up after a few seconds when each attempt failed fast)."""
    started, attempt = time.monotonic(), 0
    while True:
        try:
            with critical():  # Ctrl-C or SIGTERM waits until the write is done
                return call(*args, **kwargs)
        except Exception as error:  # MLflow wraps SQLAlchemy's OperationalError in several ways
            if not _is_busy(error) or time.monotonic() - started > BUSY_SECONDS:
                raise
            time.sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random()))
            attempt += 1


class _BusyStoreErrors(logging.Filter):
    """Drops MLflow's own ``ERROR ... SQLAlchemy database error`` log lines (with their tracebacks) for a store
    that is only busy: ``_retry`` waits those out, and a sweep that then succeeds must not print errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return error is None or not _is_busy(error)


logging.getLogger("mlflow.store.db.utils").addFilter(_BusyStoreErrors())


def client(tracking_uri: str) -> MlflowClient:
    """An MLflow client; the first one on a new store creates its schema, which two processes must
    not do at once (it corrupts SQLite stores), hence the lock."""
    with StoreLock(tracking_uri, "init"):
        database = sqlite_file(tracking_uri)
        if database is not None and not database.exists():
            create_atomically(database, create_schema)  # from a migrated empty template: milliseconds
        store = MlflowClient(tracking_uri)
        store.search_experiments(max_results=1)  # the schema exists once this returns
        enable_wal(tracking_uri)
        return store


def configure(tracking_uri: str) -> str:
    """Point this process's MLflow at ``tracking_uri`` (relative SQLite paths made absolute); returns it."""
    uri = absolute_sqlite_uri(tracking_uri)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no bars in sweep logs
    mlflow.set_tracking_uri(uri)
    return uri


class Tracker:
    """One MLflow experiment in one tracking store."""

    def __init__(self, tracking_uri: str, experiment_name: str, artifact_location: str | None = None) -> None:
        self.tracking_uri = configure(tracking_uri)
        self.client = client(self.tracking_uri)
        self.experiment_id = self._experiment(experiment_name, artifact_location)

    def _experiment(self, experiment_name: str, artifact_location: str | None) -> str:
        experiment = _retry(self.client.get_experiment_by_name, experiment_name)
        if experiment is None:
            location = absolute_path(artifact_location) if artifact_location else None
            if location and "://" not in location and ":" not in location.split("/")[0]:
                location = str(Path(location) / experiment_name)
            try:
                # The UI then opens the experiment as machine learning (runs, charts), not as a GenAI app.
                return _retry(self.client.create_experiment, experiment_name, location, tags=EXPERIMENT_TAGS)
            except MlflowException:  # another process created it first
                return _retry(self.client.get_experiment_by_name, experiment_name).experiment_id
        if experiment.lifecycle_stage == "deleted":
            raise ConfigError(
                f"MLflow experiment {experiment_name!r} is deleted; restore it in the UI "
                "(or `mlflow experiments restore`) or choose another tracking.experiment_name"
            )
        return experiment.experiment_id

    def start_run(
        self, run_name: str, tags: dict[str, str] | None = None, parent_run_id: str | None = None
    ) -> "RunRecorder":
        """Create a RUNNING run (nested under ``parent_run_id`` when given)."""
        # host and pid from the first write: a run whose process dies at any point can be closed later
        all_tags = {MLFLOW_RUN_NAME: run_name, **process_tags(), **(tags or {})}
        if parent_run_id:
            all_tags[MLFLOW_PARENT_RUN_ID] = parent_run_id
        run = _retry(self.client.create_run, self.experiment_id, tags=all_tags)
        return RunRecorder(self.client, run.info.run_id, run.info.artifact_uri)

    def run(self, run_id: str) -> Any:
        """The run ``run_id`` as MLflow returns it (retried while the store is busy)."""
        return _retry(self.client.get_run, run_id)

    def recorder(self, run_id: str) -> "RunRecorder":
        """A recorder for an existing run."""
        return RunRecorder(self.client, run_id)

    def search(self, filter_string: str, max_results: int = 10_000) -> list:
        """Runs of this experiment matching an MLflow filter string, newest first."""
        return _retry(
            self.client.search_runs,
            [self.experiment_id],
            filter_string=filter_string,
            max_results=max_results,
            order_by=["attributes.start_time DESC"],
        )


class RunRecorder:
    """Writes one run: parameters, tags, metrics, artifacts and its final status.

    Parameters, tags and metrics are buffered and sent together by ``flush`` in as few ``log_batch``
    calls as MLflow's limits allow: one store write instead of one per value.
    """

    def __init__(self, client: MlflowClient, run_id: str, artifact_uri: str | None = None) -> None:
        self.client = client
        self.run_id = run_id
        self._metrics: list[Metric] = []
        self._params: list[Param] = []
        self._tags: dict[str, str] = {}
        self._artifact_uri = artifact_uri
        self.dropped_non_finite: list[str] = []

    def add_params(self, params: dict[str, Any]) -> None:
        """Buffer parameters; a value longer than MLflow keeps is cut visibly and listed in a tag."""
        cut = []
        for key, value in params.items():
            text = "None" if value is None else str(value)
            if len(text) > MAX_PARAM_LENGTH:
                text = text[: MAX_PARAM_LENGTH - len(TRUNCATION_MARK)] + TRUNCATION_MARK
                cut.append(key)
            self._params.append(Param(key, text))
        if cut:
            self.add_tags({"params_truncated": ",".join(cut)})

    def add_tags(self, tags: dict[str, Any]) -> None:
        self._tags.update({key: str(value) for key, value in tags.items()})

    def add_metrics(self, values: dict[str, float], step: int) -> None:
        """Buffer metrics for ``step``; non-finite values are never stored (MLflow would turn inf into 1.8e308)."""
        now = int(time.time() * 1000)
        for key, value in values.items():
            if math.isfinite(value):
                self._metrics.append(Metric(key, float(value), now, step))
            else:
                self.dropped_non_finite.append(f"{key}@{step}")

    def flush(self) -> None:
        """Send everything buffered, within MLflow's per-call limits."""
        tags = [RunTag(key, value) for key, value in self._tags.items()]
        while self._metrics or self._params or tags:
            metrics, params = self._metrics[:MAX_METRICS_PER_BATCH], self._params[:MAX_PARAMS_PER_BATCH]
            batch_tags = tags[:MAX_PARAMS_PER_BATCH]
            _retry(self.client.log_batch, self.run_id, metrics=metrics, params=params, tags=batch_tags)
            # Dropped from the buffer only once stored: a failed write can be retried by the next flush.
            del self._metrics[: len(metrics)], self._params[: len(params)], tags[: len(batch_tags)]
            for tag in batch_tags:
                self._tags.pop(tag.key, None)

    def log_params(self, params: dict[str, Any]) -> None:
        self.add_params(params)
        self.flush()

    def set_tags(self, tags: dict[str, Any]) -> None:
        self.add_tags(tags)
        self.flush()

    def log_metrics(self, values: dict[str, float], step: int = 0) -> None:
        self.add_metrics(values, step)
        self.flush()

    def log_file(self, path: str | Path, artifact_path: str | None = None) -> None:
        """Store a file among the run's artifacts (under ``artifact_path``)."""
        name = f"{artifact_path}/{Path(path).name}" if artifact_path else Path(path).name
        self.save_artifact(name, lambda target: shutil.copyfile(path, target))

    def save_artifact(self, name: str, save: Callable[[Path], object]) -> None:
        """Create the artifact ``name`` (e.g. ``plots/x.png``) by calling ``save(path)``.

        In a local artifact folder ``save`` writes a temporary file beside the destination, which is
        synced and renamed into place: a full disk or a crash never leaves a truncated artifact, and
        no extra copy is made. Remote stores get the file through MLflow's own upload.
        """
        folder = self._local_artifact_folder()
        if folder is None:
            with tempfile.TemporaryDirectory() as scratch:
                path = Path(scratch) / Path(name).name
                save(path)
                parent = str(Path(name).parent)
                _retry(self.client.log_artifact, self.run_id, str(path), None if parent == "." else parent)
            return
        destination = folder / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        # Beside the run's artifact folder, not in it: a kill mid-write never leaves a file MLflow lists.
        scratch = folder.parent / PARTIAL_FOLDER
        scratch.mkdir(exist_ok=True)
        temporary = scratch / f"{os.getpid()}-{destination.name}"
        try:
            save(temporary)
            with open(temporary, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(temporary, destination)
        finally:
            temporary.unlink(missing_ok=True)

    def _local_artifact_folder(self) -> Path | None:
        if self._artifact_uri is None:
            self._artifact_uri = _retry(self.client.get_run, self.run_id).info.artifact_uri
        uri = self._artifact_uri
        if uri.startswith("file://"):
            return Path(uri[len("file://") :])
        return Path(uri) if "://" not in uri and not uri.startswith("mlflow-artifacts:") else None

    def log_text(self, text: str, artifact_file: str) -> None:
        self.save_artifact(artifact_file, lambda path: path.write_text(text, encoding="utf-8"))

    def log_pyfunc_model(
        self,
        python_model: Any,
        artifacts: dict[str, str],
        requirements: list[str],
        feature_names: list[str],
        example_rows: np.ndarray,
    ) -> str:
        """Log ``python_model`` as this run's MLflow pyfunc model ``model``; returns its model URI.

        ``example_rows`` ``(k, n_x)`` are raw inputs stored as the model's input example.
        """
        skip_installed_package_scan()
        signature = model_signature(feature_names)
        tabular = not signature.inputs.is_tensor_spec()
        example = pd.DataFrame(example_rows, columns=feature_names) if tabular else example_rows
        # log_model needs an active fluent run, and entering/leaving one rewrites the run's status and
        # end time: put them back afterwards, whatever happens.
        before = _retry(self.client.get_run, self.run_id).info
        # MLflow says at INFO that it checks the input example against the signature, on every sweep: the
        # check still runs (a mismatch is an error), the line is not the user's business.
        pyfunc_log = logging.getLogger("mlflow.pyfunc")
        level = pyfunc_log.level
        pyfunc_log.setLevel(max(level, logging.WARNING))
        try:
            # Entering and leaving the fluent run write the run's status: retried like every other write.
            _retry(mlflow.start_run, run_id=self.run_id, nested=mlflow.active_run() is not None)
            try:
                info = _retry(
                    mlflow.pyfunc.log_model,
                    name="model",
                    python_model=python_model,
                    artifacts=artifacts,
                    pip_requirements=requirements,  # given, so MLflow does not spend seconds inferring them
                    signature=signature,
                    input_example=example,
                )
            finally:
                try:
                    mlflow.end_run()  # leaves the fluent run first, then writes its status
                except Exception as error:
                    if not _is_busy(error):
                        raise  # a busy store: the status is put back below, retried
        finally:
            pyfunc_log.setLevel(level)
            if before.status == STATUS_RUNNING:
                _retry(self.client.update_run, self.run_id, status=STATUS_RUNNING)
            else:
                _retry(self.client.set_terminated, self.run_id, before.status, end_time=before.end_time)
        self.set_tags({"model_uri": info.model_uri})
        return info.model_uri

    def finish(self, status: str, reason: str | None = None) -> None:
        """Flush what is buffered and close the run with ``status`` (FINISHED, FAILED or KILLED) and its reason."""
        if reason:
            self.add_tags({FAILURE_ATTR: reason[:5000]})
        if self.dropped_non_finite:
            self.add_tags({"non_finite_metrics_dropped": ",".join(self.dropped_non_finite[:50])})
        self.flush()
        _retry(self.client.set_terminated, self.run_id, status)


def load_pyfunc_model(model_uri: str) -> Any:
    """The MLflow pyfunc model at ``model_uri``, loaded as a scoring server loads it."""
    skip_installed_package_scan()
    return mlflow.pyfunc.load_model(model_uri)


def skip_installed_package_scan() -> None:
    """Spare MLflow's scan of every installed distribution's file list (about 1.2 s, once per process) when it
    logs or loads a model.

    MLflow checks a model's pip requirements against the environment, and first maps every importable module to
    its distribution (``importlib_metadata.packages_distributions()``), a map it uses only to import a package
    whose metadata is missing. Our models' requirements (numpy, pandas, cloudpickle, mlflow) all have metadata,
    so an empty map gives the same check; the logged requirements are unchanged. Checked against mlflow 3.17
    (``mlflow/utils/requirements_utils.py``); if the private name moves, MLflow simply scans as before.
    """
    from mlflow.utils import requirements_utils

    if getattr(requirements_utils, "_MODULES_TO_PACKAGES", {}) is None:
        requirements_utils._MODULES_TO_PACKAGES = {}


# What ``mlflow.register_model`` prints to stderr on every call: the summary says which version, and why.
REGISTRY_CHATTER = ("Successfully registered model ", "Created version ", "Registered model ")


def register_model(model_uri: str, name: str) -> str:
    """Register ``model_uri`` in the Model Registry under ``name``; returns the new version.

    MLflow's own announcements are left out; anything else it writes to stderr (a warning) is passed on.
    """
    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said):
            return str(_retry(mlflow.register_model, model_uri, name).version)
    finally:
        kept = [line for line in said.getvalue().splitlines() if not line.startswith(REGISTRY_CHATTER)]
        if kept:
            print("\n".join(kept), file=sys.stderr)


def registered_version(tracker: Tracker, name: str, run_id: str) -> str | None:
    """The version of model ``name`` already registered from run ``run_id``, if any."""
    try:
        versions = _retry(tracker.client.search_model_versions, f"name = '{name}' and run_id = '{run_id}'")
    except MlflowException:  # no such registered model yet
        return None
    return str(min(int(v.version) for v in versions)) if versions else None


def remove_partial_files(tracker: Tracker) -> list[Path]:
    """Delete the half-written artifacts that killed processes of this machine left beside their runs."""
    location = _retry(tracker.client.get_experiment, tracker.experiment_id).artifact_location
    root = Path(location[len("file://") :]) if location.startswith("file://") else Path(location)
    if ("://" in location and not location.startswith("file://")) or not root.is_dir():
        return []
    removed = []
    for partial in root.glob(f"*/{PARTIAL_FOLDER}/*"):
        # <pid>-<name>, or the temporary file a writer of it makes first: .<pid>-<name>.<random>.tmp
        pid = partial.name.lstrip(".").partition("-")[0]
        if not (pid.isdigit() and process_alive(int(pid))):
            partial.unlink(missing_ok=True)
            removed.append(partial)
    return removed


def fail_abandoned_models(tracker: Tracker) -> list[str]:
    """Mark FAILED the logged models left PENDING by a process killed while logging them (their run
    is no longer RUNNING, so nobody will finish them); returns their ids."""
    abandoned = []
    for model in _retry(tracker.client.search_logged_models, [tracker.experiment_id], max_results=1000):
        if str(model.status) not in ("PENDING", "LoggedModelStatus.PENDING"):
            continue
        source = model.source_run_id
        if source and tracker.run(source).info.status == STATUS_RUNNING:
            continue  # still being written by a live process
        _retry(tracker.client.finalize_logged_model, model.model_id, "FAILED")
        abandoned.append(model.model_id)
    return abandoned


def close_stale_runs(tracker: Tracker, run_ids: Iterable[str], reason: str) -> list[str]:
    """Mark runs that are still RUNNING but whose process is gone as KILLED; returns the ones changed."""
    closed = []
    for run_id in run_ids:
        if tracker.run(run_id).info.status == STATUS_RUNNING:
            tracker.recorder(run_id).finish(STATUS_KILLED, reason)
            closed.append(run_id)
    return closed


@functools.cache
def _versions() -> dict[str, str]:
    return {f"{name}_version": _version(name) for name in ("deepsweep", "numpy", "mlflow", "optuna", "hydra-core")}


def environment_tags() -> dict[str, str]:
    """Package versions, for every run (host and pid are set when the run is created)."""
    return dict(_versions())


def process_tags() -> dict[str, str]:
    """Which process on which machine writes a run: lets a later command close it if that process dies."""
    return {
        HOST_TAG: socket.gethostname(),
        PID_TAG: str(os.getpid()),
        PID_STARTED_TAG: process_started(os.getpid()) or "",
    }


def close_dead_runs(tracker: Tracker) -> list[str]:
    """Mark KILLED every RUNNING run of the store whose process, on this machine, is gone.

    A SIGKILLed or out-of-memory-killed process cannot close its own run; the next command does.
    """
    host, closed = socket.gethostname(), []
    # Every experiment of the store: a killed pipeline.train of another dataset is closed too.
    experiments = [e.experiment_id for e in _retry(tracker.client.search_experiments)]
    running = _retry(tracker.client.search_runs, experiments, "attributes.status = 'RUNNING'", max_results=10_000)
    for run in running:
        pid, started = run.data.tags.get(PID_TAG, ""), run.data.tags.get(PID_STARTED_TAG) or None
        if run.data.tags.get(HOST_TAG) == host and pid.isdigit() and not process_alive(int(pid), started):
            reason = f"process {pid} on {host} died before closing this run"
            closed += close_stale_runs(tracker, [run.info.run_id], reason)
    return closed


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def download_artifact(tracking_uri: str, run_id: str, artifact_path: str, folder: Path) -> Path:
    """Copy one artifact of ``run_id`` into ``folder``; ``LookupError`` if the run or artifact is absent."""
    store = client(configure(tracking_uri))
    try:
        _retry(store.get_run, run_id)
    except MlflowException as error:
        raise LookupError(f"no run {run_id!r} in {mask_password(tracking_uri)}: {error.message}") from None
    try:
        return Path(_retry(store.download_artifacts, run_id, artifact_path, str(folder)))
    except (MlflowException, OSError) as error:
        raise LookupError(f"run {run_id} has no artifact {artifact_path!r}: {error}") from None


def metric_histories(
    store: MlflowClient, run_id: str, keys: Iterable[str] | None = None
) -> dict[str, list[tuple[int, float]]]:
    """Every metric of a run (or only ``keys``) as ``{key: [(step, value), ...]}`` sorted by step."""
    if keys is None:
        keys = _retry(store.get_run, run_id).data.metrics
    histories = {}
    for key in keys:
        points = _retry(store.get_metric_history, run_id, key)
        histories[key] = sorted((point.step, point.value) for point in points)
    return histories


def reopen_run(tracker: Tracker, run_id: str) -> bool:
    """Set an existing, not deleted run RUNNING again (a resumed sweep's parent); False if it is gone."""
    try:
        run = _retry(tracker.client.get_run, run_id)
    except MlflowException:
        return False
    if run.info.lifecycle_stage == "deleted":
        return False
    _retry(tracker.client.update_run, run_id, status=STATUS_RUNNING)
    if FAILURE_ATTR in run.data.tags:  # left by an interrupted session: no longer true
        _retry(tracker.client.delete_tag, run_id, FAILURE_ATTR)
    tracker.recorder(run_id).set_tags(process_tags())  # this process runs it now, not the earlier one
    return True


def search_runs(tracking_uri: str, experiment_names: list[str] | None, filter_string: str) -> pd.DataFrame:
    """Runs as a pandas table (``mlflow.search_runs``); all experiments when ``experiment_names`` is None."""
    uri = configure(tracking_uri)
    if experiment_names is None:
        experiment_names = [e.name for e in _retry(client(uri).search_experiments)]
    if not experiment_names:
        return pd.DataFrame()
    return _retry(
        mlflow.search_runs, experiment_names=experiment_names, filter_string=filter_string, max_results=50_000
    )
