"""The run context a task receives: items, cancellation, intermediate summaries, logging."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import select

from taskrun_center.contract import SummaryValidationError, mask_text, normalize_json
from taskrun_center.errors import StorageError
from taskrun_center.lifecycle.write_service import ItemSpec, TaskRunsWriteService
from taskrun_center.runners.errors import RunCancelledError
from taskrun_center.runners.failure import describe_error, masked_traceback
from taskrun_center.runners.item_writer import ItemEvent, ItemWriter
from taskrun_center.runners.result import TaskResult
from taskrun_center.runners.summary import summary_from_result
from taskrun_center.states import RunStatus
from taskrun_center.storage.engine import Database
from taskrun_center.storage.errors import translate_errors
from taskrun_center.storage.models import TaskRun

logger = structlog.get_logger(__name__)

ItemLike = ItemSpec | tuple[str, str] | tuple[str, str, str | None]


@dataclass
class ItemCounts:
    """Items this run's context saw end, counted in the task's process."""

    declared: int = 0
    completed: int = 0
    failed: int = 0


@dataclass
class ItemRecorder:
    """The item being worked on inside ``with ctx.item(...)``.

    Fill ``metrics`` (small numbers for the item row) and ``details`` (larger per-item data);
    both are stored when the block ends. Call ``fail`` to end the item as failed without
    raising.
    """

    item_type: str
    item_key: str
    item_name: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    error_message: str | None = None

    def set_metric(self, key: str, value: Any) -> None:
        """Set one metric of this item."""
        self.metrics[key] = value

    def fail(self, message: str) -> None:
        """End this item as failed with ``message`` (masked before it is stored)."""
        self.error_message = message


class RunContext:
    """The recorder a running task uses for its work: one per run, used from one thread.

    Create it through ``run_task`` or ``record_run``. A task may set ``result`` to its final
    ``TaskResult`` instead of returning one.
    """

    def __init__(
        self,
        *,
        database: Database,
        run_id: str,
        task_key: str,
        trigger_source: str,
        arguments: Mapping[str, Any] | None,
        created_by: str | None,
        writer: ItemWriter,
        cancel_check_interval_seconds: float,
    ) -> None:
        self.database = database
        self.run_id = run_id
        self.task_key = task_key
        self.trigger_source = trigger_source
        self.arguments: dict[str, Any] = dict(arguments or {})
        self.created_by = created_by
        self.result: TaskResult | None = None
        self.counts = ItemCounts()
        self.log = logger.bind(run_id=run_id, task_key=task_key)
        self.cancel_check_interval_seconds = cancel_check_interval_seconds
        self.last_valid_summary: dict[str, Any] | None = None
        self._writer = writer
        self._declared: set[tuple[str, str]] = set()
        self._cancelled = threading.Event()
        self._check_now = threading.Event()
        self._last_check = time.monotonic()

    # Items -------------------------------------------------------------------------------

    def init_items(self, items: Iterable[ItemLike]) -> int:
        """Declare the run's items up front, so progress shows ``done / total`` from the start.

        Returns the number of items declared. Items used later with ``item()`` need not be
        declared; an undeclared item is declared when its block starts.

        Raises:
            DuplicateItemError: an item is given twice or was already declared.
            StorageError: the database failed.
        """
        specs = [_as_spec(item) for item in items]
        self._writer.flush()
        with self.database.transaction("declare items") as session:
            count = TaskRunsWriteService(session).init_items(self.run_id, specs)
        self._declared.update((spec.item_type, spec.item_key) for spec in specs)
        self.counts.declared += len(specs)
        return count

    def flush_items(self) -> None:
        """Wait until every item change made so far is stored.

        Item changes are written in the background within milliseconds; a task calls this
        before it reports progress elsewhere and needs the rows to be there.
        """
        self._writer.flush()

    @contextmanager
    def item(
        self, item_type: str, item_key: str, item_name: str | None = None
    ) -> Iterator[ItemRecorder]:
        """Record the work on one item; an exception inside fails the item, and the run goes on.

        The block's exception is logged with its traceback and stored as the item's masked
        error message; it does not propagate. ``RunCancelledError`` and exceptions that are
        not ``Exception`` (KeyboardInterrupt, SystemExit) do propagate.

        Raises:
            RunCancelledError: the run was cancelled; checked before the block starts.
        """
        self.check_cancelled()
        key = (item_type, item_key)
        if key not in self._declared:
            self._declared.add(key)
            self.counts.declared += 1
            self._writer.put(ItemEvent("declare", item_type, item_key, item_name))
        self._writer.put(ItemEvent("start", item_type, item_key))
        recorder = ItemRecorder(item_type, item_key, item_name)

        try:
            yield recorder
        except RunCancelledError:
            raise
        except Exception as error:
            self._fail_item(recorder, describe_error(error), error)
            return

        if recorder.error_message is not None:
            self._fail_item(recorder, mask_text(recorder.error_message).value, None)
            return
        self._complete_item(recorder)

    def _complete_item(self, recorder: ItemRecorder) -> None:
        try:
            metrics = normalize_json(recorder.metrics) if recorder.metrics else None
            details = normalize_json(recorder.details) if recorder.details else None
        except SummaryValidationError as error:
            # Values that cannot become JSON fail the item instead of losing its end state.
            self._fail_item(recorder, f"item data is not JSON: {error}", None)
            return
        self.counts.completed += 1
        self._writer.put(
            ItemEvent(
                "complete",
                recorder.item_type,
                recorder.item_key,
                metrics=metrics,
                details=details,
            )
        )

    def _fail_item(self, recorder: ItemRecorder, message: str, error: BaseException | None) -> None:
        self.counts.failed += 1
        fields: dict[str, Any] = {"item_type": recorder.item_type, "item_key": recorder.item_key}
        if error is not None:
            fields["traceback"] = masked_traceback(error)
        self.log.warning("item_failed", error=message, **fields)
        try:
            details = normalize_json(recorder.details) if recorder.details else None
        except SummaryValidationError:
            details = None
        self._writer.put(
            ItemEvent(
                "fail",
                recorder.item_type,
                recorder.item_key,
                details=details,
                error_message=message,
            )
        )

    # Cancellation ------------------------------------------------------------------------

    @property
    def cancelled(self) -> bool:
        """True once the run is known to be cancelled; may read the run's status."""
        if self._cancelled.is_set():
            return True
        due = time.monotonic() - self._last_check >= self.cancel_check_interval_seconds
        if due or self._check_now.is_set():
            self._check_now.clear()
            self._last_check = time.monotonic()
            if self._read_status() == RunStatus.CANCELLED:
                self._cancelled.set()
        return self._cancelled.is_set()

    def check_cancelled(self) -> None:
        """Stop the task when its run was cancelled; call it between units of work.

        The run's status is read at most once per ``cancel_check_interval_seconds``, and at
        once after a heartbeat or an item write found the run already ended.

        Raises:
            RunCancelledError: the run was cancelled.
        """
        if self.cancelled:
            raise RunCancelledError(self.run_id, self.task_key)

    def request_status_check(self) -> None:
        """Make the next cancellation check read the run's status (thread-safe)."""
        self._check_now.set()

    def _read_status(self) -> str | None:
        try:
            with translate_errors("read run status"), self.database.session() as session:
                return session.scalar(select(TaskRun.status).where(TaskRun.run_id == self.run_id))
        except StorageError as error:
            # Cancellation is re-checked before the next item, so one failed read only delays it.
            self.log.warning("cancel_check_failed", error=str(error))
            return None

    # Summary -----------------------------------------------------------------------------

    def skip(self, reason: str, **parts: Any) -> TaskResult:
        """Mark the run as skipped with ``reason``; return the result for the task to return."""
        self.result = TaskResult.skip(reason, **parts)
        return self.result

    def write_summary(self, result: TaskResult | Mapping[str, Any]) -> bool:
        """Store an intermediate summary now, so readers see progress before the run ends.

        Returns False when the contract rejects it (logged with the rules) or when the run was
        cancelled; a rejected summary leaves the stored one unchanged.

        Raises:
            StorageError: the database failed.
        """
        try:
            summary = summary_from_result(self.task_key, result)
        except SummaryValidationError as error:
            self.log.warning("summary_rejected", rules=sorted({v.rule for v in error.violations}))
            return False
        with self.database.transaction("write summary") as session:
            stored = TaskRunsWriteService(session).write_summary(self.run_id, summary)
        if stored:
            self.last_valid_summary = summary
        return stored


def _as_spec(item: ItemLike) -> ItemSpec:
    if isinstance(item, ItemSpec):
        return item
    if len(item) == 2:
        return ItemSpec(item[0], item[1])
    return ItemSpec(item[0], item[1], item[2])
