"""The study report's figures drawn on the other core while this process analyses and publishes the best.

Drawing the figures of the trials (``report.draw_study``: history, slices, contour, importances with their
spread, the bias-variance map) is most of the end-of-sweep summary; retraining the best with other seeds and on
shares of the data, its error analysis, and registering its model are most of the rest. The two do not depend
on each other, and a sweep machine has at least two cores. ``start_drawing`` forks a child that draws from an
in-memory copy of the study's trials (it never touches a store connection: SQLite's must not cross a fork)
and sends the drawn figures back through a pipe; ``Drawing.result`` collects them, and ``report.build`` adds
the best model's figures (drawn meanwhile in this process, ``report.draw_best``) and the page. Where fork is
unavailable, or the child fails, crashes or takes too long, the figures are drawn here instead: the same
function on the same data, so the same report.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import optuna

from pipeline.search.drawer import write_all
from pipeline.search.evidence import observable
from pipeline.search.report_input import ReportInput

if TYPE_CHECKING:
    from pipeline.search.report import Drawn

# A child that has not answered by then is stopped and the figures drawn here (a 1000-trial study
# draws in a few seconds; this only guards against a child stuck on a lock inherited at the fork).
TIMEOUT_SECONDS = 120.0


def snapshot(study: optuna.Study) -> optuna.Study:
    """An in-memory study holding the same trials (same numbers, states, values, attributes)."""
    copy = optuna.create_study(directions=study.directions, study_name=study.study_name)
    copy.add_trials([observable(trial) for trial in study.get_trials(deepcopy=False)])
    return copy


def draw_study(data: ReportInput) -> Drawn:
    """``report.draw_study``, imported by the process that draws: the summary hands the study to its drawing child
    before it imports matplotlib itself (about half a second that the child would otherwise wait)."""
    from pipeline.search import report

    return report.draw_study(data)


class Drawing:
    """Figures being drawn; ``result()`` returns them (drawing them here if the child did not)."""

    def __init__(
        self,
        data: ReportInput,
        draw: Callable[[ReportInput], Drawn],
        child: tuple[int, int] | None = None,
    ) -> None:
        """Fork a child that draws ``data``; or, with ``child=(pid, pipe)``, collect from one already drawing them
        (``search/drawer.py``), whose figures come through ``pipe``."""
        self.data = data
        self.draw = draw
        self.pid, self.pipe = child if child is not None else (None, None)
        if child is None and hasattr(os, "fork"):
            self._fork()

    def _fork(self) -> None:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: draw, send, leave without running anything of the parent's at exit
            code = 1
            try:
                os.close(read)
                signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C or SIGTERM simply end the child
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                write_all(write, pickle.dumps(self.draw(self.data), protocol=pickle.HIGHEST_PROTOCOL))
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        self.pid, self.pipe = pid, read

    def cancel(self) -> None:
        """Stop the child (the summary failed before collecting the report)."""
        if self.pid is not None:
            os.close(self.pipe)
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.pid = None

    def result(self) -> Drawn:
        received = self._receive() if self.pid is not None else None
        self.pid = None
        return received if received is not None else self.draw(self.data)

    def _receive(self) -> Drawn | None:
        chunks, deadline, finished = [], time.monotonic() + TIMEOUT_SECONDS, False
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.pipe], [], [], left)[0]:
                    return None
                chunk = os.read(self.pipe, 1 << 20)
                if not chunk:
                    finished = True
                    break
                chunks.append(chunk)
        finally:  # on a timeout, or Ctrl-C / SIGTERM here, the child is stopped, never left behind
            os.close(self.pipe)
            if not finished:
                os.kill(self.pid, signal.SIGKILL)
            _, status = os.waitpid(self.pid, 0)
        if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
            return None
        try:
            return pickle.loads(b"".join(chunks))
        except Exception:  # a truncated message: draw it here
            return None


def start_drawing(data: ReportInput) -> Drawing:
    """Start drawing the study's figures of the report of ``data`` (whose ``study`` should be a ``snapshot``)."""
    return Drawing(data, draw_study)
