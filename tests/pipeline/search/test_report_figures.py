"""The study report's figures drawn from a real in-memory Optuna study: what a reader sees on them."""

import math

import matplotlib.pyplot as plt
import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from pipeline.search.report import _safe, parallel_figure, slice_figure
from pipeline.search.report_input import ReportInput

SPACE = {
    "depth": IntDistribution(1, 3),
    "hidden_units_l1": IntDistribution(16, 128, log=True),
    "learning_rate": FloatDistribution(1e-4, 1e-1, log=True),
    "hidden_activation": CategoricalDistribution(["relu", "tanh"]),
}


def study_with_depths() -> optuna.Study:
    """Six complete trials; only the last, three layers deep, has a third layer's width."""
    study = optuna.create_study(direction="maximize")
    for number in range(6):
        depth = [1, 2, 1, 2, 1, 3][number]
        params = {
            "depth": depth,
            "hidden_units_l1": 16 + 20 * number,
            "learning_rate": 10 ** (-4 + number * 0.5),
            "hidden_activation": ["relu", "tanh"][number % 2],
        }
        distributions = dict(SPACE)
        if depth == 3:
            params["hidden_units_l3"] = 20 + number
            distributions["hidden_units_l3"] = IntDistribution(16, 128, log=True)
        study.add_trial(
            optuna.trial.create_trial(params=params, distributions=distributions, value=0.9 + 0.01 * number)
        )
    return study


def report_input(study: optuna.Study) -> ReportInput:
    log = {"hidden_units_l1", "hidden_units_l3", "learning_rate"}
    return ReportInput(study=study, metric="val_accuracy", direction="maximize", log_params=log, curves={})


def tick_labels(axis) -> list[str]:
    axis.figure.canvas.draw()
    lo, hi = axis.get_view_interval()
    return [t.get_text() for t in axis.get_ticklabels() if t.get_text() and lo <= t.get_position()[0] <= hi]


def test_an_integer_parameter_is_read_on_whole_numbers() -> None:
    figure = slice_figure(report_input(study_with_depths()), "depth")
    labels = tick_labels(figure.axes[0].xaxis)
    assert labels and all(label.lstrip("−-").isdigit() for label in labels), labels
    plt.close(figure)


def test_a_log_scaled_width_is_written_plainly() -> None:
    figure = slice_figure(report_input(study_with_depths()), "hidden_units_l1")
    labels = tick_labels(figure.axes[0].xaxis)
    assert labels and all(label.isdigit() for label in labels), labels  # 20, 50, 100: no 2×10¹
    plt.close(figure)


def test_every_slice_plot_colours_trials_on_one_scale() -> None:
    data = report_input(study_with_depths())
    limits = set()
    for name in ("depth", "hidden_units_l3"):  # every trial has a depth; only one has a third layer
        figure = slice_figure(data, name)
        (points,) = [c for c in figure.axes[0].collections if c.get_array() is not None]
        limits.add(points.get_clim())
        plt.close(figure)
    assert limits == {(0, 5)}


def test_a_trial_without_a_parameter_has_no_point_on_its_axis() -> None:
    data = report_input(study_with_depths())
    names = ["depth", "hidden_units_l1", "learning_rate", "hidden_activation", "hidden_units_l3"]
    figure = parallel_figure(data, names)
    lines = [line for line in figure.axes[0].get_lines() if len(line.get_ydata()) == len(names)]
    assert len(lines) == 6
    third = [float(line.get_ydata()[-1]) for line in lines]
    assert sum(math.isnan(y) for y in third) == 5, third  # the shallower trials stop before it
    assert all(0 <= y <= 1 for y in third if not math.isnan(y))
    plt.close(figure)


def test_a_figure_that_fails_while_drawn_is_left_out_and_named() -> None:
    def broken() -> plt.Figure:
        figure, axes = plt.subplots()
        axes.plot(np.arange(3))
        axes.set_title(r"$\frac$")  # a mathtext error, raised only when the figure is drawn
        return figure

    skipped: list[str] = []
    assert _safe(broken, skipped, "broken.png") is None
    assert len(skipped) == 1 and skipped[0].startswith("broken.png: ")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_the_contour_keeps_optunas_style_to_itself() -> None:
    """Optuna's contour plot sets the ggplot style for the whole process: every figure drawn after it (the slices,
    the best's figures, its learning-curve PNG, all drawn in one child) would turn grey."""
    from pipeline.search.report import contour_figure

    before = dict(plt.rcParams)
    figure = contour_figure(report_input(study_with_depths()), ["learning_rate", "hidden_units_l1"], 6)
    plt.close(figure)
    assert dict(plt.rcParams) == before
