"""Will more data help? The best configuration trained on growing shares of the training split.

The course's answer to "get more data?" is a learning curve over the training-set size ``m``: when the val
error is still falling as ``m`` grows and stands well above the train error, more data helps (variance);
when both curves have met on a plateau above the reference, it will not (bias). At the end of a sweep the
best configuration, with the best trial's own seed, is trained on each share in ``search.data_curve`` of
the training split (a stratified subsample, the same for every share's seed); the full split is the best
trial itself. Like the seed retrainings, these are computations only: the parent run records their errors
once they are done (``data_curve_train_error`` and ``data_curve_val_error``, step = m).
"""

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from optuna.trial import FrozenTrial

from pipeline.record_names import SEED_ATTR
from pipeline.search.confirm import metrics_with_seed, trial_config
from pipeline.search.diagnosis import numbers
from pipeline.setup.config import Config
from pipeline.setup.data import Dataset
from pipeline.setup.reference import error_of
from pipeline.setup.vocabulary import TASKS


@dataclass(frozen=True)
class DataCurve:
    """Train and val error of the best configuration per training-set size ``m`` (ascending)."""

    sizes: tuple[int, ...]
    train_error: tuple[float, ...]
    val_error: tuple[float, ...]

    def sentence(self, percent: bool = True) -> str:
        """Whether the val error still falls at the largest size, in words with the numbers (``percent``: errors
        are rates, shown in %)."""
        if len(self.sizes) < 2:
            return ""

        def show(value: float) -> str:
            return f"{value:.2%}" if percent else f"{value:.4g}"

        first, last = self.val_error[-2], self.val_error[-1]
        trend = "still falling: more data should help" if last < first else "flat or rising: more data alone will not"
        return (
            f"val error {show(first)} at m={self.sizes[-2]}, {show(last)} at m={self.sizes[-1]} ({trend}); "
            f"train error at m={self.sizes[-1]}: {show(self.train_error[-1])}"
        )


def subset(dataset: Dataset, size: int, seed: int) -> Dataset:
    """``dataset`` with the first ``size`` examples of a seeded (stratified, for classification) shuffle of its
    training split; the validation and test splits are unchanged."""
    from sklearn.model_selection import train_test_split

    m = dataset.sizes["train"]
    index = np.arange(m)
    labels = dataset.Y_train.reshape(-1) if TASKS[dataset.task].kind == "classification" else None
    try:
        chosen, _ = train_test_split(index, train_size=size, random_state=seed, stratify=labels)
    except ValueError:  # a class too small to stratify at this size: a plain shuffle
        chosen = np.random.default_rng(seed).permutation(m)[:size]
    chosen = np.sort(chosen)
    X, Y = (np.ascontiguousarray(a[:, chosen]) for a in (dataset.X_train, dataset.Y_train))
    return dataclasses.replace(dataset, X_train=X, Y_train=Y)


def data_curve(config: Config, dataset: Dataset, best: FrozenTrial) -> DataCurve | None:
    """The best configuration's train and val error at each share of ``search.data_curve`` and at the full
    training split (the best trial's own numbers); None without shares, a validation split or those numbers."""
    own = numbers(best)
    if not config.search.data_curve or not dataset.has_validation or not own:
        return None
    m = dataset.sizes["train"]
    seed = int(best.user_attrs.get(SEED_ATTR, config.seed))
    points = {m: (own["final_train_error"], own["final_val_error"])}
    for share in sorted(set(config.search.data_curve)):
        size = round(share * m)
        if size < 2 or size >= m:
            continue
        found = metrics_with_seed(trial_config(config, best), subset(dataset, size, seed), seed)
        train, val = error_of(dataset.task, found, "final_train"), error_of(dataset.task, found, "val")
        if math.isfinite(train) and math.isfinite(val):
            points[size] = (train, val)
    sizes = tuple(sorted(points))
    return DataCurve(sizes, tuple(points[s][0] for s in sizes), tuple(points[s][1] for s in sizes))
