"""The study report's data without matplotlib: what it shows (``ReportInput``), and what it is (``Report``).

The summary builds a ``ReportInput`` and sends it to the drawing child (``drawing_child.py``), which sends the
finished ``Report`` back: the sweep's process never imports the drawing code (``pipeline.search.report``,
matplotlib: about half a second; docs/BENCHMARKS.md, round 3, seventh and eighth passes).
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import optuna

from pipeline.search.evidence import Confirmation

if TYPE_CHECKING:
    from pipeline.search.advice import Advice

TOP_CURVES = 5  # best complete trials whose learning curves are drawn in full


@dataclass
class ReportInput:
    """What the report shows, gathered by the summary (the curves come from the MLflow runs)."""

    study: optuna.Study
    metric: str
    direction: str
    log_params: set[str]  # parameters searched on a log scale
    curves: dict[int, dict[str, list[tuple[int, float]]]]  # trial number -> {metric: [(epoch, value)]}
    best_settings: dict[str, object] = field(default_factory=dict)
    best_number: int | None = None  # the trial the summary chose as best (None: the best first objective)
    confirmation: Confirmation | None = None  # the best retrained with other seeds
    rerun_command: str = ""
    title: str = ""
    metrics: list[str] = field(default_factory=list)  # every objective (two or more: a Pareto front)
    directions: list[str] = field(default_factory=list)
    epochs: int = 0  # each trial's planned epochs (train.epochs), to say what pruning saved
    repeats: int = 1  # seeds per trial (search.repeats)
    advice: "Advice | None" = None  # the course's third part: diagnosis, error analysis, data curve
    # The task's kind when the report has that part (the summary sets it with ``advice``): its bias-variance map is
    # drawn from the trials, before the advice exists
    diagnosed: str | None = None
    ranges: dict[str, tuple[str, str]] = field(default_factory=dict)  # refined study: name -> (coarse, fine)
    colour_by: str | None = None  # the bias-variance map's colour (search.colour_by; None: the most important)


@dataclass
class Report:
    """The rendered report: the HTML text, the PNG figures it embeds (name -> bytes), and each
    figure's axis labels (name -> [(x label, y label)] per subplot; also in the page's ``data-axes``)."""

    html: str
    figures: dict[str, bytes]
    axes: dict[str, list[tuple[str, str]]]
