"""The write service: the only code that changes a run's or an item's status.

INTERFACE DRAFT: signatures and contracts are fixed; bodies are being written.

Unit of work: no method commits. Each method issues its statements on the caller's session and
flushes; the caller commits (``Database.transaction()`` does it for you) or rolls back. A method
that raises leaves the session's transaction for the caller to roll back, so nothing is
half-written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from taskrun_center.states import RunStatus, TriggerSource
from taskrun_center.storage.models import TaskRun


@dataclass(frozen=True, slots=True)
class ItemSpec:
    """An item to declare with ``init_items``."""

    item_type: str
    item_key: str
    item_name: str | None = None


class TaskRunsWriteService:
    """Writes runs and items; see the module docstring for the unit-of-work rule."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def start_run(
        self,
        *,
        task_key: str,
        task_name: str | None = None,
        task_category: str | None = None,
        trigger_source: TriggerSource | str = TriggerSource.MANUAL,
        created_by: str | None = None,
        summary_json: Mapping[str, Any] | None = None,
        result_url: str | None = None,
        run_id: str | None = None,
        status: RunStatus = RunStatus.RUNNING,
    ) -> TaskRun:
        """Insert a run (running, or pending when queued) with a valid summary; return it."""
        raise NotImplementedError

    def resolve_or_start_run(self, *, run_id: str | None, task_key: str, **start: Any) -> TaskRun:
        """Return the run with ``run_id`` (moving pending to running) or start a new one."""
        raise NotImplementedError

    def init_items(self, run_id: str, items: Sequence[ItemSpec]) -> int:
        """Insert pending items in batches, add them to ``progress_total``; return the count."""
        raise NotImplementedError

    def start_item(self, run_id: str, item_type: str, item_key: str) -> bool:
        """Move a pending item to running; False when it is already terminal."""
        raise NotImplementedError

    def complete_item(
        self,
        run_id: str,
        item_type: str,
        item_key: str,
        *,
        metrics: Mapping[str, Any] | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> bool:
        """Mark an item completed with its metrics and details; False when already terminal."""
        raise NotImplementedError

    def fail_item(
        self,
        run_id: str,
        item_type: str,
        item_key: str,
        *,
        error_message: str,
        details: Mapping[str, Any] | None = None,
    ) -> bool:
        """Mark an item failed with a masked error message; False when already terminal."""
        raise NotImplementedError

    def cancel_item(self, run_id: str, item_type: str, item_key: str) -> bool:
        """Cancel a pending or running item; False when already terminal."""
        raise NotImplementedError

    def write_summary(self, run_id: str, summary_json: Mapping[str, Any]) -> bool:
        """Validate and store the summary; False (summary kept) when the run is cancelled."""
        raise NotImplementedError

    def finalize_run(self, run_id: str) -> RunStatus | None:
        """Recount from items and end the run; None when it was already terminal."""
        raise NotImplementedError

    def finalize_run_with_summary(
        self,
        run_id: str,
        summary_json: Mapping[str, Any] | None,
        *,
        status: RunStatus | None = None,
        error_message: str | None = None,
    ) -> RunStatus | None:
        """Write the summary and end the run, optionally with a given terminal status."""
        raise NotImplementedError

    def mark_run_failed(self, run_id: str, error_message: str) -> bool:
        """Fail the run and its pending and running items; False when already terminal."""
        raise NotImplementedError

    def cancel_run(self, run_id: str) -> bool:
        """Cancel a pending or running run and its unfinished items; False when terminal."""
        raise NotImplementedError

    def heartbeat(self, run_id: str) -> bool:
        """Record a sign of life; False when the run is terminal (a hint to stop)."""
        raise NotImplementedError
