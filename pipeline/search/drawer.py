"""A drawing child forked before the trials, warmed up on the core they leave idle.

The summary's figures are drawn in a forked child (``search/drawing_child.py``) while the summary confirms,
analyses and registers the best. Forked at the summary, that child first imports matplotlib and the report's
code and pays every first-use cost of a drawing (fonts, the canvas, the f-ANOVA code): about 1.4 s of its 5 s,
on the summary's longest path. A one-worker sweep trains on one core (``setup/threads.py``), so ``Drawer`` forks
the child before the first trial: it pays those costs meanwhile, then waits for its opening message. At the
summary ``draw`` sends it and hands the child to a ``Drawing`` (``search/drawing.py``), which collects what it
draws (or draws it in this process if the child died, hangs or fails).

The child ends on its own when this process ends without sending anything (the request pipe's end of file),
and is stopped by ``cancel``. Nothing here imports matplotlib in this process: the trials start as soon as before.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

from pipeline.search import drawing_child
from pipeline.search.drawing_child import STEPS

if TYPE_CHECKING:
    from pipeline.search.drawing import Drawing
    from pipeline.search.drawing_child import Opening


class Drawer:
    """The warmed drawing child, or nothing where it cannot be forked (``draw`` then forks as before)."""

    def __init__(self) -> None:
        self.pid: int | None = None
        # fork copies only this thread: a lock held by another would stay held in the child.
        if hasattr(os, "fork") and threading.active_count() == 1:
            self.pid, self._request, self._response = drawing_child.fork(STEPS)

    def draw(self, opening: Opening) -> Drawing:
        """Draw the summary's figures of ``opening`` (whose ``data.study`` should be a ``drawing.snapshot``) in the
        warmed child; in a child forked now if it is gone. This process imports no drawing code."""
        from pipeline.search import drawing  # matplotlib-free: the drawing code is imported where it draws

        pid, self.pid = self.pid, None
        if pid is None:
            return drawing.start_drawing(opening)
        started = drawing.Drawing(opening, STEPS, child=(pid, self._request, self._response))
        # Waits (at most drawing.TIMEOUT_SECONDS) only if the child is still warming up and the message is larger
        # than the pipe's buffer; a child that died or hangs is stopped, and one forked now draws instead.
        return started if started.send(opening) else drawing.start_drawing(opening)

    def cancel(self) -> None:
        """Stop the child if it was never given anything to draw (the sweep stopped before its summary)."""
        if self.pid is not None:
            drawing_child.end(self.pid, (self._request, self._response), kill=True)
            self.pid = None
