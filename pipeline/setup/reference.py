"""The reference error of a dataset and a trained model's bias and variance against it (the course's third part).

*Structuring Machine Learning Projects* splits a model's error in two: **avoidable bias** (train error minus
the best error reachable, which human-level error stands in for) and **variance** (dev error minus train
error). The project's dev set is the validation split (``val``). The reference is, in this order:

1. ``dataset.human_error`` when the user sets it (a documented proxy, in the task's error unit);
2. the Bayes error estimated from the generator, for the generated datasets (``pipeline.setup.bayes``);
3. otherwise 0, said as "assumed": the avoidable bias is then an upper bound.

Errors are ``1 - accuracy`` for classification and the RMSE for regression (the reference then in RMSE).
"""

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.setup.config import DatasetConfig
from pipeline.setup.vocabulary import TASKS

if TYPE_CHECKING:  # SciPy is loaded only where a Bayes error is estimated
    from pipeline.setup.bayes import BayesEstimate

# What a run records (once, after training); the per-trial values the summary and the report read
BIAS_VARIANCE = ("final_train_error", "final_val_error", "avoidable_bias", "variance", "reference_error")


@dataclass(frozen=True)
class Reference:
    """The error ``avoidable_bias`` is measured from, and where it comes from."""

    error: float
    source: str  # human_error, bayes or assumed
    estimate: "BayesEstimate | None" = None

    def describe(self) -> str:
        if self.source == "human_error":
            return f"human-level error {self.error:.2%} (dataset.human_error, the user's proxy for the Bayes error)"
        if self.source == "bayes" and self.estimate is not None:
            return self.estimate.describe()
        return "0 assumed (no dataset.human_error given and no known generator): the avoidable bias is an upper bound"


def reference_for(dataset: DatasetConfig, task: str) -> Reference:
    """The reference error of ``dataset`` (see the module's docstring for the order)."""
    if dataset.human_error is not None:
        return Reference(float(dataset.human_error), "human_error")
    if TASKS[task].kind == "classification":
        from pipeline.setup.bayes import bayes_error

        estimate = bayes_error(dataset.name, float(dataset.noise))
        if estimate is not None:
            return Reference(estimate.error, "bayes", estimate)
    return Reference(0.0, "assumed")


def error_of(task: str, metrics: dict[str, float], split: str) -> float:
    """The error on ``split`` (``final_train`` or ``val``): ``1 - accuracy``, or the RMSE (NaN when not recorded)."""
    score = TASKS[task].score
    value = metrics.get(f"{split}_{score}", math.nan)
    return 1.0 - value if score == "accuracy" else value


def bias_variance(task: str, metrics: dict[str, float], reference: Reference) -> dict[str, float]:
    """``final_train_error``, ``final_val_error``, ``avoidable_bias``, ``variance`` and ``reference_error`` of a
    trained model from its ``final_train_<score>`` and last ``val_<score>`` ({} without a validation split)."""
    train, val = error_of(task, metrics, "final_train"), error_of(task, metrics, "val")
    if not (math.isfinite(train) and math.isfinite(val)):
        return {}
    return {
        "final_train_error": train,
        "final_val_error": val,
        "avoidable_bias": train - reference.error,
        "variance": val - train,
        "reference_error": reference.error,
    }
