"""One training run from a ``Config``: build the network, train it, and record everything in MLflow.

``pipeline.train``, ``pipeline.rerun`` (through ``train_once``) and every sweep trial go through
``train_and_record``, so a trial's run holds exactly what a single training run holds.
"""

import dataclasses
import functools
import json
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from models import Architecture, DeepNetwork, DivergenceError, NetworkSpec
from models.settings import applied, field_values
from pipeline.record_names import KIND_TAG
from pipeline.records.pyfunc_model import PYFUNC_ENTRY, model_requirements
from pipeline.records.tracking import (
    STATUS_FAILED,
    STATUS_FINISHED,
    STATUS_KILLED,
    RunRecorder,
    Tracker,
    close_dead_runs,
    environment_tags,
)
from pipeline.records.uris import mask_password
from pipeline.setup.config import Config
from pipeline.setup.data import Dataset
from pipeline.setup.reference import bias_variance, reference_for
from pipeline.setup.vocabulary import BINARY_MEASURES, DATASETS, run_metric_name

FLUSH_EVERY = 500  # epochs of metrics buffered between writes: one log_batch call each


@dataclass
class RunResult:
    network: DeepNetwork
    history: dict[str, list[tuple[int, float]]]  # MLflow metric name -> (epoch, value) every log_every epochs
    final_metrics: dict[str, float]  # test_*, final_train_* and n_parameters, logged once after training
    train_seconds: float = 0.0  # time in fit, outside the callback (logging, pruning)
    epochs_trained: int = 0


def network_seed(config: Config) -> int:
    """The seed of initialization and mini-batch order: ``train.seed``, or the root seed."""
    return config.seed if config.train.seed is None else config.train.seed


def build_network(config: Config, dataset: Dataset) -> DeepNetwork:
    """The network ``config.model`` describes, sized by the data: ``[n_features, *hidden_units, output units]``."""
    output, units = dataset.output_layer(config.model.output)
    spec = NetworkSpec(
        **field_values(config.model, Architecture),
        layer_dims=[dataset.n_features, *config.model.hidden_units, units],
        output=output,
        seed=network_seed(config),
    )
    return DeepNetwork(spec)


def run_params(config: Config, dataset: Dataset) -> dict[str, object]:
    """Every value that shapes the run, keyed by its plain name (one name per concept): the data's, then the
    model's and the training's settings that apply (``models.settings.applied``: no β for plain gradient
    descent, no ``decay_rate`` without a decay)."""
    d, source = config.dataset, DATASETS[config.dataset.name]
    output, _ = dataset.output_layer(config.model.output)
    data = {  # a digits run has no path, no target, no generator noise, and its own test split
        "dataset_path": (d.path, "path" in source.needs),
        "target": (d.target, "target" in source.needs),
        "val_fraction": (d.val_fraction, True),
        "test_fraction": (d.test_fraction, not source.given_test),
        "scaling": (d.scaling, True),
        "n_samples": (d.n_samples, source.generated),
        "noise": (d.noise, source.generated),
    }
    return {
        "dataset": d.name,
        "task": dataset.task,
        **{key: value for key, (value, applies) in data.items() if applies},
        "depth": len(config.model.hidden_units),
        **applied(config.model),
        "output": output,
        **applied(config.train),
        "seed": config.seed,
        "train_seed": network_seed(config),
        "n_features": dataset.n_features,
        "m_train": dataset.sizes["train"],
        "m_val": dataset.sizes["val"],
        "m_test": dataset.sizes["test"],
    }


def config_yaml(config: Config) -> str:
    """The fully resolved config as YAML, with passwords in store URIs masked.

    Written with PyYAML from plain data: OmegaConf's own writer costs ~40 ms, once per trial.
    """
    data = dataclasses.asdict(config)
    data["tracking"]["tracking_uri"] = mask_password(config.tracking.tracking_uri)
    data["tracking"]["storage"] = mask_password(config.tracking.storage)
    return yaml.safe_dump(data, sort_keys=False)


class EpochRecorder:
    """The training callback's first half: renames per-epoch metrics and buffers them for MLflow."""

    def __init__(self, recorder: RunRecorder, log_every: int, epochs: int) -> None:
        self.recorder = recorder
        self.log_every = log_every
        self.last = epochs - 1  # always recorded, so the run ends on the value the sweep optimized
        self.history: dict[str, list[tuple[int, float]]] = {}

    def __call__(self, epoch: int, metrics: dict[str, float]) -> dict[str, float]:
        named = {run_metric_name(key): value for key, value in metrics.items()}
        if epoch % self.log_every == 0 or epoch == self.last:
            for key, value in named.items():
                self.history.setdefault(key, []).append((epoch, value))
            self.recorder.add_metrics(named, step=epoch)
            if epoch % (FLUSH_EVERY * self.log_every) == 0 and epoch > 0:
                self.recorder.flush()
        return named


def start_record(recorder: RunRecorder, config: Config, dataset: Dataset, extra_tags: dict[str, str]) -> None:
    """What a run holds before training: parameters, tags and the exact config."""
    recorder.add_params(run_params(config, dataset))
    recorder.add_tags(
        {**environment_tags(), "data_fingerprint": dataset.fingerprint, "git_commit": git_commit(), **extra_tags}
    )
    recorder.flush()
    recorder.log_text(config_yaml(config), "config.yaml")


def train_and_record(
    config: Config,
    dataset: Dataset,
    recorder: RunRecorder,
    *,
    on_epoch: Callable[[int, dict[str, float]], object] | None = None,
    log_model: bool = True,
    log_plot: bool = True,
) -> RunResult:
    """Train the network ``config`` describes on ``dataset``, recording into ``recorder``'s run.

    ``on_epoch(epoch, metrics)`` sees the renamed metrics (``train_cost``, ``val_accuracy``, ...)
    and may stop training (truthy return) or raise (pruning). What is still buffered is sent when
    the caller closes the run with ``succeed`` or ``fail``, which it must do whatever happens.
    """
    network = build_network(config, dataset)
    epochs = EpochRecorder(recorder, config.train.log_every, config.train.epochs)
    outside_training = 0.0  # seconds spent in the callback: logging and pruning, not training

    def callback(epoch: int, metrics: dict[str, float]) -> object:
        nonlocal outside_training
        entered = time.perf_counter()
        try:
            named = epochs(epoch, metrics)
            return on_epoch(epoch, named) if on_epoch is not None else None
        finally:
            outside_training += time.perf_counter() - entered

    validation = (dataset.X_val, dataset.Y_val) if dataset.has_validation else None
    started = time.perf_counter()
    try:
        network.fit(
            dataset.X_train,
            dataset.Y_train,
            config.train,
            callback=callback,
            validation=validation,
        )
    finally:
        # A tag, not a metric: timings differ between reruns, metrics must not.
        seconds = time.perf_counter() - started - outside_training
        recorder.add_tags({"train_seconds": f"{seconds:.4f}"})
    final = {}  # no test split (test_fraction=0, as in the course's own runs): no test metrics
    if dataset.sizes["test"]:
        final = {f"test_{key}": value for key, value in network.evaluate(dataset.X_test, dataset.Y_test).items()}
    final |= trained_metrics(network, dataset, config)
    last = {key: points[-1][1] for key, points in epochs.history.items() if points}
    final |= bias_variance(dataset.task, {**last, **final}, reference_for(config.dataset, dataset.task))
    recorder.add_metrics(final, step=config.train.epochs)  # sent with the run's last write
    record_artifacts(recorder, network, dataset, epochs.history, log_model=log_model, log_plot=log_plot)
    trained = 1 + max((epoch for points in epochs.history.values() for epoch, _ in points[-1:]), default=0)
    return RunResult(network, epochs.history, final, seconds, trained)


def trained_metrics(network: DeepNetwork, dataset: Dataset, config: Config) -> dict[str, float]:
    """The trained model on its own training data (``final_train_*``, what the course calls the train accuracy;
    per-epoch ``train_*`` values come from each epoch's forward passes, before its updates, with dropout on)
    and its size (``n_parameters``)."""
    fitted = network.evaluate(dataset.X_train, dataset.Y_train, config.train.l2)
    found = {f"final_train_{key}": value for key, value in fitted.items()}
    found["n_parameters"] = float(sum(value.size for value in network.parameters.values()))
    if dataset.task == "binary" and dataset.has_validation:
        found |= binary_scores(network, dataset)
    return found


def binary_scores(network: DeepNetwork, dataset: Dataset) -> dict[str, float]:
    """``val_precision``, ``val_recall`` and ``val_f1`` of the trained model (positive class: class 1)."""
    from sklearn.metrics import precision_recall_fscore_support

    precision, recall, f1, _ = precision_recall_fscore_support(
        dataset.Y_val.reshape(-1),
        network.predict(dataset.X_val).reshape(-1),  # class indices, whichever output layer
        average="binary",
        pos_label=1,
        zero_division=0,
    )
    return dict(zip(BINARY_MEASURES, map(float, (precision, recall, f1)), strict=True))


def record_artifacts(
    recorder: RunRecorder,
    network: DeepNetwork,
    dataset: Dataset,
    history: dict[str, list[tuple[int, float]]],
    *,
    log_model: bool,
    log_plot: bool,
) -> None:
    """Trained parameters, and optionally the learning curves and the pyfunc model."""
    recorder.save_artifact("network.npz", network.save)
    if log_plot and history:
        log_learning_curves(recorder, history, f"{dataset.name}: {network.layer_dims}")
    if log_model:
        with tempfile.TemporaryDirectory() as folder:
            log_network_model(recorder, network.save(Path(folder) / "network.npz"), dataset, Path(folder))


def log_learning_curves(recorder: RunRecorder, history: dict[str, list[tuple[int, float]]], title: str) -> None:
    from pipeline.records import plots  # matplotlib: only where a figure is drawn

    figure = plots.learning_curves(history, title)
    try:
        recorder.log_figure(figure, "learning_curves.png")
    finally:
        plots.close(figure)


def log_network_model(recorder: RunRecorder, parameters: Path, dataset: Dataset, folder: Path) -> str:
    """Log the saved network as an MLflow pyfunc model that predicts from raw feature rows."""
    preprocessing = folder / "preprocessing.json"
    preprocessing.write_text(json.dumps(dataset.preprocessing()), encoding="utf-8")
    return recorder.log_pyfunc_model(
        PYFUNC_ENTRY,
        {"network": str(parameters), "preprocessing": str(preprocessing)},
        model_requirements(),
        list(dataset.feature_names),
        dataset.raw_rows(3),
    )


def close_run(recorder: RunRecorder, status: str, error: BaseException | None, *, expected: bool = False) -> str | None:
    """Close the run with ``status``; when ``error`` ended it, its reason becomes the ``failure_reason``
    tag (returned), and unexpected errors also leave their traceback as the artifact ``traceback.txt``."""
    if error is None:
        recorder.finish(status)
        return None
    reason = f"{type(error).__name__}: {error}"
    if not expected and not isinstance(error, DivergenceError | KeyboardInterrupt):
        try:
            recorder.log_text("".join(traceback.format_exception(error)), "traceback.txt")
        except Exception as unwritable:  # e.g. the disk is full: closing the run matters more
            reason += f" (traceback not saved: {unwritable})"
    recorder.finish(status, reason)
    return reason


def status_for(error: BaseException | None) -> str:
    """A training run's status: FINISHED, KILLED when interrupted (Ctrl-C, SIGTERM), else FAILED."""
    if error is None:
        return STATUS_FINISHED
    return STATUS_KILLED if isinstance(error, KeyboardInterrupt) else STATUS_FAILED


def run_name(config: Config) -> str:
    """A training run's name: the dataset and the hidden layers, e.g. ``digits-64x32``."""
    return f"{config.dataset.name}-{'x'.join(map(str, config.model.hidden_units)) or 'logistic'}"


def train_once(
    config: Config,
    dataset: Dataset,
    extra_tags: dict[str, str] | None = None,
    on_epoch: Callable[[int, dict[str, float]], object] | None = None,
) -> tuple[str, RunResult]:
    """Train and record one run of ``config`` on ``dataset`` (both checked by the pre-flight);
    returns ``(run_id, result)``.

    A diverging run ends FAILED with the reason recorded and ``DivergenceError`` re-raised; an
    interrupted one ends KILLED.
    """
    tracker = Tracker(config.tracking.tracking_uri, config.tracking.experiment_name, config.tracking.artifact_location)
    close_dead_runs(tracker)
    recorder = tracker.start_run(run_name(config), {KIND_TAG: "train", **(extra_tags or {})})
    try:
        start_record(recorder, config, dataset, {})
        result = train_and_record(
            config,
            dataset,
            recorder,
            on_epoch=on_epoch,
            log_model=config.tracking.log_model != "none",
            log_plot=config.tracking.log_plots != "none",
        )
    except BaseException as error:
        close_run(recorder, status_for(error), error)
        raise
    close_run(recorder, status_for(None), None)
    return recorder.run_id, result


@functools.cache
def git_commit() -> str:
    """The project's git commit (with ``-dirty`` when it has uncommitted changes), or ``unknown``."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")
