"""Error analysis of the best model on the validation (dev) set, the course's way.

*Structuring Machine Learning Projects* asks for the mistakes themselves: count what kinds of examples the
model gets wrong before deciding what to work on. For the best trial's network this module computes the
confusion matrix and each class's precision, recall and F1 (scikit-learn's ``metrics``), and lists the most
confident mistakes; ``mistakes_csv`` writes every mistake with an empty ``category`` column for the manual
tally the course does in a spreadsheet. The report draws the matrix and the mistakes — as images for image
data (digits 8×8, the cat pictures 64×64×3), as feature rows otherwise.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models import DeepNetwork
from pipeline.setup.data import Dataset
from pipeline.setup.vocabulary import DATASETS, TASKS

SHOWN = 12  # most confident mistakes drawn in the report


@dataclass(frozen=True)
class ErrorAnalysis:
    """The best model's predictions on the ``m_val`` validation examples, summarised.

    ``confusion`` is ``(C, C)``: row = true class, column = predicted class. ``mistakes`` index the
    validation split's columns, most confident first; ``confidence`` is the probability the model gave its
    (wrong) prediction. ``raw`` holds the shown mistakes' raw feature rows ``(k, n_x)``; ``image`` their shape
    as pictures, ``()`` for tabular data."""

    trial: int
    class_names: tuple[str, ...]
    confusion: np.ndarray
    per_class: pd.DataFrame  # class, precision, recall, f1, support
    mistakes: np.ndarray  # (n_mistakes,) indices into the validation split
    true: np.ndarray  # (m_val,) class indices
    predicted: np.ndarray  # (m_val,)
    confidence: np.ndarray  # (m_val,) probability of the predicted class
    raw: np.ndarray  # (min(SHOWN, n_mistakes), n_x) raw features of the most confident mistakes
    feature_names: tuple[str, ...]
    image: tuple[int, ...]

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.true == self.predicted))

    def sentence(self) -> str:
        """``23 of 360 val examples wrong; most confused: 8 taken for 1 (5 times)``."""
        off = self.confusion - np.diag(np.diag(self.confusion))
        worst = np.unravel_index(int(off.argmax()), off.shape)
        confused = (
            f"; most confused: {self.class_names[worst[0]]} taken for {self.class_names[worst[1]]} "
            f"({int(off[worst])} times)"
            if off.max() > 1
            else ""
        )
        return f"{len(self.mistakes)} of {len(self.true)} val examples wrong{confused}"


def analyse(network: DeepNetwork, dataset: Dataset, trial: int) -> ErrorAnalysis | None:
    """The error analysis of ``network`` on ``dataset``'s validation split (None for regression or without one)."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    if TASKS[dataset.task].kind != "classification" or not dataset.has_validation:
        return None
    probabilities = network.predict_proba(dataset.X_val)  # (1, m) sigmoid or (C, m) softmax
    if probabilities.shape[0] == 1:
        probabilities = np.vstack([1 - probabilities, probabilities])
    predicted = probabilities.argmax(axis=0)
    confidence = probabilities.max(axis=0)
    true = dataset.Y_val.reshape(-1)
    labels = list(range(len(dataset.class_names)))
    precision, recall, f1, support = precision_recall_fscore_support(true, predicted, labels=labels, zero_division=0)
    per_class = pd.DataFrame(
        {"class": dataset.class_names, "precision": precision, "recall": recall, "f1": f1, "support": support}
    )
    wrong = np.flatnonzero(true != predicted)
    mistakes = wrong[np.argsort(-confidence[wrong], kind="stable")]
    shown = mistakes[:SHOWN]
    raw = dataset.raw(dataset.X_val[:, shown])
    return ErrorAnalysis(
        trial,
        dataset.class_names,
        confusion_matrix(true, predicted, labels=labels),
        per_class,
        mistakes,
        true,
        predicted,
        confidence,
        raw,
        dataset.feature_names,
        DATASETS[dataset.name].image,
    )


def mistakes_csv(analysis: ErrorAnalysis) -> str:
    """Every mistake, most confident first: its index in the validation split, true and predicted class, the
    model's confidence, and an empty ``category`` column for the manual error analysis."""
    index = analysis.mistakes
    frame = pd.DataFrame(
        {
            "val_index": index,
            "true": [analysis.class_names[i] for i in analysis.true[index]],
            "predicted": [analysis.class_names[i] for i in analysis.predicted[index]],
            "confidence": analysis.confidence[index],
            "category": "",
        }
    )
    return frame.to_csv(index=False)


def confusion_csv(analysis: ErrorAnalysis) -> str:
    """The confusion matrix with class names: rows true, columns predicted."""
    names = list(analysis.class_names)
    frame = pd.DataFrame(analysis.confusion, index=[f"true {n}" for n in names], columns=names)
    return frame.to_csv()
