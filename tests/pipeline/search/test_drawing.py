"""``pipeline.search.drawing``: the report and the best's learning-curve PNG drawn in a forked child are those
drawn here, and a child that fails, hangs or is no longer wanted never leaves the sweep without them or behind."""

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import optuna
import pytest

from pipeline.record_names import BIAS_VARIANCE_ATTR
from pipeline.records.plots import learning_curves_png
from pipeline.search import drawing
from pipeline.search.drawing_child import STEPS, Opening, Steps, completed
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


CURVES = (
    {
        "train_cost": [(epoch, 1.0 / (epoch + 1)) for epoch in range(20)],
        "val_cost": [(epoch, 1.2 / (epoch + 1)) for epoch in range(20)],
        "train_accuracy": [(epoch, 1 - 0.5 / (epoch + 1)) for epoch in range(20)],
        "val_accuracy": [(epoch, 1 - 0.6 / (epoch + 1)) for epoch in range(20)],
    },
    "drawn: best trial",
)
NOTHING_FOUND = (None, None)  # the findings of a summary without confirmation or advice


def test_the_child_draws_the_report_and_the_curves_this_process_would(tmp_path: Path) -> None:
    data = _data(_study(tmp_path))
    started = drawing.start_drawing(Opening(data, CURVES), _only_in_the_child())
    assert started.pid is not None, "forked where fork exists"
    assert started.learning_curves() == learning_curves_png(*CURVES), "the same PNG bytes"
    received = started.report(NOTHING_FOUND)
    here = build(completed(data, NOTHING_FOUND))
    assert received.html == here.html and received.figures.keys() == here.figures.keys()
    assert received.axes == here.axes
    drawn_first = {"optimization_history.png", "param_importances.png", "slice_learning_rate.png", "bias_variance.png"}
    assert drawn_first <= set(here.figures)
    assert all(received.figures[name] == here.figures[name] for name in here.figures), "the same pixels"
    assert sum(map(len, received.figures.values())) > 1 << 16, "an answer larger than a pipe's buffer"
    assert started.pid is None, "the child ended and was reaped"


def _only_in_the_child() -> Steps:
    """``STEPS`` that fail in this process: what a drawing with them returns was drawn by its child."""

    def in_the_child(step: Callable[..., object]) -> Callable[..., object]:
        def drawn(*args: object) -> object:
            if os.getpid() == PARENT:
                raise AssertionError("drawn in this process: the child did not answer")
            return step(*args)

        return drawn

    return Steps(STEPS.warm_up, in_the_child(STEPS.learning_curves), STEPS.study, in_the_child(STEPS.page))


def test_curves_never_collected_do_not_keep_the_report(tmp_path: Path) -> None:
    """The best registered already (a summary resumed): its PNG is not collected, and the report still comes even
    when the PNG is larger than a pipe's buffer (the child blocks writing it until it is taken)."""
    steps = Steps(STEPS.warm_up, lambda *_: b"x" * (1 << 20), _titled, _page_here)
    received = drawing.start_drawing(Opening(_data(_study(tmp_path)), CURVES), steps).report(NOTHING_FOUND)
    assert received == "page of drawn in the child, drawn"


def test_large_findings_reach_the_child(tmp_path: Path) -> None:
    """Findings larger than a pipe's buffer (the mistakes of an image dataset) are taken whole."""
    data = _data(_study(tmp_path))
    findings = ("x" * (1 << 20), None)
    steps = Steps(STEPS.warm_up, STEPS.learning_curves, _titled, _page_of)
    received = drawing.start_drawing(Opening(data), steps).report(findings)  # type: ignore[arg-type]
    assert received == (len(findings[0]), "drawn in the child")


def test_a_child_that_hangs_is_given_large_findings_within_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Findings larger than a pipe's buffer, for a child stuck drawing the study: the summary waits at most
    ``TIMEOUT_SECONDS`` to hand them over (found by a review: the write waited for the child, without limit)."""
    monkeypatch.setattr(drawing, "TIMEOUT_SECONDS", 0.5)
    hanging = _hanging(tmp_path)
    pid, started = hanging.pid, time.monotonic()
    assert hanging.report(("x" * (1 << 20), None)) == "page of None, drawn" and time.monotonic() - started < 10
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_png_larger_than_the_pipe_does_not_hold_up_the_study(tmp_path: Path) -> None:
    """The summary collects the PNG only once the best is analysed; meanwhile the child draws the study's figures
    (found by a review: a PNG the pipe could not hold kept the child waiting)."""
    started = tmp_path / "study started"

    def study(data: ReportInput) -> str:
        started.touch()
        return "drawn in the child"

    steps = Steps(STEPS.warm_up, lambda *_: b"x" * (1 << 20), study, _page_here)
    child = drawing.start_drawing(Opening(_data(_study(tmp_path)), CURVES), steps)
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline:  # the child's own pace: polled, bounded
        time.sleep(0.05)
    assert started.exists(), "the study's figures waited for the PNG to be collected"
    assert child.learning_curves() == b"x" * (1 << 20)
    assert child.report(NOTHING_FOUND) == "page of drawn in the child, drawn"


def _titled(data: ReportInput) -> str:
    return "drawn in the child" if os.getpid() != PARENT else "drawn here"


def _page_of(data: ReportInput, drawn: str | None) -> tuple[int, str | None]:
    return len(data.confirmation or ""), drawn


def _dies_in_the_child(*args: object) -> str:
    if os.getpid() != PARENT:
        os._exit(3)
    return "drawn here"


def _hangs_in_the_child(*args: object) -> str:
    if os.getpid() != PARENT:
        time.sleep(60)
    return "drawn here"


def _page_here(data: ReportInput, drawn: object) -> str:
    return f"page of {drawn}, {data.title}"


def test_a_child_that_dies_or_hangs_is_replaced_by_drawing_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _data(_study(tmp_path))
    dies = Steps(STEPS.warm_up, STEPS.learning_curves, _dies_in_the_child, _page_here)
    assert drawing.start_drawing(Opening(data), dies).report(NOTHING_FOUND) == "page of None, drawn"
    curves_die = Steps(STEPS.warm_up, _dies_in_the_child, _hangs_in_the_child, _page_here)
    dead = drawing.start_drawing(Opening(data, CURVES), curves_die)
    assert dead.learning_curves() == "drawn here" and dead.pid is None
    monkeypatch.setattr(drawing, "TIMEOUT_SECONDS", 0.5)
    hanging = drawing.start_drawing(
        Opening(data), Steps(STEPS.warm_up, STEPS.learning_curves, _hangs_in_the_child, _page_here)
    )
    pid, started = hanging.pid, time.monotonic()
    assert hanging.report(NOTHING_FOUND) == "page of None, drawn" and time.monotonic() - started < 10
    with pytest.raises(ProcessLookupError):  # stopped and reaped
        os.kill(pid, 0)


def _hanging(tmp_path: Path) -> drawing.Drawing:
    steps = Steps(STEPS.warm_up, STEPS.learning_curves, _hangs_in_the_child, _page_here)
    return drawing.start_drawing(Opening(_data(_study(tmp_path))), steps)


def test_a_cancelled_drawing_leaves_no_child(tmp_path: Path) -> None:
    hanging = _hanging(tmp_path)
    pid = hanging.pid
    hanging.cancel()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_an_interrupt_while_waiting_for_the_child_leaves_no_child(tmp_path: Path) -> None:
    """Ctrl-C or SIGTERM while the summary waits for the report stops the child too."""
    hanging = _hanging(tmp_path)
    pid = hanging.pid

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            hanging.report(NOTHING_FOUND)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
