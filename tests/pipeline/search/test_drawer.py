"""``pipeline.search.drawer``: the drawing child forked before the trials draws the report this process would,
and is never left behind: not when the sweep stops before its summary, not when it died first, not when
this process is killed.

The drawer forks only while one thread runs, as in a sweep's process before its first trial; this test's
process may hold threads that other tests left, so each check runs in a fresh interpreter."""

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

import optuna
from test_drawing import CURVES, NOTHING_FOUND, _data, _only_in_the_child, _study

from pipeline.records.plots import learning_curves_png
from pipeline.search.drawer import Drawer
from pipeline.search.drawing_child import Opening, completed
from pipeline.search.report import build

optuna.logging.set_verbosity(optuna.logging.ERROR)


def _ended(pid: int) -> bool:
    """Whether process ``pid`` has ended: reaped, or a zombie waiting for a parent that is not this process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat[stat.rindex(")") + 2] == "Z"


def _gone(pid: int, within: float = 30.0) -> bool:
    """Whether process ``pid`` ends within ``within`` seconds (polled: it ends on its own, on no event of ours)."""
    deadline = time.monotonic() + within
    while not _ended(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _in_a_fresh_process(check: Callable[..., None], *args: object) -> None:
    process = multiprocessing.get_context("spawn").Process(target=check, args=args)
    process.start()
    process.join(timeout=300)
    assert process.exitcode == 0, f"{check.__name__} failed in its process (its traceback is above)"


def _draws_what_this_process_would(folder: str) -> None:
    data = _data(_study(Path(folder)))
    drawer = Drawer()
    child = drawer.pid
    assert child is not None, "forked where fork exists and no other thread runs"
    drawing = drawer.draw(Opening(data, CURVES))
    assert drawing.pid == child, "the warmed child draws, not a new one"
    drawing.steps = _only_in_the_child()  # what this process would draw if the child failed: nothing, here
    assert drawing.learning_curves() == learning_curves_png(*CURVES)
    received, here = drawing.report(NOTHING_FOUND), build(completed(data, NOTHING_FOUND))
    assert received.html == here.html and received.axes == here.axes
    assert all(received.figures[name] == here.figures[name] for name in here.figures), "the same pixels"
    assert _gone(child)
    drawer.cancel()  # handed over: nothing left to stop


def test_the_warmed_child_draws_the_report_this_process_would(tmp_path: Path) -> None:
    _in_a_fresh_process(_draws_what_this_process_would, str(tmp_path))


def _cancel_stops_it() -> None:
    drawer = Drawer()
    child = drawer.pid
    assert child is not None
    drawer.cancel()
    assert drawer.pid is None and _gone(child, within=0)


def test_a_drawer_never_given_the_study_is_stopped_by_cancel() -> None:
    _in_a_fresh_process(_cancel_stops_it)


def _a_dead_child_is_replaced(folder: str) -> None:
    data = _data(_study(Path(folder)))
    drawer = Drawer()
    os.kill(drawer.pid, signal.SIGKILL)  # e.g. the machine's out-of-memory killer
    assert _gone(drawer.pid)  # dead, not yet reaped
    drawing = drawer.draw(Opening(data))
    assert drawing.pid not in (None, drawer.pid)
    assert drawing.report(NOTHING_FOUND).html == build(data).html


def test_a_child_that_died_before_the_summary_is_replaced_by_a_fresh_one(tmp_path: Path) -> None:
    _in_a_fresh_process(_a_dead_child_is_replaced, str(tmp_path))


def _killed_without_a_summary(answer: Connection) -> None:
    """A sweep's process: starts the drawer, says its pid, and ends as if killed (no cancel, no atexit)."""
    answer.send(Drawer().pid)
    os._exit(0)


def test_the_child_ends_by_itself_when_this_process_dies_without_a_summary() -> None:
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_killed_without_a_summary, args=(send,))
    process.start()
    send.close()
    assert receive.poll(120), "the process did not start its drawer"
    child = receive.recv()
    process.join(timeout=60)
    assert child is not None and _gone(child), "the orphaned drawer ended at its request pipe's end of file"


def test_no_drawer_is_forked_while_another_thread_runs(tmp_path: Path) -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, name="another")
    other.start()
    try:
        drawer = Drawer()
        assert drawer.pid is None, "a lock held by another thread would stay held in the child"
        data = _data(_study(tmp_path))
        drawing = drawer.draw(Opening(data))
        assert drawing.pid is not None, "forked at the summary, as before"
        assert drawing.report(NOTHING_FOUND).html == build(data).html
    finally:
        stop.set()
        other.join()
