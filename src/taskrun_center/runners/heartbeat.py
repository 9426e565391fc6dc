"""Heartbeats: one background thread per process records a sign of life for each running task.

The reaper fails a running run whose last heartbeat is older than its timeout, so a task that
works for hours without finishing an item is not mistaken for a crashed one. One shared thread
serves every run of the process, so starting a run costs no thread.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from sqlalchemy import text

from taskrun_center.errors import StorageError
from taskrun_center.lifecycle.write_service import TaskRunsWriteService
from taskrun_center.storage.engine import Database

logger = structlog.get_logger(__name__)


class Heartbeat:
    """Send a heartbeat for one run every ``interval_seconds`` between ``start`` and ``stop``.

    ``on_terminal`` is called once when the write service reports the run as already terminal,
    which means someone cancelled it (or the reaper ended it) while the task was working.
    """

    def __init__(
        self,
        database: Database,
        run_id: str,
        task_key: str,
        interval_seconds: float,
        *,
        on_terminal: Callable[[], None] | None = None,
    ) -> None:
        self.database = database
        self.run_id = run_id
        self.task_key = task_key
        self.interval_seconds = interval_seconds
        self.on_terminal = on_terminal
        self.log = logger.bind(run_id=run_id, task_key=task_key)

    def start(self) -> Heartbeat:
        """Start sending heartbeats; returns self."""
        _monitor.watch(self)
        return self

    def stop(self) -> None:
        """Stop sending heartbeats (a beat already being written may still land)."""
        _monitor.unwatch(self)

    def beat(self) -> bool:
        """Record one heartbeat now; False when the run is already terminal.

        Raises:
            StorageError: the database failed, or on PostgreSQL the run's row stayed locked by
                another session for ``LOCK_TIMEOUT_MS``.
        """
        with self.database.transaction("record heartbeat") as session:
            if not self.database.is_sqlite:
                # One run's row locked by another session (an operator's SELECT … FOR UPDATE)
                # would otherwise hold the shared thread, and every other run's heartbeat.
                session.execute(text(f"SET LOCAL lock_timeout = {LOCK_TIMEOUT_MS}"))
            return TaskRunsWriteService(session).heartbeat(self.run_id)


#: How long a heartbeat waits for its run's row on PostgreSQL before it gives up until the next
#: one. SQLite has a single writer lock, which its busy timeout bounds.
LOCK_TIMEOUT_MS = 2000


@dataclass
class _Watch:
    heartbeat: Heartbeat
    due: float


class _HeartbeatMonitor:
    """The shared thread: sleeps until the next heartbeat is due, then sends the due ones."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._watches: dict[int, _Watch] = {}
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        # The monotonic time the thread sleeps until; infinite while it waits for a first watch.
        self._wake_at = math.inf

    def watch(self, heartbeat: Heartbeat) -> None:
        with self._condition:
            self._reset_after_fork()
            due = time.monotonic() + heartbeat.interval_seconds
            self._watches[id(heartbeat)] = _Watch(heartbeat, due)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="taskrun-heartbeats", daemon=True
                )
                self._thread.start()
            # The thread needs waking only when this beat is due before the time it sleeps
            # until. A run that ended leaves that time in place, so the next run of the same
            # interval, which is due later, starts without a thread switch.
            if due < self._wake_at:
                self._condition.notify_all()

    def unwatch(self, heartbeat: Heartbeat) -> None:
        with self._condition:
            self._watches.pop(id(heartbeat), None)

    def _reset_after_fork(self) -> None:
        # A forked child (a Celery prefork worker) inherits this object but not the thread.
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._watches.clear()
            self._thread = None
            self._wake_at = math.inf

    def _loop(self) -> None:
        while True:
            with self._condition:
                due = self._wait_for_due()
            for watch in due:
                self._send(watch.heartbeat)

    def _wait_for_due(self) -> list[_Watch]:
        # Called with the condition held; returns the watches whose beat is due, rescheduled.
        while True:
            now = time.monotonic()
            due = [watch for watch in self._watches.values() if watch.due <= now]
            if due:
                for watch in due:
                    watch.due = now + watch.heartbeat.interval_seconds
                # While the thread sends beats, any new watch is seen when it comes back here.
                self._wake_at = -math.inf
                return due
            self._wake_at = min((watch.due for watch in self._watches.values()), default=math.inf)
            self._condition.wait(None if self._wake_at == math.inf else self._wake_at - now)

    def _send(self, heartbeat: Heartbeat) -> None:
        try:
            alive = heartbeat.beat()
        except StorageError as error:
            # A missed heartbeat is harmless unless it lasts for the reap timeout, so the
            # monitor logs it and tries again at the next interval.
            heartbeat.log.warning("heartbeat_failed", error=str(error))
            return
        if alive:
            return
        with self._condition:
            watched = self._watches.pop(id(heartbeat), None) is not None
        if watched:
            heartbeat.log.info("heartbeat_run_terminal")
            if heartbeat.on_terminal is not None:
                heartbeat.on_terminal()


_monitor = _HeartbeatMonitor()
