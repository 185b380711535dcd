"""Ctrl-C and SIGTERM that never cut a store write in half, and never a shutdown.

``handle_signals`` makes SIGTERM raise ``Terminated`` (a ``KeyboardInterrupt``) like Ctrl-C does,
so that whatever runs closes its trial and run on the way out. Two rules keep the stores whole:

- a signal that arrives inside ``critical()`` (a store write: every MLflow call and the Optuna
  writes the project makes) is raised only when the write is done, never in the middle of a commit;
- once one signal has been raised, further ones are ignored: the shutdown it started (closing runs,
  failing trials) must not itself be interrupted (a second Ctrl-C used to hang a process on its own
  SQLite lock). SIGKILL still stops the process at once; the next command then recovers.

This module sits at the bottom of ``pipeline`` (it imports nothing of it), since every layer writes.
"""

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that whatever is running closes its trial and run on the way out."""


class _State:
    requested: KeyboardInterrupt | None = None  # the first signal, once it arrived
    raised = False  # whether it has been raised (then every later signal is ignored)
    depth = 0  # nesting of critical sections


_state = _State()


def _on_signal(signum: int, frame: object) -> None:
    if _state.requested is not None:
        print("already stopping: closing runs and trials (SIGKILL stops at once)", file=sys.stderr)
        return
    _state.requested = Terminated("SIGTERM") if signum == signal.SIGTERM else KeyboardInterrupt()
    if _state.depth == 0:
        _state.raised = True
        raise _state.requested


_python_unraisable = sys.unraisablehook


def _on_unraisable(unraisable: "sys.UnraisableHookArgs") -> None:
    """A signal that lands while the garbage collector runs a finalizer or a weakref callback raises there,
    and Python prints that exception and drops it: the process would go on as if never signalled and ignore
    every later signal (a SLURM task ran two more trials after ``scancel`` and was SIGKILLed with one RUNNING).
    Such a signal counts as not raised yet: the next point that may raise does (the end of a ``critical()``
    block, the start of an ``interruptible()`` one, ``raise_pending`` between epochs)."""
    _python_unraisable(unraisable)
    if _state.requested is not None and unraisable.exc_value is _state.requested:
        _state.raised = False


def raise_pending() -> None:
    """Where raising is safe (between training epochs): raise a signal that arrived and was not raised yet."""
    if threading.current_thread() is not threading.main_thread() or _state.depth:
        return
    if _state.requested is not None and not _state.raised:
        _state.raised = True
        raise _state.requested


def handle_signals() -> None:
    """From now on SIGTERM and Ctrl-C raise in the main thread (see the module's rules). A process
    that ignores Ctrl-C (a sweep's worker: the command stops it with one SIGTERM) keeps ignoring it."""
    signal.signal(signal.SIGTERM, _on_signal)
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, _on_signal)
    sys.unraisablehook = _on_unraisable


@contextmanager
def critical() -> Iterator[None]:
    """A store write: a signal arriving inside is raised once the outermost such block is done.

    Only the main thread's blocks count: signals are raised there, and a background thread's write (Optuna's
    heartbeat, the progress bar) must neither hold a signal back nor raise it in its own thread.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _state.depth += 1
    try:
        yield
    finally:
        _state.depth -= 1
    if _state.depth == 0 and _state.requested is not None and not _state.raised:
        _state.raised = True
        raise _state.requested


@contextmanager
def interruptible() -> Iterator[None]:
    """Inside a ``critical()`` block, a stretch where signals are raised at once again (a trial's training
    inside Optuna's ``optimize``, whose bookkeeping around it is critical). A signal held back before the
    stretch is raised as it starts; the enclosing blocks count again once it ends."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    outer, _state.depth = _state.depth, 0
    try:
        if _state.requested is not None and not _state.raised:
            _state.raised = True
            raise _state.requested
        yield
    finally:
        _state.depth = outer
