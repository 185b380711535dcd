"""The project's vocabulary in tables: tasks, the metric names a run records, the datasets there are.

Every other module reads these tables instead of re-deriving them, so one concept has one name end
to end. Importing this module costs nothing beyond the standard library.

- A **task** is what a dataset's target is: ``binary``, ``multiclass`` or ``regression``; it decides
  the output activation, the score and so the metric names. ``dataset.task`` in the config is the
  *kind* a CSV's target is read as (``auto``, ``classification`` or ``regression``); the loaded data
  then has one of the three tasks.
- A **metric name** is ``<split>_<measure>``: splits ``train``, ``val``, ``test``; measures ``cost``
  and the task's score (``accuracy`` or ``rmse``). The network reports ``cost``/``accuracy`` for the
  training split and ``val_cost``/``val_accuracy`` for validation; ``run_metric_name`` names them.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    """What a task decides: the kind, the output layer (``auto`` picks ``output``), the score."""

    name: str
    kind: str  # classification or regression: what dataset.task can force
    output: str  # the output activation model.output=auto picks
    outputs: tuple[str, ...]  # the output activations that fit the task
    score: str  # accuracy or rmse

    def output_units(self, output: str, n_targets: int, n_classes: int) -> int:
        """Units of the output layer: one sigmoid, one softmax unit per class (2 for binary), or ``n_targets``."""
        if self.kind == "regression":
            return n_targets
        return 1 if output == "sigmoid" else max(n_classes, 2)


TASKS: dict[str, Task] = {
    "binary": Task("binary", "classification", "sigmoid", ("sigmoid", "softmax"), "accuracy"),
    "multiclass": Task("multiclass", "classification", "softmax", ("softmax",), "accuracy"),
    "regression": Task("regression", "regression", "linear", ("linear",), "rmse"),
}
KINDS = ("auto", "classification", "regression")  # dataset.task: how a CSV's target is read
SCALINGS = ("standard", "minmax", "none")  # dataset.scaling, fit on the training split

SPLITS = ("train", "val", "test")
LOWER_IS_BETTER = {"cost": True, "accuracy": False, "rmse": True}
# Measures of a trained model, not per epoch; a sweep may optimize them too.
MODEL_MEASURES = {"n_parameters": "minimize", "train_seconds": "minimize"}
# Binary tasks with a validation split: the trained model's precision, recall and F1 on it (positive class = class
# 1, the second class name), measured once after training: the course's single-number evaluation metrics.
BINARY_MEASURES = ("val_precision", "val_recall", "val_f1")


# Per-epoch values the network reports that belong to no split (the decayed rate of each epoch).
UNSPLIT = ("learning_rate",)


def run_metric_name(network_key: str) -> str:
    """The recorded name of a metric the network reports: ``cost`` -> ``train_cost``, ``val_cost`` and
    ``learning_rate`` stay."""
    return network_key if network_key.startswith("val_") or network_key in UNSPLIT else f"train_{network_key}"


def epoch_metrics(task: str, has_validation: bool) -> list[str]:
    """The per-epoch metrics a run records for ``task``, in display order."""
    splits = ("train", "val") if has_validation else ("train",)
    return [f"{split}_{measure}" for split in splits for measure in ("cost", TASKS[task].score)]


def final_metrics(task: str) -> list[str]:
    """The metrics a run records once after training: the test split's, then the trained model's on the
    training split (``final_train_*``, what the course calls the train accuracy)."""
    score = TASKS[task].score
    return ["test_cost", f"test_{score}", "final_train_cost", f"final_train_{score}"]


def better_direction(metric: str) -> str:
    """``minimize`` or ``maximize``: which way ``metric`` improves."""
    if metric in MODEL_MEASURES:
        return MODEL_MEASURES[metric]
    measure = metric.rpartition("_")[2]
    return "minimize" if LOWER_IS_BETTER.get(measure, False) else "maximize"


@dataclass(frozen=True)
class Source:
    """A dataset's facts that the config checks need (the loaders live in ``pipeline.setup.data``)."""

    needs: tuple[str, ...] = ()  # dataset.* values it cannot do without
    given_test: bool = False  # its files bring their own test split (test_fraction is then unused)
    generated: bool = False  # drawn from n_samples and noise
    image: tuple[int, ...] = ()  # the raw features are an image of this shape (error analysis draws it)
    named_by_file: bool = False  # default study and model names carry the file's stem (pipeline.setup.names)


DATASETS: dict[str, Source] = {
    "digits": Source(image=(8, 8)),
    "breast_cancer": Source(),
    "iris": Source(),
    "wine": Source(),
    "diabetes": Source(),
    "planar": Source(generated=True),
    "moons": Source(generated=True),
    "circles": Source(generated=True),
    "circles_course": Source(given_test=True),  # the initialization assignment's, exactly
    "moons_course": Source(),  # the optimization assignment's, exactly
    "football": Source(needs=("path",), given_test=True),  # the regularization assignment's data.mat
    "catvnoncat": Source(needs=("path",), given_test=True, image=(64, 64, 3)),
    "csv": Source(needs=("path", "target"), named_by_file=True),
}
