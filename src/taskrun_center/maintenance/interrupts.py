"""Ctrl-C (SIGINT) or SIGTERM during a maintenance operation: report the work already committed.

A purge, wipe or reap commits in many short transactions. On Ctrl-C the transaction in
progress rolls back, and the operation raises ``MaintenanceInterrupted`` carrying the counts of
what the committed transactions did. ``InterruptGate`` makes those counts exact: from the
moment a transaction is about to commit until its counts are added, the signal waits.
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
    """Let SIGINT and SIGTERM through until ``hold()``, then deliver them when the block ends.

    Call ``hold()`` as the last step of a transaction body, just before the commit, and add the
    committed counts inside the same block. A signal received in between is delivered after the
    counts are added, so a batch is never committed without being counted.

    Only the main thread receives signals, so in any other thread the gate does nothing. It
    gates a signal only while it has a Python handler: the default SIGINT handler that raises
    ``KeyboardInterrupt``, or the CLI's SIGTERM handler that does the same. An ignored signal
    stays ignored, and a SIGTERM without a handler still ends the process at once.
    """

    _SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self._holding = False
        self._pending: tuple[int, FrameType | None] | None = None
        self._previous: dict[int, Callable[[int, FrameType | None], Any]] = {}

    def __enter__(self) -> InterruptGate:
        if threading.current_thread() is not threading.main_thread():
            return self
        for signum in self._SIGNALS:
            previous = signal.getsignal(signum)
            if callable(previous):
                self._previous[signum] = previous
                signal.signal(signum, self._on_signal)
        return self

    def hold(self) -> None:
        """Make a signal received from now on wait for the end of the ``with`` block."""
        self._holding = True

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        if self._pending is not None:
            self._deliver(*self._pending)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._holding:
            # A second signal while one waits changes nothing: one interrupt is delivered.
            self._pending = self._pending or (signum, frame)
            return
        self._deliver(signum, frame)

    def _deliver(self, signum: int, frame: FrameType | None) -> None:
        # The handler in place before the gate; Python's default SIGINT handler raises
        # KeyboardInterrupt.
        previous = self._previous.get(signum)
        if previous is not None:
            previous(signum, frame)
