"""Ctrl-C (SIGINT) during a maintenance operation: report the work already committed.

A purge, wipe or reap commits in many short transactions. On Ctrl-C the transaction in
progress rolls back, and the operation raises ``MaintenanceInterrupted`` carrying the counts of
what the committed transactions did. ``InterruptGate`` makes those counts exact: from the
moment a transaction is about to commit until its counts are added, SIGINT waits.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any, Generic, TypeVar

ResultT = TypeVar("ResultT")


class MaintenanceInterrupted(KeyboardInterrupt, Generic[ResultT]):
    """Raised on Ctrl-C during a purge, wipe, audit or reap; ``result`` is the partial result.

    It derives from ``KeyboardInterrupt`` and not from ``TaskRunError`` on purpose: a caller's
    ``except Exception`` must not swallow Ctrl-C. ``result.interrupted`` is True.
    """

    def __init__(self, operation: str, result: ResultT) -> None:
        super().__init__(f"{operation} interrupted")
        self.operation = operation
        self.result = result


class InterruptGate:
    """Let SIGINT through until ``hold()``, then deliver it when the ``with`` block ends.

    Call ``hold()`` as the last step of a transaction body, just before the commit, and add the
    committed counts inside the same block. A SIGINT received in between is delivered after the
    counts are added, so a batch is never committed without being counted.

    Only the main thread receives signals, so in any other thread the gate does nothing. It
    does nothing either unless SIGINT has a Python handler, such as the default one that raises
    ``KeyboardInterrupt``: an ignored SIGINT stays ignored.
    """

    def __init__(self) -> None:
        self._holding = False
        self._pending = False
        self._pending_frame: FrameType | None = None
        self._previous: Callable[[int, FrameType | None], Any] | None = None

    def __enter__(self) -> InterruptGate:
        if threading.current_thread() is not threading.main_thread():
            return self
        previous = signal.getsignal(signal.SIGINT)
        if not callable(previous):
            return self
        self._previous = previous
        signal.signal(signal.SIGINT, self._on_signal)
        return self

    def hold(self) -> None:
        """Make a SIGINT received from now on wait for the end of the ``with`` block."""
        self._holding = True

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._previous is None:
            return
        signal.signal(signal.SIGINT, self._previous)
        if self._pending:
            self._deliver(self._pending_frame)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._holding:
            self._pending = True
            self._pending_frame = frame
            return
        self._deliver(frame)

    def _deliver(self, frame: FrameType | None) -> None:
        # The handler in place before the gate; Python's default raises KeyboardInterrupt.
        if self._previous is not None:
            self._previous(signal.SIGINT, frame)
