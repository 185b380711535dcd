"""The summary's drawing child: its life, and the messages it exchanges with the sweep's process.

With the study report on (``tracking.report=true``, the default), everything the summary draws is drawn in a
forked child, so that the sweep's process draws nothing while it confirms, analyses and registers the best, and
(with ``tracking.log_plots`` ``best`` or ``none``, and the child alive) never imports matplotlib (about half a
second):

1. the *opening* (``Opening``: the report's data, and the best's learning curves when its run gets a PNG of them,
   ``tracking.log_plots=best``) comes first, while the best is confirmed; the child draws that PNG at once and
   sends it beside its drawing (``drawing.py`` collects it when the best is registered), then draws the study's
   figures (history, slices, contour, importances with their spread, the bias-variance map);
2. the *findings* (the best's confirmation with other seeds and its analysis) come once the best is registered;
   the child draws the best's figures, lays out the page and sends the finished ``Report``.

Each message is one pickled object behind its length, so that either side can tell a whole message from a
child that died half-way. The child never touches a store: SQLite's connections must not cross a fork, and it
only draws from the copies it is sent. It ends on its own when the sweep's process ends (the request pipe's end
of file, or a broken response pipe).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from pipeline.search.report_input import ReportInput

if TYPE_CHECKING:
    from pipeline.search.advice import Advice
    from pipeline.search.evidence import Confirmation
    from pipeline.search.report import Drawn
    from pipeline.search.report_input import Report

HEADER = struct.Struct("!Q")  # a message's length in bytes, before the message

Curves = dict[str, list[tuple[int, float]]]  # metric name -> [(epoch, value)]


@dataclass
class Opening:
    """The first message: the report's data, and the best's learning curves (``(history, title)``) to draw as its
    run's ``learning_curves.png`` (``None``: that PNG is not wanted, ``tracking.log_plots`` is not ``best``)."""

    data: ReportInput
    curves: tuple[Curves, str] | None = None


Findings = tuple["Confirmation | None", "Advice | None"]  # the second message: what the summary found of the best


@dataclass(frozen=True)
class Steps:
    """What is drawn, step by step: the same calls draw in this process when a child cannot (tests swap them)."""

    warm_up: Callable[[], None]
    learning_curves: Callable[[Curves, str], bytes]  # (history, title) -> PNG bytes
    study: Callable[[ReportInput], Drawn]  # the figures drawn from the trials alone
    page: Callable[[ReportInput, Drawn | None], Report]  # the best's figures and the page (the study's if None)


def _warm_up() -> None:
    from pipeline.search import report  # matplotlib: imported where it draws

    report.warm_up()


def _learning_curves(history: Curves, title: str) -> bytes:
    from pipeline.records import plots

    return plots.learning_curves_png(history, title)


def _study(data: ReportInput) -> Drawn:
    from pipeline.search import report

    return report.draw_study(data)


def _page(data: ReportInput, drawn: Drawn | None) -> Report:
    from pipeline.search import report

    return report.build(data, drawn)


STEPS = Steps(_warm_up, _learning_curves, _study, _page)


def completed(data: ReportInput, findings: Findings) -> ReportInput:
    """The report's data with what the summary found of the best."""
    confirmation, advice = findings
    return replace(data, confirmation=confirmation, advice=advice)


def fork(steps: Steps, opening: Opening | None = None) -> tuple[int, int, int]:
    """Fork a drawing child; returns its pid, the pipe to write its requests to and the pipe to read its answers
    from. Without ``opening`` it warms up (``steps.warm_up``) and waits for one (``drawer.py``); with it, it draws
    at once."""
    sys.stdout.flush()  # else text printed but not yet written would be the child's to write too
    sys.stderr.flush()
    request_read, request_write = os.pipe()
    response_read, response_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: draw, send, leave without running anything of the parent's at exit
        code = 1
        try:
            os.close(request_write)  # else its own copy would hold the pipe open: no end of file, ever
            os.close(response_read)
            signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C or SIGTERM simply end the child
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            serve(steps, request_read, response_write, opening)
            code = 0
        finally:
            os._exit(code)
    os.close(request_read)
    os.close(response_write)
    return pid, request_write, response_read


def end(pid: int, pipes: tuple[int, ...], kill: bool) -> None:
    """Close this process's ends of a child's ``pipes``, kill it (``kill``) and reap it (it may have died already)."""
    for pipe in pipes:
        with contextlib.suppress(OSError):
            os.close(pipe)
    with contextlib.suppress(ProcessLookupError, ChildProcessError):
        if kill:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def serve(steps: Steps, request: int, response: int, opening: Opening | None) -> None:
    """The child's life: (warm up and wait for the opening,) draw the best's learning curves and send them, draw
    the study's figures, wait for the findings, draw the best's figures and the page, send the report."""
    if opening is None:
        steps.warm_up()
        opening = receive(request)
        if opening is None:  # the sweep ended without a summary, or this process's parent died
            return
    sending = None
    if opening.curves is not None:
        # Sent beside the drawing: a PNG larger than the pipe's buffer waits there until the summary collects it
        # (once the best is analysed), and the study's figures must not wait with it.
        png = steps.learning_curves(*opening.curves)
        sending = threading.Thread(target=_send_if_read, args=(response, png), name="learning-curves", daemon=True)
        sending.start()
    drawn = steps.study(opening.data)
    findings = receive(request)
    if sending is not None:
        sending.join()  # the PNG first, whole: the summary reads the answers in order
    if findings is None:  # no longer wanted
        return
    send(response, steps.page(completed(opening.data, findings), drawn))


def send(pipe: int, message: object) -> None:
    """Write ``message`` to ``pipe``, whole (blocking until the reader has taken what its buffer cannot hold)."""
    write_all(pipe, framed(message))


def framed(message: object) -> bytes:
    """``message`` as it goes through a pipe: its pickle behind the pickle's length."""
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(payload)) + payload


def _send_if_read(pipe: int, message: object) -> None:
    """``send``, where a reader that is gone (the summary stopped) leaves nothing to do and nothing to say."""
    with contextlib.suppress(OSError):
        send(pipe, message)


def receive(pipe: int) -> object | None:
    """The next message on ``pipe``; ``None`` at its end of file (the writer is gone)."""
    header = _read_exactly(pipe, HEADER.size)
    if header is None:
        return None
    payload = _read_exactly(pipe, HEADER.unpack(header)[0])
    return None if payload is None else pickle.loads(payload)


def _read_exactly(pipe: int, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = os.read(pipe, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def write_all(pipe: int, payload: bytes) -> None:
    """Write all of ``payload`` to ``pipe`` (a pipe takes at most its buffer's size at a time)."""
    view = memoryview(payload)
    while view:
        view = view[os.write(pipe, view) :]
