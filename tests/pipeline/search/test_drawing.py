"""``pipeline.search.drawing``: the report drawn in a forked child is the report drawn here, and a
child that fails, hangs or is no longer wanted never leaves the sweep without its report or behind."""

import os
import time
from pathlib import Path

import optuna
import pytest

from pipeline.record_names import BIAS_VARIANCE_ATTR
from pipeline.search import drawing
from pipeline.search.report import build
from pipeline.search.report_input import ReportInput

optuna.logging.set_verbosity(optuna.logging.ERROR)
PARENT = os.getpid()


def _study(tmp_path: Path) -> optuna.Study:
    study = optuna.create_study(
        storage=f"sqlite:///{tmp_path}/optuna.db", study_name="drawn", direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=0),
    )  # fmt: skip

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
        depth = trial.suggest_int("depth", 1, 3)
        for step in range(5):
            trial.report(x * step / depth, step)
        if trial.number % 4 == 3:
            raise optuna.TrialPruned
        train, val = 0.1 / depth, 0.1 / depth + x  # what the bias-variance map reads of a complete trial
        trial.set_user_attr(BIAS_VARIANCE_ATTR, {"final_train_error": train, "final_val_error": val,
                            "avoidable_bias": train, "variance": val - train, "reference_error": 0.0})  # fmt: skip
        return x / depth

    study.optimize(objective, n_trials=12)
    return study


def _data(study: optuna.Study) -> ReportInput:
    snapshot = drawing.snapshot(study)
    return ReportInput(
        snapshot, "val_accuracy", "maximize", {"learning_rate"}, {}, title="drawn", diagnosed="classification"
    )


def test_the_snapshot_holds_the_same_trials(tmp_path: Path) -> None:
    study = _study(tmp_path)
    copy = drawing.snapshot(study)
    fields = ("number", "state", "values", "params", "intermediate_values", "user_attrs", "distributions")

    def seen(trials: list) -> list:
        return [[getattr(trial, name) for name in fields] for trial in trials]

    assert seen(copy.trials) == seen(study.trials)


def test_the_child_draws_the_report_this_process_would(tmp_path: Path) -> None:
    data = _data(_study(tmp_path))
    started = drawing.start_drawing(data)
    assert started.pid is not None, "forked where fork exists"
    received = build(data, started.result())
    here = build(data)
    assert received.html == here.html and received.figures.keys() == here.figures.keys()
    assert received.axes == here.axes
    drawn_first = {"optimization_history.png", "param_importances.png", "slice_learning_rate.png", "bias_variance.png"}
    assert drawn_first <= set(here.figures)
    assert all(received.figures[name] == here.figures[name] for name in here.figures), "the same pixels"


def _dies_in_the_child(data: ReportInput) -> str:
    if os.getpid() != PARENT:
        os._exit(3)
    return f"drawn here, {data.title}"


def _hangs_in_the_child(data: ReportInput) -> str:
    if os.getpid() != PARENT:
        time.sleep(60)
    return "drawn here"


def test_a_child_that_dies_or_hangs_is_replaced_by_drawing_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _data(_study(tmp_path))
    assert drawing.Drawing(data, _dies_in_the_child).result() == "drawn here, drawn"
    monkeypatch.setattr(drawing, "TIMEOUT_SECONDS", 0.5)
    hanging = drawing.Drawing(data, _hangs_in_the_child)
    pid, started = hanging.pid, time.monotonic()
    assert hanging.result() == "drawn here" and time.monotonic() - started < 10
    with pytest.raises(ProcessLookupError):  # stopped and reaped
        os.kill(pid, 0)


def test_a_cancelled_drawing_leaves_no_child(tmp_path: Path) -> None:
    hanging = drawing.Drawing(_data(_study(tmp_path)), _hangs_in_the_child)
    pid = hanging.pid
    hanging.cancel()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_summary_that_fails_drawing_the_best_leaves_no_child(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``write_report`` draws the best's figures before it collects the child's: whatever stops it there (a bug,
    a signal) stops the child too (found by a review: the child stayed blocked on its pipe until the sweep ended)."""
    from pipeline.search import report, summary

    def fails(data: ReportInput) -> None:
        raise KeyError("a figure's data")

    monkeypatch.setattr(report, "draw_best", fails)
    hanging = drawing.Drawing(_data(_study(tmp_path)), _hangs_in_the_child)
    pid = hanging.pid
    with pytest.raises(KeyError):
        summary.write_report(hanging, (None, None), "drawn", None, tmp_path)  # type: ignore[arg-type]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
