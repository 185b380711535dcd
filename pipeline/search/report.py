"""The study report: one self-contained HTML file that answers "what did each hyperparameter do?".

For each searched hyperparameter a slice plot of the metric against it; the two most important as a
contour; the learning curves of the best trials with the pruned ones faint up to where they stopped;
the optimization history with complete and pruned trials told apart; parameter importances; a
parallel-coordinates view; the best trial's settings and rerun command; a table of trial states.
Every figure is a matplotlib PNG embedded as base64 (no network needed to open the file), and the
same PNGs are logged to the parent run under ``plots/``. Every axis names the metric.
"""

import base64
import html
import io
import json
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")  # files only: sweeps run on machines without a screen

import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np
import optuna
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, MaxNLocator, NullFormatter, ScalarFormatter
from optuna.trial import FrozenTrial, TrialState

from pipeline.console import brief
from pipeline.record_names import FAILURE_ATTR
from pipeline.search.constraints import feasible
from pipeline.search.evidence import RESAMPLES, Evidence, Importance, evidence_of
from pipeline.search.evidence import importances as importance_spread
from pipeline.search.outcomes import Outcome, outcome_of
from pipeline.search.report_input import TOP_CURVES, Report, ReportInput

CONTOUR_MIN = 20  # complete trials below which two parameters are shown as points, never as a surface
PRUNED_LABEL = "pruned: stopped early, at its last value"  # the page says why that value is not comparable
COMPLETE_COLOUR, PRUNED_COLOUR, BEST_COLOUR = "#1f77b4", "#d62728", "#2ca02c"
# A complete trial that missed a search.constraints limit: drawn apart in every figure, never the best
MISSED_STYLE = {
    "marker": "X",
    "color": "#888888",
    "alpha": 0.8,
    "label": "complete, but missed a search.constraints limit",
}


def png(figure: Figure) -> bytes:
    """The figure as PNG bytes, drawn once: the canvas lays it out (constrained layout) and renders it in the same
    pass. ``savefig`` draws a figure with a layout engine twice, a dry run for the layout and then the picture: the
    same pixels for about 15 % more time (docs/BENCHMARKS.md, summary)."""
    figure.set_dpi(100)  # whatever a user's matplotlibrc says
    figure.canvas.draw()
    buffer = io.BytesIO()
    matplotlib.image.imsave(buffer, np.asarray(figure.canvas.buffer_rgba()), format="png")
    plt.close(figure)
    return buffer.getvalue()


def _numeric(values: list[object]) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _last_value(trial: FrozenTrial) -> tuple[int, float] | None:
    """A pruned trial's last reported (epoch, metric)."""
    if not trial.intermediate_values:
        return None
    epoch = max(trial.intermediate_values)
    return epoch, trial.intermediate_values[epoch]


def _is_int(data: ReportInput, name: str) -> bool:
    """Whether ``name`` was searched as an integer (its axis then shows whole numbers only)."""
    for trial in data.study.get_trials(deepcopy=False):
        if name in trial.distributions:
            return isinstance(trial.distributions[name], optuna.distributions.IntDistribution)
    return False


def _whole_number_axis(axis: matplotlib.axis.Axis, log: bool) -> None:
    """Ticks at whole numbers written plainly (20, 50, 100, not 2×10¹ or 2.5 layers)."""
    if log:
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(ScalarFormatter())
        axis.set_minor_formatter(NullFormatter())
    else:
        axis.set_major_locator(MaxNLocator(integer=True))


def _param_names(trials: list[FrozenTrial]) -> list[str]:
    names: dict[str, None] = {}
    for trial in trials:
        names.update(dict.fromkeys(trial.params))
    return list(names)


# ----- figures -----------------------------------------------------------------------------------
def _zoom_on(axes: Axes, finals: list[float], direction: str) -> Callable[[float], float]:
    """Zoom the y axis on the complete trials' values ``finals``; returns what puts a far worse value (a pruned
    trial's early one) on the edge instead of off the figure."""
    if not finals:
        return lambda v: v
    span = max(finals) - min(finals) or abs(max(finals)) * 0.05 or 0.05
    maximize = direction == "maximize"
    floor = min(finals) - (0.35 if maximize else 0.15) * span
    ceiling = max(finals) + (0.15 if maximize else 0.35) * span
    axes.set_ylim(floor, ceiling)
    return (lambda v: max(v, floor)) if maximize else (lambda v: min(v, ceiling))


def slice_figure(data: ReportInput, name: str) -> Figure:
    """The metric against one hyperparameter: complete trials as dots, pruned ones as faint crosses
    at their last reported value (an early epoch's value, not comparable to a final one)."""
    figure, axes = plt.subplots(figsize=(5.4, 4.2), layout="constrained")
    trials = [t for t in data.study.get_trials(deepcopy=False) if name in t.params]
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    pruned = [(t, _last_value(t)) for t in trials if t.state == TrialState.PRUNED]
    pruned = [(t, last) for t, last in pruned if last is not None]
    values = [t.params[name] for t in trials]
    categorical = not _numeric(values)
    order = sorted({str(v) for v in values}) if categorical else None

    def x(value: object) -> float:
        return float(order.index(str(value))) if categorical else float(value)

    clamp = _zoom_on(axes, [t.values[0] for t in complete], data.direction)
    if pruned:
        axes.scatter(
            [x(t.params[name]) for t, _ in pruned],
            [clamp(last[1]) for _, last in pruned],
            marker="x",
            color=PRUNED_COLOUR,
            alpha=0.45,
            clip_on=False,
            label=PRUNED_LABEL + " (on the edge: worse)",
        )
    missed = [t for t in complete if not feasible(t)]
    if missed:
        axes.scatter([x(t.params[name]) for t in missed], [t.values[0] for t in missed], **MISSED_STYLE)
    complete = [t for t in complete if feasible(t)]
    if complete:
        points = axes.scatter(
            [x(t.params[name]) for t in complete],
            [t.values[0] for t in complete],
            c=[t.number for t in complete],
            cmap="viridis",
            # One colour scale for every slice plot (the study's complete trials): the same trial has
            # the same colour in each, whichever parameters it has.
            vmin=0,
            vmax=max([t.number for t in data.study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE] + [1]),
            edgecolors="black",
            linewidths=0.4,
            label="complete",
        )
        figure.colorbar(points, ax=axes, label="trial number", pad=0.02)
    if categorical:
        axes.set_xticks(range(len(order)), order)
    elif name in data.log_params:
        axes.set_xscale("log")
    if not categorical and _is_int(data, name):
        _whole_number_axis(axes.xaxis, name in data.log_params)
    axes.set_xlabel(name)
    axes.set_ylabel(data.metric)
    axes.set_title(f"{data.metric} against {name}\n({len(complete)} complete trials)", fontsize=10)
    axes.grid(alpha=0.3)
    _legend_below(axes)
    return figure


def history_figure(data: ReportInput) -> Figure:
    """Every trial's metric in trial order, complete and pruned told apart, and the best so far."""
    figure, axes = plt.subplots(figsize=(7.5, 3.8), layout="constrained")
    trials = data.study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    pruned = [(t.number, _last_value(t)) for t in trials if t.state == TrialState.PRUNED]
    pruned = [(n, last[1]) for n, last in pruned if last is not None]
    failed = [t.number for t in trials if t.state == TrialState.FAIL]
    if pruned:
        axes.scatter(*zip(*pruned, strict=True), marker="x", color=PRUNED_COLOUR, alpha=0.5, label=PRUNED_LABEL)
    missed = [t for t in complete if not feasible(t)]
    complete = [t for t in complete if feasible(t)]
    if missed:
        axes.scatter([t.number for t in missed], [t.values[0] for t in missed], **MISSED_STYLE)
    if complete:
        axes.scatter(
            [t.number for t in complete], [t.values[0] for t in complete], color=COMPLETE_COLOUR, label="complete"
        )
        best, line = -math.inf if data.direction == "maximize" else math.inf, []
        for trial in complete:
            best = max(best, trial.values[0]) if data.direction == "maximize" else min(best, trial.values[0])
            line.append((trial.number, best))
        axes.step(*zip(*line, strict=True), where="post", color=BEST_COLOUR, label="best so far")
    for number in failed:
        axes.axvline(number, color="grey", alpha=0.3, linewidth=1)
    if failed:
        axes.plot([], [], color="grey", alpha=0.5, label="failed (no value)")
    axes.set_xlabel("trial number")
    axes.set_ylabel(data.metric)
    axes.set_title(f"optimization history: {data.metric} per trial ({data.direction}; {len(complete)} complete)")
    axes.grid(alpha=0.3)
    _legend_below(axes)
    return figure


def curves_figure(data: ReportInput, top: list[FrozenTrial], pruned: list[FrozenTrial]) -> Figure:
    """``val_<score>`` (or the metric) and ``train_cost`` per epoch: the best trials in full, pruned faint."""
    figure, (score_axes, cost_axes) = plt.subplots(1, 2, figsize=(11, 3.9), layout="constrained")
    score_key = data.metric if data.metric.startswith(("val_", "train_")) else "val_accuracy"
    for axes, key in ((score_axes, score_key), (cost_axes, "train_cost")):
        for trial in pruned:
            points = data.curves.get(trial.number, {}).get(key)
            if points:
                axes.plot(*zip(*points, strict=True), color=PRUNED_COLOUR, alpha=0.18, linewidth=1)
        for rank, trial in enumerate(top):
            points = data.curves.get(trial.number, {}).get(key)
            if points:
                axes.plot(*zip(*points, strict=True), linewidth=2 if rank == 0 else 1.2, label=f"trial {trial.number}")
        if pruned:
            axes.plot([], [], color=PRUNED_COLOUR, alpha=0.4, label="pruned trials (stopped early by the pruner)")
        axes.set_xlabel("epoch")
        axes.set_ylabel(key)
        axes.grid(alpha=0.3)
        _legend_below(axes)
    score_axes.set_title(f"{score_key} per epoch")
    cost_axes.set_title("train_cost per epoch")
    return figure


def pareto_figure(data: ReportInput) -> Figure:
    """The first two objectives of every complete trial, the Pareto set highlighted."""
    figure, axes = plt.subplots(figsize=(6.5, 4.5), layout="constrained")
    complete = [t for t in data.study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    pareto = {t.number for t in data.study.best_trials}
    others = [t for t in complete if t.number not in pareto]
    front = sorted((t for t in complete if t.number in pareto), key=lambda t: t.values[0])
    if others:
        axes.scatter([t.values[0] for t in others], [t.values[1] for t in others], color="grey", alpha=0.5,
                     label="dominated")  # fmt: skip
    axes.plot([t.values[0] for t in front], [t.values[1] for t in front], "o-", color=BEST_COLOUR, label="Pareto set")
    for trial in front:
        axes.annotate(str(trial.number), (trial.values[0], trial.values[1]), xytext=(4, 4), textcoords="offset points")
    axes.set_xlabel(f"{data.metrics[0]} ({data.directions[0]})")
    axes.set_ylabel(f"{data.metrics[1]} ({data.directions[1]})")
    axes.set_title(f"Pareto front (trial numbers on the front; {len(complete)} complete trials)")
    axes.grid(alpha=0.3)
    _legend_below(axes)
    return figure


def importance_figure(importances: dict[str, Importance], evidence: Evidence) -> Figure:
    """f-ANOVA importances: the median over resamples of the trials as a bar, the 10th-90th percentile as a line."""
    names = list(importances)[::-1]
    figure, axes = plt.subplots(figsize=(6.5, 0.45 * len(names) + 1.5), layout="constrained")
    medians = [importances[n].median for n in names]
    spread = [[importances[n].median - importances[n].low for n in names],
              [importances[n].high - importances[n].median for n in names]]  # fmt: skip
    axes.barh(names, medians, color=COMPLETE_COLOUR, xerr=spread, ecolor="black", capsize=3)
    axes.set_xlabel("importance: f-ANOVA share of the metric's variance\n(bar: median; line: 10th-90th percentile)")
    axes.set_title(f"hyperparameter importances over {evidence.complete} complete trials, resampled", fontsize=10)
    axes.set_xlim(0, 1)
    axes.grid(alpha=0.3, axis="x")
    return figure


def _legend_below(axes: matplotlib.axes.Axes) -> None:
    """The legend under the plot, outside it: a legend inside may cover points."""
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=1, frameon=False)


def _is_float(data: ReportInput, name: str) -> bool:
    for trial in data.study.get_trials(deepcopy=False):
        if name in trial.distributions:
            return isinstance(trial.distributions[name], optuna.distributions.FloatDistribution)
    return False


def pair_figure(data: ReportInput, params: list[str]) -> Figure:
    """The two most important parameters together. A smooth contour only where it means something: both
    parameters continuous and at least CONTOUR_MIN complete trials; otherwise one point per complete trial
    (interpolating over an integer or a category, or over a handful of points, invents results)."""
    complete = [t for t in data.study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    if all(_is_float(data, name) for name in params) and len(complete) >= CONTOUR_MIN:
        return contour_figure(data, params, len(complete))
    figure, axes = plt.subplots(figsize=(6.5, 4.8), layout="constrained")
    shown = [t for t in complete if all(name in t.params for name in params)]
    coordinates = []
    for name in params:
        values = [t.params[name] for t in shown]
        if _numeric(values):
            coordinates.append([float(v) for v in values])
        else:
            order = sorted({str(v) for v in values})
            coordinates.append([order.index(str(v)) for v in values])
    points = axes.scatter(*coordinates, c=[t.values[0] for t in shown], cmap="viridis", s=60, edgecolors="black")
    missed = [i for i, t in enumerate(shown) if not feasible(t)]
    if missed:
        axes.scatter(*([c[i] for i in missed] for c in coordinates), s=140, **MISSED_STYLE)
        _legend_below(axes)
    figure.colorbar(points, ax=axes, label=data.metric)
    for index, (name, set_scale, axis) in enumerate(
        ((params[0], axes.set_xscale, axes.xaxis), (params[1], axes.set_yscale, axes.yaxis))
    ):
        values = [t.params[name] for t in shown]
        if not _numeric(values):
            order = sorted({str(v) for v in values})
            (axes.set_xticks if index == 0 else axes.set_yticks)(range(len(order)), order)
            continue
        if name in data.log_params:
            set_scale("log")
        if _is_int(data, name):
            _whole_number_axis(axis, name in data.log_params)
    axes.set_xlabel(params[0])
    axes.set_ylabel(params[1])
    axes.set_title(f"{data.metric}: one point per complete trial ({len(shown)}), no interpolation", fontsize=10)
    axes.grid(alpha=0.3)
    return figure


def contour_figure(data: ReportInput, params: list[str], complete: int) -> Figure:
    # Optuna's plot sets the ggplot style for the whole process (plt.style.use): kept to this figure, else every
    # figure drawn after it (the slices, the best's figures, a learning-curve PNG) would take its grey look.
    with warnings.catch_warnings(), matplotlib.rc_context():
        warnings.simplefilter("ignore")  # Optuna marks its matplotlib plots experimental
        from optuna.visualization import matplotlib as optuna_plots

        axes = optuna_plots.plot_contour(
            data.study, params=params, target=lambda t: t.values[0], target_name=data.metric
        )
    figure = axes.figure if hasattr(axes, "figure") else np.asarray(axes).flat[0].figure
    figure.set_size_inches(6.5, 4.8)
    figure.subplots_adjust(left=0.17, right=0.86, bottom=0.12, top=0.9)  # room for the axis labels
    for subplot in figure.axes:
        if subplot.get_label() == "<colorbar>":
            continue
        subplot.set_title(f"{data.metric}, interpolated from {complete} complete trials", fontsize=10)
    return figure


def parallel_figure(data: ReportInput, names: list[str]) -> Figure:
    """One vertical axis per hyperparameter (scaled to its own range; log where searched so), one line
    per complete trial coloured by the metric, the best drawn on top."""
    complete = [t for t in data.study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    figure, axes = plt.subplots(figsize=(max(6.5, 1.5 * len(names) + 2), 4.2), layout="constrained")
    columns, labels = [], []  # labels: (position 0..1, text) per axis
    for name in names:
        raw = [t.params.get(name) for t in complete]
        present = [v for v in raw if v is not None]
        if _numeric(present):
            transform = np.log10 if name in data.log_params else (lambda v: v)
            scaled = [transform(v) if v is not None else np.nan for v in raw]
            low, high = np.nanmin(scaled), np.nanmax(scaled)
            # A trial without this parameter (a shallower network has no hidden_units_l3) has no
            # point on its axis: its line stops there instead of pretending to a middle value.
            columns.append([np.nan if np.isnan(v) else (v - low) / (high - low) if high > low else 0.5 for v in scaled])
            ends = [(0.0, min(present)), (1.0, max(present))] if high > low else [(0.5, present[0])]
            labels.append([(height, brief(value, 3)) for height, value in ends])
        else:  # every category named at its place on the axis
            order = sorted({str(v) for v in present})
            spread = max(len(order) - 1, 1)
            columns.append([order.index(str(v)) / spread if v is not None else np.nan for v in raw])
            labels.append([(i / spread, name) for i, name in enumerate(order)])
    values = np.array([t.values[0] for t in complete])
    norm = plt.Normalize(values.min(), values.max()) if len(values) else None
    ranking = np.argsort(values if data.direction == "maximize" else -values)
    colormap = plt.get_cmap("viridis")
    for rank, index in enumerate(ranking):  # the best last, so on top, and thicker
        ys = [column[index] for column in columns]
        if not feasible(complete[index]):  # missed a search.constraints limit: grey and dashed, whatever its value
            axes.plot(range(len(names)), ys, color=MISSED_STYLE["color"], linestyle="--", linewidth=1.0)
            continue
        width = 3.0 if rank == len(ranking) - 1 else 1.4
        axes.plot(range(len(names)), ys, color=colormap(norm(values[index])), alpha=0.85, linewidth=width)
    axes.set_xticks(range(len(names)), names, rotation=20, ha="right")
    axes.set_yticks([0, 1], ["lowest", "highest"])
    for position, marks in enumerate(labels):
        for height, text in marks:
            axes.annotate(text, (position, height), xytext=(3, 2), textcoords="offset points", fontsize=7)
        axes.axvline(position, color="black", linewidth=0.6)
    axes.set_ylim(-0.08, 1.1)
    if norm is not None:
        figure.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=colormap), ax=axes, label=data.metric, pad=0.04)
    axes.set_title(f"parallel coordinates of the complete trials, coloured by {data.metric}")
    return figure


# ----- the page --------------------------------------------------------------------------------------
def _safe(make: Callable[[], Figure], skipped: list[str], name: str) -> tuple[bytes, list[tuple[str, str]]] | None:
    # A figure that cannot be drawn (too few trials, a degenerate range) is named in the report as
    # left out; the report and the sweep go on. Drawing happens in savefig, so it is inside too.
    try:
        figure = make()
        plotted = [a for a in figure.axes if a.get_label() != "<colorbar>"]
        labels = [(a.get_xlabel(), a.get_ylabel()) for a in plotted if a.get_xlabel() or a.get_ylabel()]
        return png(figure), labels
    except (ValueError, RuntimeError, ZeroDivisionError, IndexError, TypeError) as error:
        skipped.append(f"{name}: {error}")
        plt.close("all")
        return None


@dataclass
class Drawn:
    """The figures of a report drawn so far (PNG bytes and axis labels by file name), the ones left out and why,
    and the f-ANOVA importances the page ranks."""

    figures: dict[str, bytes] = field(default_factory=dict)
    axes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    importances: dict[str, Importance] = field(default_factory=dict)

    def add(self, name: str, make: Callable[[], Figure]) -> None:
        drawn = _safe(make, self.skipped, name)
        if drawn is not None:
            self.figures[name], self.axes[name] = drawn


def draw_study(data: ReportInput) -> Drawn:
    """Every figure drawn from the trials alone: all but the best model's analysis (``data.advice``), which the
    summary computes meanwhile (``pipeline.search.drawing`` draws these on the other core)."""
    trials = data.study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    top = _top(data, complete)
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    names = _param_names(trials)
    drawn = Drawn(importances=importance_spread(data.study))
    drawn.add("optimization_history.png", lambda: history_figure(data))
    drawn.add("learning_curves.png", lambda: curves_figure(data, top, pruned))
    if drawn.importances:
        evidence = evidence_of(trials, data.epochs)
        drawn.add("param_importances.png", lambda: importance_figure(drawn.importances, evidence))
    ranked = list(drawn.importances) or names
    if len(ranked) >= 2 and len(complete) >= 2:
        drawn.add("contour.png", lambda: pair_figure(data, ranked[:2]))
    if complete and names:
        # Only what complete trials have: a parameter only pruned trials reached has no line to draw.
        drawn.add("parallel_coordinate.png", lambda: parallel_figure(data, _param_names(complete)))
    if len(data.metrics) > 1 and complete:
        drawn.add("pareto_front.png", lambda: pareto_figure(data))
    for name in names:
        drawn.add(f"slice_{name}.png", lambda name=name: slice_figure(data, name))
    if data.diagnosed is not None:
        from pipeline.search import diagnosis_report

        colour_by = data.colour_by or next(iter(drawn.importances), None)
        percent = data.diagnosed == "classification"  # errors as rates, as the diagnosis gives them
        for name, make in diagnosis_report.study_figures(trials, data.study, data.best_number, colour_by, percent):
            drawn.add(name, make)
    return drawn


def warm_up() -> None:
    """Pay the first drawing's one-time costs before the study's figures are wanted: matplotlib's fonts, text
    layout and canvas, a colour bar, a log axis, the PNG encoder, and the f-ANOVA code on a tiny study. The
    drawing child forked before the trials does this while they train (``search/drawer.py``)."""
    from pipeline.search.evidence import importances

    figure, axes = plt.subplots(figsize=(3, 2), layout="constrained")
    points = axes.scatter([1.0, 10.0, 100.0], [0.5, 0.7, 0.9], c=[0.0, 0.5, 1.0], label="trials")
    axes.set(xscale="log", xlabel="learning_rate", ylabel="val_accuracy", title="warm-up")
    axes.legend(loc="lower right")
    figure.colorbar(points, ax=axes, label="epoch")
    png(figure)
    unit = optuna.distributions.FloatDistribution(0, 1)
    study = optuna.create_study()
    for x, y in ((0.1, 0.2), (0.4, 0.9), (0.7, 0.3), (0.9, 0.6)):
        study.add_trial(
            optuna.trial.create_trial(params={"x": x, "y": y}, distributions={"x": unit, "y": unit}, value=x + y)
        )
    importances(study, resamples=1)


def draw_best(data: ReportInput) -> Drawn:
    """The best model's figures (of ``data.advice``: its mistakes, confusion matrix and data curve; none without
    it). The drawing child draws them once the summary has analysed the best, after the study's (``draw_study``)."""
    drawn = Drawn()
    if data.advice is not None:
        from pipeline.search import diagnosis_report

        for name, make in diagnosis_report.advice_figures(data.advice):
            drawn.add(name, make)
    return drawn


def build(data: ReportInput, drawn: Drawn | None = None) -> Report:
    """Draw the best model's figures and lay out the page with the study's figures (``drawn``; drawn here when not
    given) and then the best model's."""
    drawn = draw_study(data) if drawn is None else drawn
    best = draw_best(data)
    drawn.figures.update(best.figures)
    drawn.axes.update(best.axes)
    drawn.skipped.extend(best.skipped)
    trials = data.study.get_trials(deepcopy=False)
    top = _top(data, [t for t in trials if t.state == TrialState.COMPLETE])
    page = _page(data, trials, top, _param_names(trials), drawn, evidence_of(trials, data.epochs))
    return Report(page, drawn.figures, drawn.axes)


def _top(data: ReportInput, complete: list[FrozenTrial]) -> list[FrozenTrial]:
    """The best complete trials that met their limits, best first: those whose learning curves are drawn in full."""
    reverse = data.direction == "maximize"
    return sorted(filter(feasible, complete), key=lambda t: t.values[0], reverse=reverse)[:TOP_CURVES]


def _img(figures: dict[str, bytes], axes: dict[str, list[tuple[str, str]]], name: str, alt: str) -> str:
    if name not in figures:
        return f"<p class='note'>{html.escape(alt)}: not drawn (too few trials)</p>"
    encoded = base64.b64encode(figures[name]).decode()
    labels = html.escape(json.dumps(axes.get(name, [])))
    return f"<img id='{name}' alt='{html.escape(alt)}' data-axes='{labels}' src='data:image/png;base64,{encoded}'>"


def _states_table(trials: list[FrozenTrial]) -> str:
    counts: dict[str, int] = {}
    reasons: list[str] = []
    for trial in trials:
        outcome = outcome_of(trial)
        label = "running" if outcome is None and trial.state == TrialState.RUNNING else None
        label = label or ("waiting" if outcome is None else outcome.label)
        counts[label] = counts.get(label, 0) + 1
        if outcome is not None and outcome not in (Outcome.COMPLETE, Outcome.PRUNED):
            reason = trial.user_attrs.get(FAILURE_ATTR, outcome.value.meaning)
            reasons.append(f"<tr><td>{trial.number}</td><td>{outcome.label}</td><td>{html.escape(reason)}</td></tr>")
    meaning = {outcome.label: outcome.value.meaning for outcome in Outcome}
    rows = "".join(
        f"<tr><td>{label}</td><td>{count}</td><td>{html.escape(meaning.get(label, ''))}</td></tr>"
        for label, count in counts.items()
    )
    table = f"<table><tr><th>state</th><th>trials</th><th>meaning</th></tr>{rows}</table>"
    if reasons:
        table += "<h3>Trials that did not finish, and why</h3><table><tr><th>trial</th><th>outcome</th>"
        table += f"<th>reason</th></tr>{''.join(reasons)}</table>"
    return table


def _evidence_html(data: ReportInput, evidence: Evidence) -> str:
    """What every figure below rests on, and a plain warning when it is too little."""
    counts = f"{evidence.complete} complete, {evidence.pruned} pruned, {evidence.failed} failed of {evidence.total}"
    if data.repeats > 1:
        seeds = f"Each trial trained with {data.repeats} seeds (search.repeats), its value their mean"
    elif data.confirmation is not None:
        seeds = f"Each trial trained once, with its own seed; the best also with {len(data.confirmation.values) - 1} "
        seeds += "other seeds (below)"
    else:
        seeds = "Each trial trained once, with its own seed; the best was not retrained (search.confirm_seeds=0 or "
        seeds += "several objectives)"
    saved = f"; {evidence.saved()}" if evidence.saved() else ""
    text = (
        f"<p class='evidence'>Evidence: {counts} trials{saved}. {seeds}. "
        f"Figures of final values use the {evidence.complete} complete trials; pruned trials appear only where "
        f"marked, at an early epoch's value.</p>"
    )
    warning = evidence.warning(data.repeats)
    return text + (f"<p class='warning'><b>{html.escape(warning)}</b></p>" if warning else "")


def _ranges_html(data: ReportInput) -> str:
    """A refined study (coarse to fine): each entry's coarse range and the one this study searched."""
    if not data.ranges:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{html.escape(coarse)}</td><td>{html.escape(fine)}</td></tr>"
        for name, (coarse, fine) in data.ranges.items()
    )
    return (
        "<h2>Coarse to fine</h2><p id='refined'>This study searched a space shrunk around the best trials of a "
        "coarse study (search.refine_from):</p><table><tr><th>parameter</th><th>coarse range</th>"
        f"<th>this study's range</th></tr>{rows}</table>"
    )


def _best_html(data: ReportInput, complete: list[FrozenTrial]) -> str:
    """The chosen best trial (the one registered and rerun), with its uncertainty when measured."""
    chosen = [t for t in complete if t.number == data.best_number] or complete[:1]
    if not chosen:
        return "<p>No trial completed.</p>"
    best = chosen[0]
    settings = "".join(
        f"<tr><td>{html.escape(str(key))}</td><td>{html.escape(brief(value, 3))}</td></tr>"
        for key, value in data.best_settings.items()
    )
    shown = ", ".join(f"{m} = {v:.4f}" for m, v in zip(data.metrics or [data.metric], best.values, strict=False))
    noise = (
        f"<p id='best-noise'>With other seeds: {html.escape(data.confirmation.sentence(data.metric))}.</p>"
        if data.confirmation is not None
        else "<p id='best-noise'>One seed only: how much of this value is luck was not measured.</p>"
    )
    return (
        f"<p id='best-trial'>Trial {best.number}: <b>{html.escape(shown)}</b></p>{noise}<table>{settings}</table>"
        f"<p>Rerun it exactly:</p><pre>{html.escape(data.rerun_command)}</pre>"
    )


STYLE = """<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1150px; color: #222; }
h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .5em 0; } td, th { border: 1px solid #ccc; padding: .25em .6em; }
th { background: #f3f3f3; text-align: left; } img { max-width: 100%; } .note { color: #777; }
figure { display: inline-block; margin: .4em; vertical-align: top; } pre { background: #f6f6f6; padding: .6em; }
.warning { background: #fff3cd; border: 1px solid #e0c060; padding: .6em; }
</style>"""


def _page(
    data: ReportInput,
    trials: list[FrozenTrial],
    top: list[FrozenTrial],
    names: list[str],
    drawn: Drawn,
    evidence: Evidence,
) -> str:
    importances, figures = drawn.importances, drawn.figures

    def img(name: str, alt: str) -> str:
        return _img(figures, drawn.axes, name, alt)

    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    best_html = _best_html(data, top + [t for t in complete if t not in top])
    ranked = ", ".join(f"{n} ({i.median:.0%}, {i.low:.0%}–{i.high:.0%})" for n, i in importances.items())
    slices = "".join(f"<figure>{img(f'slice_{name}.png', f'{data.metric} against {name}')}</figure>" for name in names)
    contour_names = " × ".join((list(importances) or names)[:2])
    notes = "".join(f"<li>{html.escape(s)}</li>" for s in drawn.skipped)
    pareto = f"<h2>Pareto front</h2>{img('pareto_front.png', 'Pareto front')}" if "pareto_front.png" in figures else ""
    diagnosis = ""
    if data.advice is not None:
        from pipeline.search import diagnosis_report

        diagnosis = diagnosis_report.section(data.advice, img, data.colour_by or next(iter(importances), None))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(data.title)}</title>
{STYLE}</head><body>
<h1>{html.escape(data.title)}</h1>
<p>{len(trials)} trials, metric <b>{html.escape(data.metric)}</b> ({data.direction}).
Most important hyperparameters (f-ANOVA, median and 10th–90th percentile over resamples of the complete
trials): {html.escape(ranked or "not enough complete trials")}.</p>
{_evidence_html(data, evidence)}
{_ranges_html(data)}
<h2>Trial states</h2>{_states_table(trials)}
<h2>Best trial</h2>{best_html}
{diagnosis}
<h2>What each hyperparameter did</h2>
<p>One point per trial: complete trials coloured by trial number (later trials are the sampler's
better-informed guesses); pruned trials (stopped early by the pruner) as faint crosses at the last value
they reported, an early epoch's value that is not comparable with a final one.</p>
{slices}
<h2>The two most important together: {html.escape(contour_names)}</h2>
{img("contour.png", f"{data.metric} over {contour_names}")}
<h2>Learning curves</h2>
<p>The {len(top)} best trials in full; pruned trials faint, up to the epoch where they stopped.</p>
{img("learning_curves.png", "learning curves")}
<h2>Optimization history</h2>{img("optimization_history.png", "optimization history")}
<h2>Hyperparameter importances</h2>
<p>f-ANOVA: the share of the metric's variance each parameter explains in a random forest fitted to the
{evidence.complete} complete trials, computed on {RESAMPLES} resamples of them; a long line means the ranking
is uncertain.</p>
{img("param_importances.png", "importances")}
<h2>Parallel coordinates</h2>{img("parallel_coordinate.png", "parallel coordinates")}
{pareto}
{f"<h2>Notes</h2><ul>{notes}</ul>" if notes else ""}
</body></html>
"""
