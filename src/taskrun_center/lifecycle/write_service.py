"""The write service: the only code that changes a run's or an item's status.

Unit of work: no method commits. Each method issues its statements on the caller's session; the
caller commits (``Database.transaction()`` does it for you) or rolls back. A method that raises
leaves the session's transaction for the caller to roll back, so nothing is half-written.

Concurrency rules, which hold across processes on SQLite and PostgreSQL:

- A status change is one conditional ``UPDATE ... WHERE status IN (<sources>)`` built from
  ``lifecycle.transitions``; its row count decides the boolean result, so a terminal status
  stays final even when a cancel and a completion race.
- Run counters move in the same transaction with ``SET x = x + 1``; finalizing recounts them
  with one aggregate query over the items.
- A method that changes items and their run updates the items first and the run second. With
  one lock order, two writers cannot wait for each other in a cycle, which PostgreSQL would
  resolve by aborting one of them as a deadlock.
- An item operation costs at most two statements whatever the size of the run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import ColumnElement, Insert, exists, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from taskrun_center.config import ItemLimits, get_settings
from taskrun_center.contract import (
    SummaryValidationError,
    build_base_summary,
    check_summary,
    default_registry,
)
from taskrun_center.errors import (
    DuplicateItemError,
    InvalidValueError,
    ItemNotFoundError,
    RunNotFoundError,
)
from taskrun_center.lifecycle import write_statements
from taskrun_center.lifecycle.item_data import (
    PreparedJson,
    PreparedText,
    prepare_json,
    prepare_text,
)
from taskrun_center.lifecycle.query_reasons import fill
from taskrun_center.lifecycle.transitions import check_run_transition, run_sources
from taskrun_center.lifecycle.value_reasons import (
    COMPLETION_NOT_DECLARED,
    NOT_TERMINAL_STATUS,
    OTHER_TASK,
    RUN_ID_TAKEN,
)
from taskrun_center.lifecycle.write_inputs import (
    ItemSpec,
    check_optional,
    check_text,
    cut_name,
    item_rows,
    reject_control_characters,
    reject_repeated_keys,
    reject_secrets,
    run_id_value,
    start_status_value,
    trigger_source_value,
)
from taskrun_center.states import (
    RUN_IN_PROGRESS,
    RUN_TERMINAL,
    ItemStatus,
    RunStatus,
    TriggerSource,
)
from taskrun_center.storage.driver import compiled_for
from taskrun_center.storage.errors import translate_errors
from taskrun_center.storage.models import TaskRun, TaskRunItem
from taskrun_center.storage.types import utcnow
from taskrun_center.storage.unit_of_work import CallerWork

logger = structlog.get_logger(__name__)

# Rows per INSERT of init_items: large enough to amortise round trips, small enough to keep
# one statement's parameters far below PostgreSQL's limit of 65,535 bind parameters.
INSERT_BATCH_SIZE = 1000

_IN_PROGRESS = tuple(sorted(status.value for status in RUN_IN_PROGRESS))
_UNFINISHED_ITEMS = (ItemStatus.PENDING.value, ItemStatus.RUNNING.value)

@dataclass(frozen=True, slots=True)
class _RunState:
    run_id: str
    task_key: str
    status: RunStatus
    started_at: datetime | None
    progress_total: int


@dataclass(frozen=True, slots=True)
class _ItemCounts:
    total: int
    completed: int
    failed: int


@dataclass(frozen=True, slots=True)
class ClaimedRun:
    """A run that a worker moved from pending to running, as the claim stored it.

    It carries what the worker's recorder needs, so the run is not read again after the claim.
    """

    run_id: str
    task_key: str
    trigger_source: str
    started_at: datetime | None

    @classmethod
    def of(cls, run: TaskRun) -> ClaimedRun:
        """Take the fields of a loaded run."""
        return cls(run.run_id, run.task_key, str(run.trigger_source), run.started_at)


@dataclass(frozen=True, slots=True)
class ItemCompletion:
    """One item to mark completed with ``complete_items``."""

    item_type: str
    item_key: str
    metrics: Mapping[str, Any] | None = None
    details: Mapping[str, Any] | None = None


class TaskRunsWriteService:
    """Writes runs and items; see the module docstring for the unit-of-work rule.

    ``item_limits`` caps item data and error messages (``TASKRUN_ITEM_LIMITS__*`` by default).
    With ``defer_counters`` the run counters' increments wait in memory until
    ``apply_deferred_counters``, still inside the caller's transaction. A finalize that ends
    the run recounts its items and drops them, so a transaction that ends the run saves the
    counter UPDATEs. The caller must call ``apply_deferred_counters`` before it commits.
    """

    def __init__(
        self,
        session: Session | Connection,
        *,
        item_limits: ItemLimits | None = None,
        defer_counters: bool = False,
    ) -> None:
        # A Core connection (``Database.write_connection()``) serves the item operations
        # directly; the other methods open a session on it when they first need one.
        self._work = CallerWork(session)
        self.item_limits = item_limits or get_settings().item_limits
        self._deferred: dict[str, dict[str, int]] | None = {} if defer_counters else None

    @property
    def session(self) -> Session:
        """The ORM session the methods write through (the caller's, or one on its connection)."""
        return self._work.session

    # --- runs -----------------------------------------------------------------------------

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
        """Insert a run (running, or pending when queued) with a valid summary; return it.

        Without ``summary_json`` the run stores the task type's base envelope. ``started_at`` is
        now for a running run; a pending run has none until a worker picks it up, and its queue
        time is ``created_at``. Does not commit.

        Raises:
            SummaryValidationError: ``summary_json`` breaks the contract (``ext.type`` included).
            InvalidValueError: a field is too long or unknown, or ``run_id`` is taken or no UUID.
            StorageError: the database failed.
        """
        with self._operation("start_run"):
            run = self._new_run(
                task_key=task_key,
                task_name=task_name,
                task_category=task_category,
                trigger_source=trigger_source_value(trigger_source),
                created_by=created_by,
                result_url=result_url,
                run_id=run_id_value(run_id),
                status=start_status_value(status),
            )
            run.summary_json, run.is_skipped = self._checked_summary(
                run.run_id, task_key, summary_json
            )
            if run_id is not None:
                self._reject_taken_run_id(run.run_id)
            self.session.add(run)
            self.session.flush()
        logger.info(
            "run_started",
            run_id=run.run_id,
            task_key=task_key,
            status=run.status,
            trigger_source=run.trigger_source,
        )
        return run

    def resolve_or_start_run(self, *, run_id: str | None, task_key: str, **start: Any) -> TaskRun:
        """Return the run with ``run_id`` (moving pending to running) or start a new one.

        A run that already ended is returned as it is, and the caller should stop when its
        status is terminal. ``start`` contains the other ``start_run`` arguments. Does not commit.

        Raises:
            RunNotFoundError: ``run_id`` is given but no run has it.
            InvalidValueError: the run belongs to another task key.
            SummaryValidationError, StorageError: as for ``start_run``.
        """
        if run_id is None:
            return self.start_run(task_key=task_key, **start)

        with self._operation("resolve_or_start_run"):
            run = self._load_run(run_id)
            _check_task_key(run_id, run.task_key, task_key)
            if run.status == RunStatus.PENDING.value:
                # Loaded again whether or not this call moved it: another writer may have.
                self._pick_up(run_id, task_key)
                return self._load_run(run_id)
            return run

    def claim_run(self, run_id: str, task_key: str) -> RunStatus | None:
        """Move the pending run ``run_id`` to running for its worker; None when this call did.

        The conditional UPDATE is the claim: of two workers handed the same run, only one
        matches the pending row. Returns the run's status when it was not pending, which
        changes nothing. Does not commit.

        Raises:
            RunNotFoundError: no run has ``run_id``.
            InvalidValueError: the pending run belongs to another task key.
            StorageError: the database failed.
        """
        claimed = self.claim_pending_run(run_id, task_key)
        return None if isinstance(claimed, ClaimedRun) else claimed

    def claim_pending_run(self, run_id: str, task_key: str) -> ClaimedRun | RunStatus:
        """Claim the pending run ``run_id`` as ``claim_run`` does; return the claimed run.

        Returns the run's status instead when it was not pending. The claim's UPDATE returns
        the stored trigger source, so the claim stays one statement. Does not commit.

        Raises:
            RunNotFoundError: no run has ``run_id``.
            InvalidValueError: the pending run belongs to another task key.
            StorageError: the database failed.
        """
        with self._operation("claim_run"):
            now = utcnow()
            statement = (
                update(TaskRun)
                .where(
                    TaskRun.run_id == run_id,
                    TaskRun.task_key == task_key,
                    TaskRun.status == RunStatus.PENDING.value,
                )
                .values(status=RunStatus.RUNNING.value, started_at=now, updated_at=now)
                .returning(TaskRun.trigger_source)
            )
            trigger_source = self._connection().execute(statement).scalar_one_or_none()
            if trigger_source is not None:
                logger.debug("run_picked_up", run_id=run_id, task_key=task_key)
                return ClaimedRun(run_id, task_key, str(trigger_source), now)
            state = self._run_state(run_id)
            if state.status is RunStatus.PENDING:
                _check_task_key(run_id, state.task_key, task_key)
            return state.status

    def write_summary(self, run_id: str, summary_json: Mapping[str, Any]) -> bool:
        """Validate and store the summary; False (summary kept) when the run is cancelled.

        Runs in any other status accept a new summary, so a finished run can be corrected.
        Does not commit.

        Raises:
            RunNotFoundError: no run has ``run_id``.
            SummaryValidationError: the summary breaks the contract or ``ext.type != task_key``.
            StorageError: the database failed.
        """
        with self._operation("write_summary"):
            state = self._run_state(run_id)
            summary, is_skipped = self._checked_summary(run_id, state.task_key, summary_json)
            statement = (
                update(TaskRun)
                .where(TaskRun.run_id == run_id, TaskRun.status != RunStatus.CANCELLED.value)
                .values(summary_json=summary, is_skipped=is_skipped, updated_at=utcnow())
            )
            written = self._execute_update(statement) == 1

        if not written:
            logger.info("summary_ignored", run_id=run_id, task_key=state.task_key,
                        reason="run is cancelled")
        return written

    def finalize_run(self, run_id: str) -> RunStatus | None:
        """Recount from items and end the run; None when it was already terminal.

        The run ends failed when any item failed, else completed. Does not commit.

        Raises:
            RunNotFoundError: no run has ``run_id``.
            StorageError: the database failed.
        """
        with self._operation("finalize_run"):
            return self._finish_run(run_id, requested=None, error_message=None)

    def finalize_run_with_summary(
        self,
        run_id: str,
        summary_json: Mapping[str, Any] | None,
        *,
        status: RunStatus | None = None,
        error_message: str | None = None,
        claimed: ClaimedRun | None = None,
    ) -> RunStatus | None:
        """Write the summary and end the run, optionally with a given terminal status.

        Returns the final status, or None when the run was already terminal; such a run keeps
        its summary. ``claimed`` is the run as its worker claimed it: with its task key and
        start time known, one UPDATE recounts the items and ends the run, and the run is read
        first only when that UPDATE matches no row. Does not commit.

        Raises:
            RunNotFoundError: no run has ``run_id``.
            InvalidValueError: ``status`` is not a terminal status.
            SummaryValidationError: the summary breaks the contract.
            StorageError: the database failed.
        """
        if status is not None and status not in RUN_TERMINAL:
            raise InvalidValueError("status", fill(NOT_TERMINAL_STATUS, status=repr(status)))
        requested = RunStatus(status) if status is not None else None
        with self._operation("finalize_run_with_summary"):
            final = None
            if claimed is not None and claimed.run_id == run_id:
                final = self._finish_claimed(claimed, summary_json, requested, error_message)
            if final is None:
                state, counts = self._state_and_counts(run_id)
                summary_values: dict[str, Any] = {}
                if summary_json is not None and state.status not in RUN_TERMINAL:
                    summary, is_skipped = self._checked_summary(run_id, state.task_key,
                                                                summary_json)
                    summary_values = {"summary_json": summary, "is_skipped": is_skipped}
                # The summary goes into the same conditional UPDATE that ends the run. A run
                # that ended already, before or during this call, keeps its summary: this call
                # is then a no-op, not a correction.
                final = self._finish_state(
                    state, counts, requested=requested, error_message=error_message,
                    extra=summary_values,
                )
        return final

    def mark_run_failed(
        self, run_id: str, error_message: str, *, ended_at: datetime | None = None
    ) -> bool:
        """Fail the run and its pending and running items; False when already terminal.

        Completed and cancelled items keep their status; the failed items get the run's message.
        ``ended_at`` sets the run's ``completed_at`` and ``duration_ms`` (the reaper passes the
        last activity); it defaults to now. Does not commit.

        Raises:
            RunNotFoundError: no run has ``run_id``.
            StorageError: the database failed.
        """
        with self._operation("mark_run_failed"):
            message = self._prepare_message(run_id, None, error_message)
            ended = self._end_run_with_items(
                run_id,
                run_status=RunStatus.FAILED,
                item_status=ItemStatus.FAILED,
                item_values={"error_message": message},
                run_error=message,
                ended_at=ended_at,
            )
        return ended

    def cancel_run(self, run_id: str) -> bool:
        """Cancel a pending or running run and its unfinished items; False when terminal.

        Completed and failed items keep their status. Does not commit.

        Raises:
            RunNotFoundError: no run has ``run_id``.
            StorageError: the database failed.
        """
        with self._operation("cancel_run"):
            return self._end_run_with_items(
                run_id,
                run_status=RunStatus.CANCELLED,
                item_status=ItemStatus.CANCELLED,
                item_values={},
                run_error=None,
            )

    def heartbeat(self, run_id: str) -> bool:
        """Record a sign of life; False when the run is terminal (a hint to stop).

        Does not commit.

        Raises:
            RunNotFoundError: no run has ``run_id``.
            StorageError: the database failed.
        """
        with self._operation("heartbeat"):
            now = utcnow()
            statement = (
                update(TaskRun)
                .where(TaskRun.run_id == run_id, TaskRun.status.in_(_IN_PROGRESS))
                .values(heartbeat_at=now, updated_at=now)
            )
            if self._execute_update(statement) == 1:
                return True
            self._run_state(run_id)
            return False

    def apply_deferred_counters(self) -> None:
        """Add the counter increments that ``defer_counters`` kept back; does not commit.

        Raises:
            StorageError: the database failed.
        """
        if not self._deferred:
            return
        with self._operation("apply_deferred_counters"):
            for run_id, amounts in self._deferred.items():
                self._add_to_counters_now(run_id, amounts)
        self._deferred.clear()

    # --- items ----------------------------------------------------------------------------

    def init_items(
        self,
        run_id: str,
        items: Sequence[ItemSpec],
        *,
        completions: Sequence[ItemCompletion] = (),
    ) -> int:
        """Insert pending items in batches, add them to ``progress_total``; return the count.

        ``completions`` names items of ``items`` that are already done. They are inserted
        completed, with their metrics and details, as ``complete_items`` would leave them, and
        ``progress_completed`` moves in the same UPDATE as ``progress_total``. So a writer that
        learns of an item only when it ends pays no UPDATE per item. A run that already ended
        gets no items and the call returns 0. Does not commit.

        Raises:
            RunNotFoundError: no run has ``run_id``.
            DuplicateItemError: a (type, key) pair is given twice or the run already has it.
            InvalidValueError: an item type, key or name is empty or too long, or a completion
                names an item that is not in ``items`` or that another completion names.
            SummaryValidationError: metrics or details contain a value with no JSON form.
            StorageError: the database failed.
        """
        rows = item_rows(run_id, items)
        reject_repeated_keys(run_id, rows)
        completed = self._mark_completed(run_id, rows, completions)

        with self._operation("init_items"):
            state = self._run_state(run_id)
            if state.status in RUN_TERMINAL:
                # A run ended meanwhile (cancelled from outside, reaped), so this is expected.
                logger.info("items_ignored", run_id=run_id, task_key=state.task_key,
                            status=state.status.value, count=len(rows))
                return 0
            if state.progress_total > 0:
                self._reject_existing_keys(run_id, rows)
            pending = [row for row in rows if row["status"] == ItemStatus.PENDING.value]
            if pending:
                self._insert_items(run_id, write_statements.insert_items(), pending)
            for columns, group in completed.items():
                statement = write_statements.insert_completed_items(columns)
                self._insert_items(run_id, statement, group)
            self._add_to_counters(run_id, progress_total=len(rows),
                                  progress_completed=len(rows) - len(pending))

        logger.debug("items_initialized", run_id=run_id, task_key=state.task_key, count=len(rows))
        return len(rows)

    def start_item(self, run_id: str, item_type: str, item_key: str) -> bool:
        """Move a pending item to running; False when it is already terminal.

        Starting a running item again keeps its first start time and returns True. An item of a
        run that ended does not change. Does not commit.

        Raises:
            RunNotFoundError, ItemNotFoundError: the run or the item does not exist.
            StorageError: the database failed.
        """
        with self._operation("start_item"):
            return self._change_item(
                run_id, item_type, item_key, ItemStatus.RUNNING, values={}, counter=None
            )

    def complete_item(
        self,
        run_id: str,
        item_type: str,
        item_key: str,
        *,
        metrics: Mapping[str, Any] | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> bool:
        """Mark an item completed with its metrics and details; False when already terminal.

        ``None`` leaves a field as it is. Does not commit.

        Raises:
            RunNotFoundError, ItemNotFoundError: the run or the item does not exist.
            SummaryValidationError: metrics or details contain a value with no JSON form.
            StorageError: the database failed.
        """
        values = self._item_json_values(run_id, item_key, metrics=metrics, details=details)
        with self._operation("complete_item"):
            return self._change_item(
                run_id,
                item_type,
                item_key,
                ItemStatus.COMPLETED,
                values=values,
                counter="progress_completed",
            )

    def complete_items(self, run_id: str, completions: Sequence[ItemCompletion]) -> int:
        """Mark many items completed at once; return how many changed.

        The same rules as ``complete_item`` apply to each item, but items with the same data
        columns share one executemany UPDATE and the counter moves once, so a runner that
        records items in batches pays a few statements per batch. Items already terminal are
        left as they are and not counted. Does not commit.

        Raises:
            SummaryValidationError: metrics or details contain a value with no JSON form.
            StorageError: the database failed.
        """
        now = utcnow()
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for completion in completions:
            values = self._item_json_values(
                run_id, completion.item_key, metrics=completion.metrics, details=completion.details
            )
            parameters = {
                "match_run_id": run_id,
                "match_item_type": completion.item_type,
                "match_item_key": completion.item_key,
                "now": now,
                **{f"new_{column}": value for column, value in values.items()},
            }
            groups.setdefault(tuple(sorted(values)), []).append(parameters)

        changed = 0
        with self._operation("complete_items"):
            for columns, rows in groups.items():
                statement = write_statements.change_item(ItemStatus.COMPLETED, columns)
                changed += int(self._connection().execute(statement, rows).rowcount)
            if changed:
                self._add_to_counter(run_id, "progress_completed", changed)
        return changed

    def fail_item(
        self,
        run_id: str,
        item_type: str,
        item_key: str,
        *,
        error_message: str,
        details: Mapping[str, Any] | None = None,
    ) -> bool:
        """Mark an item failed with a masked error message; False when already terminal.

        Does not commit.

        Raises:
            RunNotFoundError, ItemNotFoundError: the run or the item does not exist.
            SummaryValidationError: details contain a value with no JSON form.
            StorageError: the database failed.
        """
        values = self._item_json_values(run_id, item_key, metrics=None, details=details)
        values["error_message"] = self._prepare_message(run_id, item_key, error_message)
        with self._operation("fail_item"):
            return self._change_item(
                run_id,
                item_type,
                item_key,
                ItemStatus.FAILED,
                values=values,
                counter="progress_failed",
            )

    def cancel_item(self, run_id: str, item_type: str, item_key: str) -> bool:
        """Cancel a pending or running item; False when already terminal.

        Does not commit.

        Raises:
            RunNotFoundError, ItemNotFoundError: the run or the item does not exist.
            StorageError: the database failed.
        """
        with self._operation("cancel_item"):
            return self._change_item(
                run_id, item_type, item_key, ItemStatus.CANCELLED, values={}, counter=None
            )

    def fail_unfinished_items(self, run_id: str, error_message: str) -> int:
        """Fail the pending and running items of a run in progress; return how many changed.

        For a runner that ends a run after some item changes could not be stored: those
        items would otherwise stay pending or running in a finished run. The run is left for
        ``finalize_run*``, which recounts the counters. Does not commit.

        Raises:
            StorageError: the database failed.
        """
        with self._operation("fail unfinished items"):
            message = self._prepare_message(run_id, None, error_message)
            now = utcnow()
            return self._execute_update(
                update(TaskRunItem)
                .where(TaskRunItem.run_id == run_id,
                       TaskRunItem.status.in_(_UNFINISHED_ITEMS), _run_in_progress(run_id))
                .values(status=ItemStatus.FAILED.value, completed_at=now, updated_at=now,
                        error_message=message)
            )

    # --- statements -----------------------------------------------------------------------

    @contextmanager
    def _operation(self, name: str) -> Iterator[None]:
        with translate_errors(name):
            yield

    def _execute_update(self, statement: Any) -> int:
        # The session's identity map is not synchronised: methods that return a run load it
        # again with populate_existing, and skipping the sync keeps updates to one statement.
        result = self.session.execute(
            statement, execution_options={"synchronize_session": False}
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def _execute_core(self, statement: Any, parameters: dict[str, Any]) -> int:
        # The ORM's statement handling and the compiled cache lookup cost more than SQLite takes
        # to run a single-row statement, so the per-item path sends precompiled SQL.
        connection = self._connection()
        compiled = compiled_for(statement, connection.dialect)
        return compiled.execute(connection, parameters)

    def _connection(self) -> Connection:
        return self._work.connection()

    def _run_state(self, run_id: str) -> _RunState:
        row = self._connection().execute(
            write_statements.run_state(), {"match_run_id": run_id}
        ).one_or_none()
        if row is None:
            raise RunNotFoundError(run_id)
        return _RunState(run_id, row.task_key, RunStatus(row.status), row.started_at,
                         row.progress_total)

    def _load_run(self, run_id: str) -> TaskRun:
        run = self.session.scalars(
            select(TaskRun)
            .where(TaskRun.run_id == run_id)
            .execution_options(populate_existing=True)
        ).one_or_none()
        if run is None:
            raise RunNotFoundError(run_id)
        return run

    def _new_run(
        self, *, task_key: str, task_name: str | None, task_category: str | None, **fields: Any
    ) -> TaskRun:
        check_text("task_key", task_key, 128)
        task_type = default_registry.get(task_key)
        name = task_name or (task_type.name_zh if task_type else task_key)
        category = task_category or (task_type.category if task_type else "other")
        check_text("task_category", category, 64)
        if task_category:
            # A declared task's category is code; one passed per run (taskrun exec) is input.
            reject_secrets("task_category", [task_category])
            reject_control_characters("task_category", task_category)
        check_optional("created_by", fields["created_by"], 128)
        check_optional("result_url", fields["result_url"], 2048)
        now = utcnow()
        return TaskRun(
            task_key=task_key,
            task_name=cut_name(name),
            task_category=category,
            started_at=now if fields["status"] == RunStatus.RUNNING.value else None,
            progress_total=0,
            progress_completed=0,
            progress_failed=0,
            created_at=now,
            updated_at=now,
            **fields,
        )

    def _checked_summary(
        self, run_id: str, task_key: str, summary_json: Mapping[str, Any] | None
    ) -> tuple[dict[str, Any], bool]:
        if summary_json is None:
            summary = build_base_summary(task_key)
        else:
            checked = check_summary(summary_json, task_key=task_key)
            summary = checked.summary
            if checked.warnings:
                logger.warning(
                    "summary_warnings",
                    run_id=run_id,
                    task_key=task_key,
                    size_bytes=checked.size_bytes,
                    rules=sorted({warning.rule for warning in checked.warnings}),
                )
        flags = summary.get("common", {}).get("flags", {})
        return summary, bool(flags.get("skipped", False))

    def _reject_taken_run_id(self, run_id: str) -> None:
        taken = self.session.execute(
            select(exists().where(TaskRun.run_id == run_id))
        ).scalar_one()
        if taken:
            raise InvalidValueError("run_id", fill(RUN_ID_TAKEN, run_id=run_id))

    def _pick_up(self, run_id: str, task_key: str) -> None:
        now = utcnow()
        statement = (
            update(TaskRun)
            .where(TaskRun.run_id == run_id, TaskRun.status.in_(run_sources(RunStatus.RUNNING)))
            .values(status=RunStatus.RUNNING.value, started_at=now, updated_at=now)
        )
        if self._execute_update(statement) == 1:
            logger.debug("run_picked_up", run_id=run_id, task_key=task_key)

    def _state_and_counts(self, run_id: str) -> tuple[_RunState, _ItemCounts]:
        # One SELECT in place of two: finalizing needs both, read in one snapshot.
        row = self._connection().execute(
            write_statements.run_state_with_counts(), {"match_run_id": run_id}
        ).one_or_none()
        if row is None:
            raise RunNotFoundError(run_id)
        state = _RunState(run_id, row[0], RunStatus(row[1]), row[2], row[3])
        return state, _ItemCounts(int(row[4]), int(row[5]), int(row[6]))

    def _count_items(self, run_id: str) -> _ItemCounts:
        row = self._connection().execute(
            write_statements.count_items(), {"match_run_id": run_id}
        ).one()
        return _ItemCounts(int(row[0]), int(row[1]), int(row[2]))

    def _finish_run(
        self, run_id: str, *, requested: RunStatus | None, error_message: str | None
    ) -> RunStatus | None:
        state, counts = self._state_and_counts(run_id)
        return self._finish_state(
            state, counts, requested=requested, error_message=error_message, extra={}
        )

    def _finish_state(
        self,
        state: _RunState,
        counts: _ItemCounts,
        *,
        requested: RunStatus | None,
        error_message: str | None,
        extra: dict[str, Any],
    ) -> RunStatus | None:
        run_id = state.run_id
        if state.status in RUN_TERMINAL:
            logger.info("run_already_ended", run_id=run_id, task_key=state.task_key,
                        status=state.status.value)
            return None

        final = requested or (RunStatus.FAILED if counts.failed else RunStatus.COMPLETED)
        check_run_transition(run_id, state.status, final)
        values = {**self._end_values(state, counts), **extra}
        if error_message is not None:
            values["error_message"] = self._prepare_message(run_id, None, error_message)

        statement = (
            update(TaskRun)
            .where(TaskRun.run_id == run_id, TaskRun.status.in_(run_sources(final)))
            .values(status=final.value, **values)
        )
        if self._execute_update(statement) != 1:
            return None
        self._drop_deferred(run_id)
        logger.debug("run_finished", run_id=run_id, task_key=state.task_key, status=final.value,
                    completed=counts.completed, failed=counts.failed, total=counts.total)
        return final

    def _finish_claimed(
        self,
        claimed: ClaimedRun,
        summary_json: Mapping[str, Any] | None,
        requested: RunStatus | None,
        error_message: str | None,
    ) -> RunStatus | None:
        # Returns None when the one-statement finish does not apply. The caller then reads the
        # run first, which explains the outcome: ended already, not found, another task key or
        # a summary that breaks the contract.
        run_id = claimed.run_id
        values: dict[str, Any] = {}
        if summary_json is not None:
            try:
                summary, is_skipped = self._checked_summary(run_id, claimed.task_key,
                                                            summary_json)
            except SummaryValidationError:
                return None
            values.update(summary_json=summary, is_skipped=is_skipped)
        now = utcnow()
        values.update(completed_at=now, updated_at=now,
                      duration_ms=_duration_ms(claimed.started_at, now))
        if error_message is not None:
            values["error_message"] = self._prepare_message(run_id, None, error_message)

        if requested is None:
            # Both outcomes of the item rule must be reachable from the run's status.
            failed_sources = set(run_sources(RunStatus.FAILED))
            sources = tuple(sorted(failed_sources & set(run_sources(RunStatus.COMPLETED))))
        else:
            sources = run_sources(requested)
        columns = tuple(sorted(values))
        statement = write_statements.finish_run(requested is not None, columns, sources)
        parameters = {f"new_{column}": value for column, value in values.items()}
        parameters.update(match_run_id=run_id, match_task_key=claimed.task_key)
        if requested is not None:
            parameters["new_status"] = requested.value
        row = self._connection().execute(statement, parameters).one_or_none()
        if row is None:
            return None
        final = RunStatus(row.status)
        self._drop_deferred(run_id)
        logger.debug("run_finished", run_id=run_id, task_key=claimed.task_key, status=final.value,
                     completed=row.progress_completed, failed=row.progress_failed,
                     total=row.progress_total)
        return final

    def _end_values(self, state: _RunState, counts: _ItemCounts | None) -> dict[str, Any]:
        now = utcnow()
        values: dict[str, Any] = {
            "completed_at": now,
            "duration_ms": _duration_ms(state.started_at, now),
            "updated_at": now,
        }
        if counts is not None:
            values.update(
                progress_total=counts.total,
                progress_completed=counts.completed,
                progress_failed=counts.failed,
            )
        return values

    def _end_run_with_items(
        self,
        run_id: str,
        *,
        run_status: RunStatus,
        item_status: ItemStatus,
        item_values: dict[str, Any],
        run_error: str | None,
        ended_at: datetime | None = None,
    ) -> bool:
        state = self._run_state(run_id)
        if state.status in RUN_TERMINAL:
            logger.info("run_already_ended", run_id=run_id, task_key=state.task_key,
                        status=state.status.value, requested=run_status.value)
            return False

        # A savepoint undoes the item changes when another writer ends the run between the
        # item UPDATE and the run UPDATE, so a run that ended otherwise keeps its items.
        savepoint = self.session.begin_nested()
        # The items are locked in id order first, as the item writer does for its batches, so
        # two transactions that each change many items of one run cannot deadlock.
        self.session.execute(
            select(TaskRunItem.id)
            .where(TaskRunItem.run_id == run_id, TaskRunItem.status.in_(_UNFINISHED_ITEMS))
            .order_by(TaskRunItem.id)
            .with_for_update()
        ).all()
        now = utcnow()
        items_changed = self._execute_update(
            update(TaskRunItem)
            .where(
                TaskRunItem.run_id == run_id,
                TaskRunItem.status.in_(_UNFINISHED_ITEMS),
                _run_in_progress(run_id),
            )
            .values(status=item_status.value, completed_at=now, updated_at=now, **item_values)
        )
        counts = self._count_items(run_id) if item_status is ItemStatus.FAILED else None
        values = self._end_values(state, counts)
        if ended_at is not None:
            values["completed_at"] = ended_at
            values["duration_ms"] = _duration_ms(state.started_at, ended_at)
        if run_error is not None:
            values["error_message"] = run_error
        ended = self._execute_update(
            update(TaskRun)
            .where(TaskRun.run_id == run_id, TaskRun.status.in_(run_sources(run_status)))
            .values(status=run_status.value, **values)
        )
        if ended != 1:
            savepoint.rollback()
            return False
        savepoint.commit()
        if counts is not None:
            self._drop_deferred(run_id)

        logger.info(f"run_{run_status.value}", run_id=run_id, task_key=state.task_key,
                    items_changed=items_changed)
        return True

    def _change_item(
        self,
        run_id: str,
        item_type: str,
        item_key: str,
        target: ItemStatus,
        *,
        values: dict[str, Any],
        counter: str | None,
    ) -> bool:
        statement = write_statements.change_item(target, tuple(sorted(values)))
        parameters = {
            "match_run_id": run_id,
            "match_item_type": item_type,
            "match_item_key": item_key,
            "now": utcnow(),
            **{f"new_{column}": value for column, value in values.items()},
        }
        if self._execute_core(statement, parameters) == 1:
            if counter is not None:
                self._add_to_counter(run_id, counter, 1)
            return True

        self._explain_unchanged(run_id, item_type, item_key, target)
        return False

    def _explain_unchanged(
        self, run_id: str, item_type: str, item_key: str, target: ItemStatus
    ) -> None:
        row = self._connection().execute(
            select(TaskRun.status, TaskRun.task_key, TaskRunItem.status)
            .select_from(TaskRun)
            .outerjoin(
                TaskRunItem,
                (TaskRunItem.run_id == TaskRun.run_id)
                & (TaskRunItem.item_type == item_type)
                & (TaskRunItem.item_key == item_key),
            )
            .where(TaskRun.run_id == run_id)
        ).one_or_none()
        if row is None:
            raise RunNotFoundError(run_id)
        run_status, task_key, item_status = row
        if item_status is None:
            raise ItemNotFoundError(run_id, item_type, item_key)
        logger.info("item_change_ignored", run_id=run_id, task_key=task_key, item_type=item_type,
                    item_key=item_key, item_status=item_status, run_status=run_status,
                    requested=target.value)

    def _drop_deferred(self, run_id: str) -> None:
        # Called when a statement has set the run's counters from a recount of its items,
        # which includes every increment kept back.
        if self._deferred is not None:
            self._deferred.pop(run_id, None)

    def _add_to_counter(self, run_id: str, counter: str, amount: int) -> None:
        self._add_to_counters(run_id, **{counter: amount})

    def _add_to_counters(self, run_id: str, **amounts: int) -> None:
        if self._deferred is not None:
            deferred = self._deferred.setdefault(run_id, {})
            for column, amount in amounts.items():
                deferred[column] = deferred.get(column, 0) + amount
            return
        self._add_to_counters_now(run_id, amounts)

    def _add_to_counters_now(self, run_id: str, amounts: Mapping[str, int]) -> None:
        # Counters that do not move stay out of the statement.
        moved = {column: amount for column, amount in amounts.items() if amount}
        if not moved:
            return
        parameters: dict[str, Any] = {"match_run_id": run_id, "now": utcnow()}
        if len(moved) == 1:
            ((column, amount),) = moved.items()
            parameters["amount"] = amount
            self._execute_core(write_statements.add_to_counter(column), parameters)
            return
        parameters.update({f"add_{column}": amount for column, amount in moved.items()})
        statement = write_statements.add_to_counters(tuple(sorted(moved)))
        self._execute_core(statement, parameters)

    def _mark_completed(
        self,
        run_id: str,
        rows: list[dict[str, Any]],
        completions: Sequence[ItemCompletion],
    ) -> dict[tuple[str, ...], list[dict[str, Any]]]:
        # Turns the rows of completed items into completed rows, in place, and groups them by
        # their data columns: one INSERT statement serves each group.
        by_key = {(row["item_type"], row["item_key"]): row for row in rows}
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for completion in completions:
            row = by_key.get((completion.item_type, completion.item_key))
            if row is None or row["status"] != ItemStatus.PENDING.value:
                item = f"{completion.item_type}/{completion.item_key}"
                raise InvalidValueError("completions", fill(COMPLETION_NOT_DECLARED, item=item))
            values = self._item_json_values(
                run_id, completion.item_key, metrics=completion.metrics, details=completion.details
            )
            row.update(status=ItemStatus.COMPLETED.value, started_at=row["created_at"],
                       completed_at=row["created_at"], **values)
            groups.setdefault(tuple(sorted(values)), []).append(row)
        return groups

    def _reject_existing_keys(self, run_id: str, rows: list[dict[str, Any]]) -> None:
        existing = {
            (item_type, item_key)
            for item_type, item_key in self.session.execute(
                select(TaskRunItem.item_type, TaskRunItem.item_key).where(
                    TaskRunItem.run_id == run_id
                )
            )
        }
        clashes = [(row["item_type"], row["item_key"]) for row in rows
                   if (row["item_type"], row["item_key"]) in existing]
        if clashes:
            raise DuplicateItemError(run_id, clashes)

    def _insert_items(self, run_id: str, statement: Insert, rows: list[dict[str, Any]]) -> None:
        try:
            for start in range(0, len(rows), INSERT_BATCH_SIZE):
                # Precompiled executemany: the ORM's bulk insert adds no rule here, and the
                # batch's one timestamp is converted once instead of twice per row.
                connection = self._connection()
                compiled = compiled_for(statement, connection.dialect)
                compiled.execute_many(connection, rows[start : start + INSERT_BATCH_SIZE])
        except sa_exc.IntegrityError as error:
            if "unique" not in str(error.orig).lower():
                raise
            # Another writer declared the same keys between the check and the insert.
            raise DuplicateItemError(run_id, []) from error

    # --- item data ------------------------------------------------------------------------

    def _item_json_values(
        self,
        run_id: str,
        item_key: str,
        *,
        metrics: Mapping[str, Any] | None,
        details: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        limits = self.item_limits
        if metrics is not None:
            prepared = prepare_json(metrics, max_bytes=limits.max_metrics_bytes)
            values["metrics_json"] = _report_json(run_id, item_key, "metrics_json", prepared)
        if details is not None:
            prepared = prepare_json(details, max_bytes=limits.max_details_bytes)
            values["details_json"] = _report_json(run_id, item_key, "details_json", prepared)
        return values

    def _prepare_message(self, run_id: str, item_key: str | None, message: str) -> str | None:
        prepared = prepare_text(message, max_chars=self.item_limits.max_error_chars)
        _report_text(run_id, item_key, prepared)
        return prepared.value


# --- module helpers -------------------------------------------------------------------------


def _check_task_key(run_id: str, actual: str, expected: str) -> None:
    if actual != expected:
        raise InvalidValueError("task_key", fill(OTHER_TASK, run_id=run_id, actual=repr(actual),
                                                 expected=repr(expected)))


def _run_in_progress(run_id: str) -> ColumnElement[bool]:
    return exists().where(TaskRun.run_id == run_id, TaskRun.status.in_(_IN_PROGRESS))


def _report_json(
    run_id: str, item_key: str, field: str, prepared: PreparedJson
) -> dict[str, Any] | None:
    if prepared.masked:
        logger.warning("item_data_masked", run_id=run_id, item_key=item_key, field=field,
                       count=prepared.masked)
    if prepared.truncated:
        logger.warning("item_data_truncated", run_id=run_id, item_key=item_key, field=field,
                       original_bytes=prepared.original_bytes)
    return prepared.value


def _report_text(run_id: str, item_key: str | None, prepared: PreparedText) -> None:
    if prepared.masked:
        logger.warning("item_data_masked", run_id=run_id, item_key=item_key,
                       field="error_message", count=prepared.masked)
    if prepared.truncated:
        logger.warning("item_data_truncated", run_id=run_id, item_key=item_key,
                       field="error_message", original_chars=prepared.original_chars)


def _duration_ms(started_at: datetime | None, ended_at: datetime) -> int | None:
    if started_at is None:
        return None
    # Both are aware datetimes, so the session time zone of the database plays no part.
    return max(0, int((ended_at - started_at).total_seconds() * 1000))
