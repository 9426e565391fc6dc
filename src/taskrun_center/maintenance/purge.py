"""Retention purge and full wipe: delete runs and their items in short batches.

Each batch is its own transaction, so a writer recording new runs waits at most for one batch:
on SQLite for the write lock, on PostgreSQL only if it touches a row being deleted. The batch
size adapts between 1 run and ``batch_size`` runs so that one batch takes about
``batch_seconds``, however many items the runs have.

Retention rules:

- Only finished runs (completed, completed_with_errors, failed, cancelled) are deleted, never a
  pending or running run, and only when ``completed_at`` is older than the cutoff. A finished run
  without ``completed_at`` is never purged by age (``wipe_all_runs`` removes it).
- The newest ``keep_last`` finished runs of every task key, by ``completed_at``, are kept
  whatever their age and whatever the status filter, so a rarely run task keeps its history.
- Items are deleted explicitly with their runs, on SQLite and PostgreSQL alike, which gives
  exact counts per table.
- A dry run reads the same runs in the same order and counts instead of deleting, so its counts
  equal what a real run deletes when nothing changes in between. Its number of batches differs:
  counting is faster than deleting, so the adaptive batch size grows sooner.

On Ctrl-C the batch in progress rolls back and ``MaintenanceInterrupted`` is raised with the
counts of the committed batches (``result.interrupted`` is True).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import structlog
from sqlalchemy import ColumnElement, CursorResult, Delete, Row, delete, func, select
from sqlalchemy.orm import Session

from taskrun_center.config import get_settings
from taskrun_center.errors import ConfigurationError, StorageError, TaskRunError
from taskrun_center.maintenance.interrupts import InterruptGate, MaintenanceInterrupted
from taskrun_center.states import RUN_TERMINAL
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun, TaskRunItem
from taskrun_center.storage.types import utcnow

logger = structlog.get_logger(__name__)

# Target duration of one batch, which bounds how long a concurrent writer waits; the purge
# benchmark records the longest wait measured.
DEFAULT_BATCH_SECONDS = 0.05
TERMINAL_VALUES = tuple(sorted(status.value for status in RUN_TERMINAL))


@dataclass(frozen=True, slots=True)
class PurgeProgress:
    """Counts after one batch; ``planned_runs`` is the number of runs expected in total."""

    runs: int
    items: int
    batches: int
    planned_runs: int


@dataclass(slots=True)
class PurgeResult:
    """Counts of what a purge or wipe deleted, or would delete in a dry run.

    ``duration_seconds`` is the time from the start to the end, also when a batch failed or
    Ctrl-C interrupted the purge (``interrupted``).
    """

    runs: int = 0
    items: int = 0
    batches: int = 0
    duration_seconds: float = 0.0
    dry_run: bool = False
    cutoff: datetime | None = None
    kept_runs: int = 0
    interrupted: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready data (the CLI's ``--format json``)."""
        return {
            "dry_run": self.dry_run,
            "cutoff": self.cutoff.isoformat() if self.cutoff else None,
            "counts": {"task_runs": self.runs, "task_run_items": self.items},
            "kept_by_keep_last": self.kept_runs,
            "batches": self.batches,
            "duration_seconds": round(self.duration_seconds, 3),
            "interrupted": self.interrupted,
        }


class PurgeError(TaskRunError):
    """Raised when a purge batch failed; that batch was rolled back, earlier ones stay deleted."""

    code = "PURGE_FAILED"

    def __init__(self, batch: int, result: PurgeResult, cause: StorageError) -> None:
        super().__init__(
            f"purge batch {batch} failed and was rolled back after {result.runs} runs and "
            f"{result.items} items were deleted: {cause}; run the purge again to continue"
        )
        self.batch = batch
        self.result = result


@dataclass(frozen=True, slots=True)
class _Plan:
    conditions: list[ColumnElement[bool]]
    protected_ids: frozenset[int]
    planned_runs: int
    cutoff: datetime | None
    kept_runs: int = 0


@dataclass(slots=True)
class _BatchSizer:
    """Grows or shrinks the batch so that one batch takes about ``target_seconds``."""

    maximum: int
    target_seconds: float
    size: int = field(init=False)

    def __post_init__(self) -> None:
        self.size = min(self.maximum, 200)

    def record(self, seconds: float) -> None:
        if seconds > self.target_seconds:
            self.size = max(1, self.size // 2)
        elif seconds < self.target_seconds / 3:
            self.size = min(self.maximum, self.size * 2)


def purge_runs(
    database: Database,
    *,
    older_than: timedelta,
    statuses: Collection[str] = (),
    task_keys: Collection[str] = (),
    keep_last: int | None = None,
    batch_size: int | None = None,
    batch_seconds: float = DEFAULT_BATCH_SECONDS,
    dry_run: bool = False,
    now: datetime | None = None,
    on_progress: Callable[[PurgeProgress], None] | None = None,
) -> PurgeResult:
    """Delete finished runs completed more than ``older_than`` ago, with their items.

    ``statuses`` and ``task_keys`` narrow the selection (empty means all finished statuses and
    all task keys). ``keep_last`` defaults to ``TASKRUN_KEEP_LAST`` and ``batch_size`` (the
    maximum runs per transaction) to ``TASKRUN_PURGE_BATCH_SIZE``.

    Raises:
        ConfigurationError: a status is not a finished status, or a number is out of range.
        PurgeError: a batch failed; it was rolled back and the result so far is attached.
        MaintenanceInterrupted: Ctrl-C; the batch in progress was rolled back and ``result``
            counts the committed batches.
    """
    settings = get_settings()
    keep_last = settings.keep_last if keep_last is None else keep_last
    batch_size = settings.purge_batch_size if batch_size is None else batch_size
    _check_options(statuses, keep_last, batch_size, older_than)

    result = PurgeResult(dry_run=dry_run)
    with _timed(result, "purge", "purge_interrupted"):
        cutoff = (now or utcnow()) - older_than
        plan = _plan_purge(database, cutoff, statuses, task_keys, keep_last)
        result.cutoff = cutoff
        result.kept_runs = plan.kept_runs
        logger.info("purge_started", cutoff=cutoff.isoformat(),
                    planned_runs=plan.planned_runs, kept_runs=plan.kept_runs, dry_run=dry_run,
                    batch_size=batch_size)
        _run_batches(database, plan, _BatchSizer(batch_size, batch_seconds), result,
                     on_progress)
    logger.info("purge_finished", runs=result.runs, items=result.items, batches=result.batches,
                dry_run=dry_run, duration_seconds=round(result.duration_seconds, 3))
    return result


def _plan_purge(database: Database, cutoff: datetime, statuses: Collection[str],
                task_keys: Collection[str], keep_last: int) -> _Plan:
    conditions = [
        TaskRun.status.in_(list(statuses) or TERMINAL_VALUES),
        TaskRun.completed_at < cutoff,
    ]
    if task_keys:
        conditions.append(TaskRun.task_key.in_(list(task_keys)))

    # Ctrl-C waits for these reads: interrupted inside the driver, SQLAlchemy closes the
    # connection and then logs a traceback for each cursor it can no longer close.
    with InterruptGate() as gate, database.session() as session:
        gate.hold()
        protected = _protected_runs(session, keep_last, task_keys)
        planned = _count(session, conditions)
    # Protected runs that the conditions select are kept; the others would not be deleted anyway.
    # A finish time edited by hand into unreadable text reads as None; SQLite compared its text.
    kept = sum(
        1 for row in protected
        if row.completed_at is not None and row.completed_at < cutoff
        and (not statuses or row.status in statuses)
    )
    return _Plan(conditions, frozenset(row.id for row in protected), planned - kept, cutoff,
                 kept)


def wipe_all_runs(
    database: Database,
    *,
    batch_size: int | None = None,
    batch_seconds: float = DEFAULT_BATCH_SECONDS,
    dry_run: bool = False,
    on_progress: Callable[[PurgeProgress], None] | None = None,
) -> PurgeResult:
    """Delete every run and item, whatever its status or age, in short batches.

    Runs inserted while the wipe is going are deleted too. The caller asks for confirmation.

    Raises:
        ConfigurationError: ``batch_size`` is below 1.
        PurgeError: a batch failed; it was rolled back and the result so far is attached.
        MaintenanceInterrupted: Ctrl-C; the batch in progress was rolled back and ``result``
            counts the committed batches.
    """
    batch_size = get_settings().purge_batch_size if batch_size is None else batch_size
    if batch_size < 1:
        raise ConfigurationError(f"batch size must be at least 1, got {batch_size}")

    result = PurgeResult(dry_run=dry_run)
    with _timed(result, "wipe", "wipe_interrupted"):
        with InterruptGate() as gate, database.session() as session:
            gate.hold()
            planned = _count(session, [])
        logger.warning("wipe_started", planned_runs=planned, dry_run=dry_run)
        _run_batches(database, _Plan([], frozenset(), planned, None),
                     _BatchSizer(batch_size, batch_seconds), result, on_progress)
    logger.warning("wipe_finished", runs=result.runs, items=result.items, dry_run=dry_run)
    return result


@contextmanager
def _timed(result: PurgeResult, operation: str, interrupted_event: str) -> Iterator[None]:
    """Store the block's duration in ``result`` however it ends, a failed batch included.

    On Ctrl-C, mark ``result`` interrupted, log ``interrupted_event`` with the counts and raise
    ``MaintenanceInterrupted``.
    """
    started = time.perf_counter()
    try:
        yield
    except KeyboardInterrupt as interrupt:
        result.interrupted = True
        raise MaintenanceInterrupted(operation, result) from interrupt
    finally:
        result.duration_seconds = time.perf_counter() - started
        if result.interrupted:
            logger.warning(interrupted_event, runs=result.runs, items=result.items,
                           batches=result.batches, dry_run=result.dry_run,
                           duration_seconds=round(result.duration_seconds, 3))


def _check_options(statuses: Collection[str], keep_last: int, batch_size: int,
                   older_than: timedelta) -> None:
    unfinished = [status for status in statuses if status not in TERMINAL_VALUES]
    if unfinished:
        raise ConfigurationError(
            f"status {unfinished[0]!r} cannot be purged; purge deletes only finished runs: "
            + ", ".join(TERMINAL_VALUES)
        )
    if keep_last < 0:
        raise ConfigurationError(f"keep-last must be 0 or more, got {keep_last}")
    if batch_size < 1:
        raise ConfigurationError(f"batch size must be at least 1, got {batch_size}")
    if older_than <= timedelta(0):
        raise ConfigurationError("older-than must be a positive duration")


def _protected_runs(session: Session, keep_last: int,
                    task_keys: Collection[str]) -> Sequence[Row[Any, Any, Any]]:
    """Return id, status and completed_at of the newest ``keep_last`` finished runs per task key.

    Runs without ``completed_at`` are left out: they are never selected by age.
    """
    if keep_last == 0:
        return []
    rank = func.row_number().over(
        partition_by=TaskRun.task_key,
        order_by=(TaskRun.completed_at.desc().nulls_last(), TaskRun.id.desc()),
    )
    ranked = select(TaskRun.id, TaskRun.status, TaskRun.completed_at, rank.label("rank")).where(
        TaskRun.status.in_(TERMINAL_VALUES)
    )
    if task_keys:
        ranked = ranked.where(TaskRun.task_key.in_(list(task_keys)))
    subquery = ranked.subquery()
    statement = select(subquery.c.id, subquery.c.status, subquery.c.completed_at).where(
        subquery.c.rank <= keep_last, subquery.c.completed_at.is_not(None)
    )
    return session.execute(statement).all()


def _count(session: Session, conditions: Sequence[ColumnElement[bool]]) -> int:
    statement = select(func.count()).select_from(TaskRun).where(*conditions)
    return int(session.scalar(statement) or 0)


def _run_batches(database: Database, plan: _Plan, sizer: _BatchSizer, result: PurgeResult,
                 on_progress: Callable[[PurgeProgress], None] | None) -> None:
    """Delete (or count) batch after batch into ``result`` until no selected run is left."""
    last_id = 0
    while True:
        batch_started = time.perf_counter()
        # Ctrl-C between a batch's commit and the counts below waits for the counts.
        with InterruptGate() as gate:
            try:
                scanned, runs, items = _one_batch(database, plan, last_id, sizer.size,
                                                  dry_run=result.dry_run, gate=gate)
            except StorageError as error:
                logger.error("purge_batch_failed", batch=result.batches + 1, runs=result.runs,
                             items=result.items, error=str(error))
                raise PurgeError(result.batches + 1, result, error) from error
            if scanned is None:
                return
            result.runs += runs
            result.items += items
            result.batches += 1

        last_id = scanned
        sizer.record(time.perf_counter() - batch_started)
        if on_progress is not None:
            on_progress(PurgeProgress(result.runs, result.items, result.batches,
                                      plan.planned_runs))


def _one_batch(database: Database, plan: _Plan, last_id: int, size: int, *, dry_run: bool,
               gate: InterruptGate) -> tuple[int | None, int, int]:
    """Delete (or count) one batch after ``last_id``; return the last id scanned and counts."""
    if dry_run:
        # A dry batch only reads, so Ctrl-C can wait for it. Interrupted inside the driver,
        # SQLAlchemy would log a traceback for the cursor of the connection it closed.
        gate.hold()
        with database.session() as session:
            return _process_batch(session, plan, last_id, size, dry_run=True)
    with database.transaction("purge batch") as session:
        counts = _process_batch(session, plan, last_id, size, dry_run=False)
        gate.hold()
        return counts


def _process_batch(session: Session, plan: _Plan, last_id: int, size: int, *,
                   dry_run: bool) -> tuple[int | None, int, int]:
    rows = session.execute(
        select(TaskRun.id, TaskRun.run_id)
        .where(TaskRun.id > last_id, *plan.conditions)
        .order_by(TaskRun.id)
        .limit(size)
    ).all()
    if not rows:
        return None, 0, 0

    victims = [row for row in rows if row.id not in plan.protected_ids]
    run_ids = [row.run_id for row in victims]
    if not victims:
        return rows[-1].id, 0, 0
    if dry_run:
        items = session.scalar(
            select(func.count()).select_from(TaskRunItem).where(TaskRunItem.run_id.in_(run_ids))
        )
        return rows[-1].id, len(victims), int(items or 0)

    items_deleted = _execute_delete(session, delete(TaskRunItem).where(
        TaskRunItem.run_id.in_(run_ids)
    ))
    runs_deleted = _execute_delete(session, delete(TaskRun).where(
        TaskRun.id.in_([row.id for row in victims]), *_still_selected(plan)
    ))
    return rows[-1].id, runs_deleted, items_deleted


def _execute_delete(session: Session, statement: Delete) -> int:
    result = cast(CursorResult[Any], session.execute(statement))
    return int(result.rowcount)


def _still_selected(plan: _Plan) -> list[ColumnElement[bool]]:
    # A retention purge re-checks the status in the DELETE itself, so a run can never be
    # deleted unless it is finished, even if the rows changed since they were read.
    if plan.cutoff is None:
        return []
    return [TaskRun.status.in_(TERMINAL_VALUES)]


__all__ = [
    "DEFAULT_BATCH_SECONDS",
    "PurgeError",
    "PurgeProgress",
    "PurgeResult",
    "purge_runs",
    "wipe_all_runs",
]
