"""Heartbeats: a background thread that records a sign of life while a task works.

The reaper fails a running run whose last heartbeat is older than its timeout, so a task that
works for hours without finishing an item is not mistaken for a crashed one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

from taskrun_center.errors import StorageError
from taskrun_center.lifecycle.write_service import TaskRunsWriteService
from taskrun_center.storage.engine import Database

logger = structlog.get_logger(__name__)


class Heartbeat:
    """Send a heartbeat for one run every ``interval_seconds`` until stopped.

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
        self.interval_seconds = interval_seconds
        self._on_terminal = on_terminal
        self._stopped = threading.Event()
        self._log = logger.bind(run_id=run_id, task_key=task_key)
        self._thread = threading.Thread(
            target=self._loop, name=f"taskrun-heartbeat-{run_id[:8]}", daemon=True
        )

    def start(self) -> Heartbeat:
        """Start the heartbeat thread; returns self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop sending heartbeats and wait for the thread to end."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()

    def beat(self) -> bool:
        """Record one heartbeat now; False when the run is already terminal."""
        with self.database.transaction("record heartbeat") as session:
            return TaskRunsWriteService(session).heartbeat(self.run_id)

    def _loop(self) -> None:
        while not self._stopped.wait(self.interval_seconds):
            try:
                alive = self.beat()
            except StorageError as error:
                # A missed heartbeat is harmless unless it lasts for the reap timeout, so the
                # thread logs it and tries again at the next interval.
                self._log.warning("heartbeat_failed", error=str(error))
                continue
            if not alive:
                self._log.info("heartbeat_run_terminal")
                if self._on_terminal is not None:
                    self._on_terminal()
                return
