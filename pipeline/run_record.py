"""What an MLflow run holds, for every kind of run (a training, a trial, a rerun): its parameters, tags and
exact config, its per-epoch metrics, its artifacts (the network, learning curves, the pyfunc model) and how it
is closed. ``pipeline.training`` trains and calls these; the sweep's end (``search/summary.py``) reuses them.
"""

import dataclasses
import functools
import json
import tempfile
import traceback
from pathlib import Path

import yaml

from models import DeepNetwork, DivergenceError
from models.settings import applied
from pipeline.records.pyfunc_model import PYFUNC_ENTRY, model_requirements
from pipeline.records.tracking import STATUS_FAILED, STATUS_FINISHED, STATUS_KILLED, RunRecorder, environment_tags
from pipeline.records.uris import mask_password
from pipeline.setup.config import Config, network_seed
from pipeline.setup.data import Dataset
from pipeline.setup.vocabulary import DATASETS, run_metric_name

SAFE_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # the C writer where PyYAML was built with libyaml
FLUSH_EVERY = 500  # epochs of metrics buffered between writes: one log_batch call each


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

    Written with PyYAML from plain data: OmegaConf's own writer costs ~40 ms, once per trial; PyYAML's C
    writer (libyaml, in PyYAML's wheels) writes the same values in a fifth of its Python writer's time (the
    same text for the configs tested; it may quote or wrap an unusual string differently).
    """
    data = dataclasses.asdict(config)
    data["tracking"]["tracking_uri"] = mask_password(config.tracking.tracking_uri)
    data["tracking"]["storage"] = mask_password(config.tracking.storage)
    return yaml.dump(data, Dumper=SAFE_DUMPER, sort_keys=False)


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


def run_tags(dataset: Dataset) -> dict[str, str]:
    """The tags every training run is created with (trials and ``pipeline.train`` alike): the packages'
    versions, the data's fingerprint and the code's commit. Given to ``Tracker.start_run`` rather than
    written after it: tags written with the run cost MLflow a fraction of a later write (~4 ms a trial)."""
    return {**environment_tags(), "data_fingerprint": dataset.fingerprint, "git_commit": git_commit()}


def start_record(recorder: RunRecorder, config: Config, dataset: Dataset) -> None:
    """What a run holds before training, besides its tags (``run_tags``): parameters and the exact config."""
    recorder.add_params(run_params(config, dataset))
    recorder.flush()
    recorder.log_text(config_yaml(config), "config.yaml")


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

    save_learning_curves(recorder, plots.learning_curves_png(history, title))


def save_learning_curves(recorder: RunRecorder, png: bytes) -> None:
    """The run's ``learning_curves.png``: ``plots.learning_curves_png``'s bytes, drawn here or in the summary's
    drawing child."""
    recorder.save_artifact("learning_curves.png", lambda path: path.write_bytes(png))


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
