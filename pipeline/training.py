"""One training run from a ``Config``: build the network, train it, and record it (what the run holds is
``pipeline.run_record``'s).

``pipeline.train``, ``pipeline.rerun`` (through ``train_once``) and every sweep trial go through
``train_and_record``, so a trial's run holds exactly what a single training run holds.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

from models import Architecture, DeepNetwork, NetworkSpec
from models.settings import field_values
from pipeline.interrupts import raise_pending
from pipeline.record_names import KIND_TAG
from pipeline.records.tracking import RunRecorder, Tracker, close_dead_runs
from pipeline.run_record import (
    EpochRecorder,
    close_run,
    record_artifacts,
    run_name,
    run_tags,
    start_record,
    status_for,
)
from pipeline.setup.config import Config, network_seed
from pipeline.setup.data import Dataset
from pipeline.setup.reference import bias_variance, reference_for
from pipeline.setup.vocabulary import BINARY_MEASURES


@dataclass
class RunResult:
    network: DeepNetwork
    history: dict[str, list[tuple[int, float]]]  # MLflow metric name -> (epoch, value) every log_every epochs
    final_metrics: dict[str, float]  # test_*, final_train_* and n_parameters, logged once after training
    train_seconds: float = 0.0  # time in fit, outside the callback (logging, pruning)
    epochs_trained: int = 0


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
            raise_pending()  # a signal Python dropped inside a finalizer stops the training here
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
    # Step 0, not the last epoch: MLflow's chart view draws a metric logged once at step 0 as one bar per run, and one
    # logged at a later step as a lone dot on a step axis. Sent with the run's last write.
    recorder.add_metrics(final, step=0)
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
    # The run's own tags last: a caller's extra tag never overrides the commit or the data's fingerprint.
    recorder = tracker.start_run(run_name(config), {KIND_TAG: "train", **(extra_tags or {}), **run_tags(dataset)})
    try:
        start_record(recorder, config, dataset)
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
