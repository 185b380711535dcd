"""Learning-curve figures (matplotlib, no display needed)."""

import matplotlib

matplotlib.use("Agg")  # files only: sweeps run on machines without a screen

import io

import matplotlib.pyplot as plt
from matplotlib.figure import Figure


def learning_curves(history: dict[str, list[tuple[int, float]]], title: str) -> Figure:
    """Cost (left) and accuracy or RMSE (right) against epoch, training and validation together.

    ``history`` maps metric names (``train_cost``, ``val_cost``, ``train_accuracy``, ...) to
    ``(epoch, value)`` pairs.
    """
    figure, (cost_axes, score_axes) = plt.subplots(1, 2, figsize=(10, 3.8))
    score = "rmse" if "train_rmse" in history else "accuracy"
    for axes, metric in ((cost_axes, "cost"), (score_axes, score)):
        for split in ("train", "val"):
            values = history.get(f"{split}_{metric}")
            if values:
                epochs, points = zip(*values, strict=True)
                axes.plot(epochs, points, label=split)
        axes.set_xlabel("epoch")
        axes.set_ylabel(metric)
        axes.grid(alpha=0.3)
        axes.legend()
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def learning_curves_png(history: dict[str, list[tuple[int, float]]], title: str) -> bytes:
    """``learning_curves`` as the PNG bytes a run's ``learning_curves.png`` holds (100 dpi, cropped to its content):
    drawn wherever the figure is, in this process or the summary's drawing child, the same bytes."""
    figure = learning_curves(history, title)
    try:
        buffer = io.BytesIO()
        figure.savefig(buffer, dpi=100, bbox_inches="tight", format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)
