"""A drawing child forked before the trials, warmed up on the core they leave idle.

The study report's figures are drawn in a forked child (``search/drawing.py``) while the summary confirms,
analyses and registers the best. Forked at the summary, that child first imports matplotlib and the report's
code and pays every first-use cost of a drawing (fonts, the canvas, the f-ANOVA code): about 1.4 s of its 5 s,
on the summary's longest path. A one-worker sweep trains on one core (``setup/threads.py``), so ``Drawer`` forks
the child before the first trial: it pays those costs meanwhile, then waits for the study's data. At the
summary ``draw`` sends the data and hands the child to a ``Drawing``, which collects the figures as before (or
draws them in this process if the child died, hangs or fails).

The child never touches a store (it only draws from the in-memory copy it is sent). It ends on its own when
this process ends without sending anything (the request pipe's end of file), and is stopped by ``cancel``.
Nothing here imports matplotlib in this process: the trials start as soon as before.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.search.drawing import Drawing
    from pipeline.search.report_input import ReportInput


class Drawer:
    """The warmed drawing child, or nothing where it cannot be forked (``draw`` then forks as before)."""

    def __init__(self) -> None:
        self.pid: int | None = None
        # fork copies only this thread: a lock held by another would stay held in the child.
        if hasattr(os, "fork") and threading.active_count() == 1:
            self._fork()

    def _fork(self) -> None:
        sys.stdout.flush()  # else text printed but not yet written would be the child's to write too
        sys.stderr.flush()
        request_read, self._request = os.pipe()
        self._response, response_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: warm up, wait, draw, send, leave without running anything of the parent's
            code = 1
            try:
                os.close(self._request)  # else its own copy would hold the pipe open: no end of file, ever
                os.close(self._response)
                signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C or SIGTERM simply end the child
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                _serve(request_read, response_write)
                code = 0
            finally:
                os._exit(code)
        os.close(request_read)
        os.close(response_write)
        self.pid = pid

    def draw(self, data: ReportInput) -> Drawing:
        """Draw the study's figures of ``data`` (whose ``study`` should be a ``drawing.snapshot``) in the warmed
        child; in a child forked now if it is gone. This process imports no drawing code before the child has
        its data."""
        from pipeline.search import drawing  # matplotlib-free: the drawing code is imported where it draws

        pid, self.pid = self.pid, None
        if pid is None:
            return drawing.start_drawing(data)
        try:
            # Waits only if the child is still warming up and the message is larger than the pipe's buffer.
            write_all(self._request, pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
        except BaseException as error:  # the child died (a broken pipe), or a signal came: never leave it behind
            _stop(pid, self._response)
            if not isinstance(error, OSError):
                raise
            return drawing.start_drawing(data)  # drawn in a fresh child
        finally:
            os.close(self._request)  # the end of the message
        return drawing.Drawing(data, drawing.draw_study, child=(pid, self._response))

    def cancel(self) -> None:
        """Stop the child if it was never given anything to draw (the sweep stopped before its summary)."""
        if self.pid is not None:
            os.close(self._request)
            _stop(self.pid, self._response)
            self.pid = None


def _serve(request: int, response: int) -> None:
    """The child's life: warm up, read the study's data to the end of file, draw, send the figures."""
    from pipeline.search import report

    report.warm_up()
    message = _read_all(request)
    if not message:  # the sweep ended without a summary, or this process's parent died
        return
    drawn = report.draw_study(pickle.loads(message))
    write_all(response, pickle.dumps(drawn, protocol=pickle.HIGHEST_PROTOCOL))


def _stop(pid: int, pipe: int) -> None:
    """Close our end of the child's answers, kill it and reap it (it may have died already)."""
    os.close(pipe)
    with contextlib.suppress(ProcessLookupError, ChildProcessError):
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def _read_all(pipe: int) -> bytes:
    chunks = []
    while chunk := os.read(pipe, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def write_all(pipe: int, payload: bytes) -> None:
    """Write all of ``payload`` to ``pipe`` (a pipe takes at most its buffer's size at a time)."""
    view = memoryview(payload)
    while view:
        view = view[os.write(pipe, view) :]
