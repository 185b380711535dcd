"""The report's section for the course's third part: the diagnosis in words, the bias-variance map, the
importances for bias and for variance side by side, the best model's confusion matrix, per-class scores and
most confident mistakes, and the data curve.

``study_figures`` and ``advice_figures`` list what to draw (``pipeline.search.report`` draws and embeds
them), ``section`` writes the HTML around them; nothing here reads a store.
"""

import html
import math
from collections.abc import Callable

import matplotlib.pyplot as plt
import numpy as np
import optuna
from matplotlib.figure import Figure
from optuna.trial import FrozenTrial

from pipeline.search.advice import Advice
from pipeline.search.constraints import feasible
from pipeline.search.data_curve import DataCurve
from pipeline.search.diagnosis import numbers, orthogonal_importances
from pipeline.search.error_analysis import ErrorAnalysis
from pipeline.search.evidence import Importance

BEST_COLOUR, INFEASIBLE_COLOUR = "#2ca02c", "#999999"


def bias_variance_figure(trials: list[FrozenTrial], best: int | None, colour_by: str | None, percent: bool) -> Figure:
    """One point per complete trial: avoidable bias (x) against variance (y), coloured by ``colour_by``; above
    the diagonal variance is the larger gap, below it bias. The best trial is a star; trials that missed a
    ``search.constraints`` limit are grey crosses."""
    figure, axes = plt.subplots(figsize=(6.5, 5.0), layout="constrained")
    scale = 100.0 if percent else 1.0
    shown = [(t, numbers(t)) for t in trials if numbers(t)]
    kept = [(t, n) for t, n in shown if feasible(t)]
    missed = [(t, n) for t, n in shown if not feasible(t)]
    xs = [n["avoidable_bias"] * scale for _, n in kept]
    ys = [n["variance"] * scale for _, n in kept]
    values = [t.params.get(colour_by) for t, _ in kept] if colour_by else []
    if colour_by and values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        positive = all(v > 0 for v in values)
        colours = np.log10(values) if positive and max(values) / min(values) > 20 else values
        points = axes.scatter(xs, ys, c=colours, cmap="viridis", edgecolors="black", linewidths=0.4)
        log = " (log10)" if colours is not values else ""
        figure.colorbar(points, ax=axes, label=f"{colour_by}{log}")
    elif colour_by and values:
        names = sorted({str(v) for v in values})
        palette = plt.get_cmap("tab10")
        for index, name in enumerate(names):
            chosen = [i for i, v in enumerate(values) if str(v) == name]
            axes.scatter([xs[i] for i in chosen], [ys[i] for i in chosen], color=palette(index % 10),
                         edgecolors="black", linewidths=0.4, label=f"{colour_by}={name}")  # fmt: skip
    else:
        axes.scatter(xs, ys, edgecolors="black", linewidths=0.4, label="complete trial")
    if missed:
        axes.scatter([n["avoidable_bias"] * scale for _, n in missed], [n["variance"] * scale for _, n in missed],
                     marker="x", color=INFEASIBLE_COLOUR, label="missed a search.constraints limit")  # fmt: skip
    for trial, found in shown:
        if trial.number == best:
            axes.scatter([found["avoidable_bias"] * scale], [found["variance"] * scale], marker="*", s=260,
                         color=BEST_COLOUR, edgecolors="black", zorder=5, label=f"best (trial {best})")  # fmt: skip
    every = [v for _, n in shown for v in (n["avoidable_bias"] * scale, n["variance"] * scale)]
    low, high = (min([*every, 0.0]), max([*every, 0.0])) if every else (0.0, 1.0)
    axes.plot([low, high], [low, high], color="black", linewidth=0.8, linestyle="--",
              label="bias = variance (above: variance larger)")  # fmt: skip
    axes.axhline(0, color="grey", linewidth=0.5)
    axes.axvline(0, color="grey", linewidth=0.5)
    unit = " (points of error)" if percent else " (RMSE)"
    axes.set_xlabel(f"avoidable bias = train error - reference{unit}")
    axes.set_ylabel(f"variance = val error - train error{unit}")
    axes.set_title(f"bias and variance of {len(shown)} complete trials", fontsize=10)
    axes.grid(alpha=0.3)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
    return figure


def orthogonal_figure(found: dict[str, dict[str, Importance]]) -> Figure:
    """The importances for the train error and for the val - train gap, side by side, same parameter order."""
    names = sorted({name for ranked in found.values() for name in ranked})
    first = next(iter(found.values()))
    names.sort(key=lambda name: first.get(name, Importance(0, 0, 0)).median)
    figure, panels = plt.subplots(1, len(found), figsize=(11, 0.45 * len(names) + 1.8), layout="constrained",
                                  sharey=True)  # fmt: skip
    for axes, (title, ranked) in zip(np.atleast_1d(panels), found.items(), strict=True):
        if not ranked:  # e.g. every trial fits its training data perfectly: nothing varies to be explained
            axes.set_title(f"{title}:\nthe same in every trial, nothing to rank", fontsize=10)
            axes.set_xlim(0, 1)
            continue
        medians = [ranked.get(n, Importance(0, 0, 0)).median for n in names]
        spread = [[ranked[n].median - ranked[n].low if n in ranked else 0 for n in names],
                  [ranked[n].high - ranked[n].median if n in ranked else 0 for n in names]]  # fmt: skip
        axes.barh(names, medians, xerr=spread, ecolor="black", capsize=3, color="#1f77b4")
        axes.set_xlim(0, 1)
        axes.set_title(title, fontsize=10)
        axes.set_xlabel("f-ANOVA importance (median; line: 10th-90th percentile)")
        axes.grid(alpha=0.3, axis="x")
    return figure


def confusion_figure(errors: ErrorAnalysis) -> Figure:
    """The confusion matrix on the validation split: counts, rows true, columns predicted."""
    size = max(4.0, 0.45 * len(errors.class_names) + 2.5)
    figure, axes = plt.subplots(figsize=(size + 1, size), layout="constrained")
    image = axes.imshow(errors.confusion, cmap="Blues")
    figure.colorbar(image, ax=axes, label="val examples")
    ticks = range(len(errors.class_names))
    axes.set_xticks(ticks, errors.class_names, rotation=45, ha="right")
    axes.set_yticks(ticks, errors.class_names)
    threshold = errors.confusion.max() / 2
    for (row, column), count in np.ndenumerate(errors.confusion):
        axes.text(column, row, str(count), ha="center", va="center", fontsize=8,
                  color="white" if count > threshold else "black")  # fmt: skip
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    axes.set_title(f"confusion matrix of trial {errors.trial} on the val split ({len(errors.true)} examples)",
                   fontsize=10)  # fmt: skip
    return figure


def mistakes_figure(errors: ErrorAnalysis) -> Figure:
    """The most confident mistakes as images (image data only), laid side by side in one picture (one axes
    draws in a fraction of the time of one per image): true -> predicted (confidence) under each."""
    count = len(errors.raw)
    if not errors.image or count == 0:
        raise ValueError("no image mistakes to draw")
    columns = min(count, 6)
    rows = math.ceil(count / columns)
    height, width = errors.image[:2]
    pad = max(1, height // 8)
    colour = len(errors.image) == 3
    # Raw pixels: 0-255 for the cat pictures (RGB), 0-16 ink for digits (drawn dark on light).
    mosaic = np.ones((rows * (height + pad), columns * (width + pad), 3 if colour else 1))
    top = 16.0 if not colour else 255.0
    for slot, row in enumerate(errors.raw):
        r, c = divmod(slot, columns)
        picture = np.clip(row.reshape(errors.image) / top, 0, 1)
        picture = picture if colour else 1.0 - picture[..., None]
        mosaic[r * (height + pad) : r * (height + pad) + height, c * (width + pad) : c * (width + pad) + width] = (
            picture
        )
    figure, axes = plt.subplots(figsize=(1.9 * columns, 2.1 * rows), layout="constrained")
    axes.imshow(mosaic if colour else mosaic[..., 0], cmap=None if colour else "gray", vmin=0, vmax=1)
    for slot, index in enumerate(errors.mistakes[:count]):
        r, c = divmod(slot, columns)
        true, predicted = errors.class_names[errors.true[index]], errors.class_names[errors.predicted[index]]
        axes.text(c * (width + pad) + width / 2, r * (height + pad) + height + pad * 0.2,
                  f"{true} -> {predicted} ({errors.confidence[index]:.2f})", ha="center", va="top", fontsize=7,
                  backgroundcolor="white")  # fmt: skip
    axes.axis("off")
    axes.set_title("most confident mistakes on the val split: true -> predicted (confidence)", fontsize=10)
    return figure


def data_curve_figure(curve: DataCurve, reference: float, percent: bool) -> Figure:
    """Train and val error of the best configuration against the training-set size, with the reference."""
    figure, axes = plt.subplots(figsize=(6.5, 4.2), layout="constrained")
    scale = 100.0 if percent else 1.0
    axes.plot(curve.sizes, [v * scale for v in curve.train_error], "o-", label="train error")
    axes.plot(curve.sizes, [v * scale for v in curve.val_error], "o-", label="val error")
    axes.axhline(reference * scale, color="black", linestyle="--", linewidth=0.8, label="reference error")
    axes.set_xscale("log")
    axes.set_xlabel("training examples m (log scale)")
    axes.set_ylabel("error (%)" if percent else "RMSE")
    axes.set_title("will more data help? the best configuration on growing training sets", fontsize=10)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False, ncols=3)
    return figure


def study_figures(
    trials: list[FrozenTrial], study: "optuna.Study", best: int | None, colour_by: str | None, percent: bool
) -> list[tuple[str, Callable[[], Figure]]]:
    """(file name, drawing function) of the section's figures drawn from the trials alone: the bias-variance map
    and the importances for bias and for variance."""
    found: list[tuple[str, Callable[[], Figure]]] = []
    complete = [t for t in trials if numbers(t)]
    if complete:
        found.append(("bias_variance.png", lambda: bias_variance_figure(complete, best, colour_by, percent)))
        ranked = orthogonal_importances(study)
        if any(ranked.values()):
            found.append(("importances_bias_variance.png", lambda: orthogonal_figure(ranked)))
    return found


def advice_figures(advice: Advice) -> list[tuple[str, Callable[[], Figure]]]:
    """(file name, drawing function) of the section's figures of the best model's analysis: the confusion
    matrix, the most confident mistakes and the data curve."""
    percent = advice.diagnosis.percent if advice.diagnosis is not None else True
    found: list[tuple[str, Callable[[], Figure]]] = []
    if advice.errors is not None:
        found.append(("confusion_matrix.png", lambda: confusion_figure(advice.errors)))
        if advice.errors.image and len(advice.errors.raw):
            found.append(("mistakes.png", lambda: mistakes_figure(advice.errors)))
    if advice.curve is not None and len(advice.curve.sizes) > 1 and advice.diagnosis is not None:
        reference = advice.diagnosis.reference
        found.append(("data_curve.png", lambda: data_curve_figure(advice.curve, reference, percent)))
    return found


def section(advice: Advice, img: Callable[[str, str], str], colour_by: str | None) -> str:
    """The HTML of the section: the diagnosis with its numbers, what to try next, and the figures."""
    parts = ["<h2>Diagnosis: bias, variance and what to try next</h2>"]
    diagnosis = advice.diagnosis
    if diagnosis is None:
        parts.append("<p class='note'>No validation split: bias and variance cannot be told apart.</p>")
    else:
        tries = "".join(f"<li>{html.escape(line)}</li>" for line in diagnosis.advice())
        notes = "".join(f"<p class='note'>{html.escape(note)}.</p>" for note in diagnosis.notes())
        shares = advice.shares
        parts.append(
            f"<p id='diagnosis'><b>{html.escape(diagnosis.sentence())}</b>.</p>{notes}"
            f"<p>Reference error: {html.escape(advice.reference)}. A gap counts when it is larger than "
            f"{html.escape(diagnosis.tolerance_text)}.</p><p>Try next ({diagnosis.focus}):</p><ul>{tries}</ul>"
            f"<p>Over the study: in {shares['bias']} complete trials the avoidable bias was the larger gap, in "
            f"{shares['variance']} the variance.</p>"
        )
    colour = f", coloured by {html.escape(colour_by)}" if colour_by else ""
    parts.append(f"<h3>Bias and variance per trial{colour}</h3>{img('bias_variance.png', 'bias-variance map')}")
    parts.append(
        "<h3>Which knobs move bias, which move variance</h3><p>The course's orthogonalization: importances "
        "for the train error (bias) and for the val - train gap (variance), each over the complete trials.</p>"
        + img("importances_bias_variance.png", "importances for bias and for variance")
    )
    errors = advice.errors
    if errors is not None:
        table = errors.per_class.to_html(index=False, float_format=lambda v: f"{v:.3f}", border=0)
        parts.append(
            f"<h3>Error analysis of the best model (trial {errors.trial})</h3><p>{html.escape(errors.sentence())}. "
            "Every mistake is in <code>error_analysis/mistakes.csv</code> of the best trial's run, with an empty "
            "<code>category</code> column to fill in by hand, as the course does.</p>"
            f"{img('confusion_matrix.png', 'confusion matrix')}{table}"
        )
        if errors.image:
            parts.append(img("mistakes.png", "most confident mistakes"))
        else:
            parts.append(_mistake_rows(errors))
    curve = advice.curve
    percent = diagnosis.percent if diagnosis is not None else True
    if curve is not None:
        parts.append(
            f"<h3>Will more data help?</h3><p>{html.escape(curve.sentence(percent))}.</p>"
            + img("data_curve.png", "train and val error against the training-set size")
        )
    return "\n".join(parts)


def _mistake_rows(errors: ErrorAnalysis) -> str:
    """The most confident mistakes of tabular data as rows of raw feature values."""
    header = "".join(f"<th>{html.escape(n)}</th>" for n in ("true", "predicted", "confidence", *errors.feature_names))
    rows = []
    for row, index in zip(errors.raw, errors.mistakes, strict=False):
        cells = [errors.class_names[errors.true[index]], errors.class_names[errors.predicted[index]],
                 f"{errors.confidence[index]:.2f}", *(f"{v:.4g}" for v in row)]  # fmt: skip
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    return f"<p>Most confident mistakes:</p><table><tr>{header}</tr>{''.join(rows)}</table>"
