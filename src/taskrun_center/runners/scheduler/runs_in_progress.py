"""The scheduled runs executing in this process, so that a stopping scheduler can cancel them."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import structlog

from taskrun_center.errors import TaskRunError
from taskrun_center.lifecycle.write_service import TaskRunsWriteService
from taskrun_center.runners.dispatch import Dispatcher
from taskrun_center.storage.engine import Database

logger = structlog.get_logger(__name__)


class TrackingDispatcher:
    """A dispatcher that records the runs its inner dispatcher is executing.

    With the scheduler's default ``InlineDispatcher``, ``submit`` returns when the run has
    ended, so a run counts as in progress for exactly as long as it executes here. A Celery
    dispatcher returns once the message is sent, so runs on Celery workers are never counted.
    """

    def __init__(self, database: Database, inner: Dispatcher) -> None:
        self.database = database
        self._inner = inner
        self._condition = threading.Condition()
        self._run_ids: set[str] = set()
        self._stopping = False

    @property
    def stopping(self) -> bool:
        """True once ``cancel_all`` was called; later runs are cancelled instead of executed."""
        return self._stopping

    def submit(
        self,
        task_key: str,
        run_id: str,
        arguments: Mapping[str, Any],
        trigger_source: str,
        created_by: str | None,
    ) -> None:
        """Execute the pending run through the inner dispatcher, or cancel it when stopping."""
        with self._condition:
            stopping = self._stopping
            if not stopping:
                self._run_ids.add(run_id)
        if stopping:
            # The pending run was created after ``cancel_all`` took its list.
            self._cancel(run_id)
            return
        try:
            self._inner.submit(task_key, run_id, arguments, trigger_source, created_by)
        finally:
            with self._condition:
                self._run_ids.discard(run_id)
                self._condition.notify_all()

    def cancel_all(self) -> list[str]:
        """Cancel every run in progress and every run submitted from now on; return their ids.

        Each run ends ``cancelled`` at once, as a run of ``taskrun run`` does on Ctrl-C. Its
        task stops at its next cancellation check, or runs on until ``wait_idle`` gives up.
        """
        with self._condition:
            self._stopping = True
            run_ids = sorted(self._run_ids)
        for run_id in run_ids:
            self._cancel(run_id)
        return run_ids

    def in_progress(self) -> list[str]:
        """Return the ids of the runs executing now."""
        with self._condition:
            return sorted(self._run_ids)

    def wait_idle(self, timeout: float | None) -> bool:
        """Wait until no run executes here, for at most ``timeout`` seconds; True when none does."""
        with self._condition:
            return self._condition.wait_for(lambda: not self._run_ids, timeout)

    def _cancel(self, run_id: str) -> None:
        log = logger.bind(run_id=run_id)
        try:
            with self.database.transaction("cancel interrupted scheduled run") as session:
                changed = TaskRunsWriteService(session).cancel_run(run_id)
        except TaskRunError as error:
            # The run stays as it is, and the reaper fails it once its heartbeat stops.
            log.error("scheduled_run_cancel_failed", error=str(error))
            return
        if changed:
            log.warning("scheduled_run_interrupted")
