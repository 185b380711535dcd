"""The study report drawn on the other core while this process analyses and publishes the best.

Drawing the figures of the trials (``report.draw_study``: history, slices, contour, importances with their
spread, the bias-variance map) is most of the end-of-sweep summary; retraining the best with other seeds and on
shares of the data, its error analysis, and registering its model are most of the rest. The two do not depend
on each other, and a sweep machine has at least two cores. A ``Drawing`` is this process's side of a drawing
child (``drawing_child.py``: the child's side and the messages): forked before the trials and warmed up
(``drawer.py``), or forked here by ``start_drawing``. It collects the best's learning-curve PNG when the best is
registered (``learning_curves``) and the finished report once the best is analysed (``report``).

Where fork is unavailable, or the child fails, crashes or takes too long, what it did not send is drawn here
instead: the same functions on the same data, so the same bytes.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import time
from typing import TYPE_CHECKING

import optuna

from pipeline.search import drawing_child
from pipeline.search.drawing_child import HEADER, STEPS, Findings, Opening, Steps, completed
from pipeline.search.evidence import observable

if TYPE_CHECKING:
    from pipeline.search.report_input import Report, ReportInput

# A child that has not answered by then is stopped and the rest drawn here (a 1000-trial study draws in a few
# seconds; this only guards against a child stuck on a lock inherited at the fork).
TIMEOUT_SECONDS = 120.0


def snapshot(study: optuna.Study) -> optuna.Study:
    """An in-memory study holding the same trials (same numbers, states, values, attributes)."""
    copy = optuna.create_study(directions=study.directions, study_name=study.study_name)
    copy.add_trials([observable(trial) for trial in study.get_trials(deepcopy=False)])
    return copy


class Drawing:
    """The report being drawn by a child (``child``: its pid, request pipe and response pipe), or here."""

    def __init__(self, opening: Opening, steps: Steps = STEPS, child: tuple[int, int, int] | None = None) -> None:
        """``child`` has been sent ``opening`` already unless ``send(opening)`` is called next (``drawer.py``)."""
        self.opening, self.steps = opening, steps
        self.pid, self._request, self._response = child if child is not None else (None, -1, -1)
        if child is not None:  # every write and read waits at most TIMEOUT_SECONDS, whatever the child does
            os.set_blocking(self._request, False)
        self._curves_coming = child is not None and opening.curves is not None  # the child's first answer

    @property
    def data(self) -> ReportInput:
        return self.opening.data

    def learning_curves(self) -> bytes:
        """The best run's ``learning_curves.png``: the child's, else drawn here. Only with ``opening.curves``."""
        if self.opening.curves is None:
            raise ValueError("this drawing was not asked for the best's learning curves")
        if self._curves_coming:
            self._curves_coming = False
            png = self._receive()
            if isinstance(png, bytes):
                return png
        return self.steps.learning_curves(*self.opening.curves)

    def report(self, findings: Findings) -> Report:
        """The finished report: the child's, drawn from ``findings`` (the best's confirmation and analysis) and
        its study's figures; else drawn here, whole."""
        if self._curves_coming:  # never collected (the best was registered already): taken and dropped
            self._curves_coming = False
            self._receive()
        if self.pid is not None and self.send(findings):
            received = self._receive()
            if received is not None:
                self._close()
                return received
        return self.steps.page(completed(self.data, findings), None)

    def cancel(self) -> None:
        """Stop the child (the summary failed before collecting the report)."""
        self._stop()

    def send(self, message: object) -> bool:
        """Send ``message`` to the child, which reads it when it is ready for it; ``False`` (and the child stopped)
        if it died or did not take all of it within ``TIMEOUT_SECONDS``."""
        view, deadline = memoryview(drawing_child.framed(message)), time.monotonic() + TIMEOUT_SECONDS
        try:
            while view:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([], [self._request], [], left)[1]:
                    self._stop()
                    return False
                with contextlib.suppress(BlockingIOError):  # the pipe had room for less than one write: wait again
                    view = view[os.write(self._request, view) :]
        except OSError:  # a broken pipe: the child died
            self._stop()
            return False
        except BaseException:  # Ctrl-C or SIGTERM here: the child is never left behind
            self._stop()
            raise
        return True

    def _receive(self) -> object | None:
        """The child's next answer; ``None`` (and the child stopped) if it died, failed or did not answer in time."""
        chunks, deadline = bytearray(), time.monotonic() + TIMEOUT_SECONDS
        try:
            size = None
            while size is None or len(chunks) < HEADER.size + size:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self._response], [], [], left)[0]:
                    break
                wanted = HEADER.size if size is None else HEADER.size + size
                chunk = os.read(self._response, min(wanted - len(chunks), 1 << 20))  # this answer, not the next
                if not chunk:  # the child ended, or failed, before the whole answer
                    break
                chunks += chunk
                if size is None and len(chunks) >= HEADER.size:
                    size = HEADER.unpack_from(chunks)[0]
            else:
                return pickle.loads(chunks[HEADER.size :])
        except BaseException:  # Ctrl-C or SIGTERM here: the child is never left behind
            self._stop()
            raise
        self._stop()
        return None

    def _close(self) -> None:
        """The child sent its last answer and ends: reap it."""
        self._end(kill=False)

    def _stop(self) -> None:
        """Kill the child and reap it (it may have died already)."""
        self._end(kill=True)

    def _end(self, kill: bool) -> None:
        # ``pid`` is forgotten only once the child is reaped: a signal landing half-way leaves it to a later call.
        if self.pid is None:
            return
        self._curves_coming = False
        pipes, (self._request, self._response) = (self._request, self._response), (-1, -1)  # never closed twice
        drawing_child.end(self.pid, pipes, kill)
        self.pid = None


def start_drawing(opening: Opening, steps: Steps = STEPS) -> Drawing:
    """Start drawing the report of ``opening`` (whose ``data.study`` should be a ``snapshot``) in a child forked
    now; drawn here where fork does not exist."""
    return Drawing(opening, steps, drawing_child.fork(steps, opening) if hasattr(os, "fork") else None)
