"""The reaper: fail runs abandoned by a crashed worker.

A running run whose last activity is older than ``timeout`` is marked failed with a reason
naming the silence, and so are its pending and running items. The last activity is the latest
of its heartbeat, its start and the ``updated_at`` of its items (its creation when none is
set). It is also the run's ``completed_at``, so ``duration_ms`` covers the work the run did and
not the silence before the reap. A pending run that no worker picked up within
``pending_timeout`` of its creation is failed the same way.

On SQLite a timestamp that is not in the stored form (a hand edit, which ``taskrun audit``
reports) counts as missing, as NULL does. SQL compares these columns as text, so text such as
``'yesterday'`` would sort after every time and keep the run alive forever.

Every status change goes through ``TaskRunsWriteService.mark_run_failed``. Each run is reaped in
its own transaction. It first locks the run's unfinished items and then the run. That is the
write service's lock order, so the reaper and a worker never wait for each other in opposite
orders, which PostgreSQL would abort as a deadlock. It then checks the silence again, so a
heartbeat that arrives after the scan saves the run.

On Ctrl-C the run in progress rolls back and ``MaintenanceInterrupted`` is raised with the counts
of the runs already marked failed (``result.interrupted`` is True).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from taskrun_center.config import Settings, get_settings
from taskrun_center.errors import ConfigurationError, StorageError
from taskrun_center.i18n import Text
from taskrun_center.lifecycle.write_service import TaskRunsWriteService
from taskrun_center.maintenance.audit_timestamps import in_stored_form
from taskrun_center.maintenance.durations import format_duration
from taskrun_center.maintenance.interrupts import InterruptGate, MaintenanceInterrupted
from taskrun_center.states import ItemStatus, RunStatus
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun, TaskRunItem
from taskrun_center.storage.types import utcnow

logger = structlog.get_logger(__name__)

SCAN_BATCH_SIZE = 500


def _setting_bound(name: str, bound: str) -> timedelta:
    """Return the bound ``ge`` or ``le`` of the ``config.Settings`` field ``name``, in seconds."""
    for constraint in Settings.model_fields[name].metadata:
        value = getattr(constraint, bound, None)
        if value is not None:
            return timedelta(seconds=value)
    return timedelta(0) if bound == "ge" else timedelta.max


# The timeouts TASKRUN_REAP_TIMEOUT_SECONDS and TASKRUN_PENDING_TIMEOUT_SECONDS accept.
# ``taskrun reap`` applies the same minimums to --timeout and --pending-timeout.
MIN_REAP_TIMEOUT = _setting_bound("reap_timeout_seconds", "ge")
MIN_PENDING_TIMEOUT = _setting_bound("pending_timeout_seconds", "ge")
MAX_TIMEOUT = _setting_bound("reap_timeout_seconds", "le")
# run_ids kept in the result; the counts stay exact beyond it.
MAX_LISTED_RUN_IDS = 1000

RUNNING_REASON = Text(
    "运行已被回收：超过 {timeout} 没有任何活动（最后一次活动 {last}），执行它的进程可能已崩溃。",
    "Run reaped: no sign of life for more than {timeout} (last at {last}); the worker running "
    "it probably crashed.",
)
PENDING_REASON = Text(
    "运行已被回收：排队 {timeout} 后仍没有工作进程领取（创建于 {last}）。",
    "Run reaped: no worker picked it up within {timeout} of being queued (created at {last}).",
)


@dataclass(slots=True)
class ReapResult:
    """Counts and ids of the runs the reaper failed, or would fail in a dry run."""

    running: int = 0
    pending: int = 0
    errors: int = 0
    dry_run: bool = False
    run_ids: list[str] = field(default_factory=list)
    interrupted: bool = False

    @property
    def total(self) -> int:
        return self.running + self.pending

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready data (the CLI's ``--format json``)."""
        return {
            "dry_run": self.dry_run,
            "counts": {"running": self.running, "pending": self.pending},
            "errors": self.errors,
            "run_ids": self.run_ids,
            "interrupted": self.interrupted,
        }


@dataclass(frozen=True, slots=True)
class _Rule:
    status: RunStatus
    last_sign: ColumnElement[Any]
    cutoff: datetime
    timeout: timedelta
    reason: Text
    # Whether item updates count as activity and the run ends at its last activity.
    counts_items: bool
    # An item's updated_at as the rule reads it.
    item_update: ColumnElement[Any]


def _readable(column: Any, *, is_sqlite: bool) -> ColumnElement[Any]:
    """Return ``column``, on SQLite with NULL in place of a value not in the stored form.

    The CASE yields the stored text itself, so the value keeps its microseconds, and it has
    the column's type, so it reads as a datetime and compares with a bound datetime.
    """
    if not is_sqlite:
        return column
    return case((in_stored_form(column), column))


def reap_runs(
    database: Database,
    *,
    timeout: timedelta | None = None,
    pending_timeout: timedelta | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> ReapResult:
    """Fail running runs silent for longer than ``timeout`` and pending runs older than
    ``pending_timeout``; return the counts.

    The timeouts default to ``TASKRUN_REAP_TIMEOUT_SECONDS`` and
    ``TASKRUN_PENDING_TIMEOUT_SECONDS``. Any positive timeout is accepted here, shorter ones
    than ``MIN_REAP_TIMEOUT`` and ``MIN_PENDING_TIMEOUT`` included. A run that cannot be reaped
    because the database failed is logged, counted in ``errors`` and left for the next pass.

    Raises:
        ConfigurationError: a timeout is not positive.
        MaintenanceInterrupted: Ctrl-C; the run in progress was rolled back and ``result``
            counts the runs already marked failed.
    """
    settings = get_settings()
    timeout = timeout or timedelta(seconds=settings.reap_timeout_seconds)
    pending_timeout = pending_timeout or timedelta(seconds=settings.pending_timeout_seconds)
    if not (timedelta(0) < timeout <= MAX_TIMEOUT
            and timedelta(0) < pending_timeout <= MAX_TIMEOUT):
        raise ConfigurationError(
            f"reap timeouts must be positive and at most {MAX_TIMEOUT.days} days"
        )

    now = now or utcnow()
    is_sqlite = database.is_sqlite
    heartbeat_at = _readable(TaskRun.heartbeat_at, is_sqlite=is_sqlite)
    started_at = _readable(TaskRun.started_at, is_sqlite=is_sqlite)
    created_at = _readable(TaskRun.created_at, is_sqlite=is_sqlite)
    item_update = _readable(TaskRunItem.updated_at, is_sqlite=is_sqlite)
    rules = (
        _Rule(RunStatus.RUNNING, func.coalesce(heartbeat_at, started_at, created_at),
              now - timeout, timeout, RUNNING_REASON, counts_items=True,
              item_update=item_update),
        _Rule(RunStatus.PENDING, func.coalesce(heartbeat_at, created_at),
              now - pending_timeout, pending_timeout, PENDING_REASON, counts_items=False,
              item_update=item_update),
    )
    result = ReapResult(dry_run=dry_run)
    try:
        for rule in rules:
            _reap_by_rule(database, rule, result)
    except KeyboardInterrupt as interrupt:
        result.interrupted = True
        logger.warning("reap_interrupted", running=result.running, pending=result.pending,
                       errors=result.errors, dry_run=dry_run)
        raise MaintenanceInterrupted("reap", result) from interrupt

    logger.info("reap_finished", running=result.running, pending=result.pending,
                errors=result.errors, dry_run=dry_run)
    return result


def _reap_by_rule(database: Database, rule: _Rule, result: ReapResult) -> None:
    last_id = 0
    while True:
        with database.session() as session:
            candidates = session.execute(
                select(TaskRun.id, TaskRun.run_id, TaskRun.task_key)
                .where(*_stale(rule), TaskRun.id > last_id)
                .order_by(TaskRun.id)
                .limit(SCAN_BATCH_SIZE)
            ).all()
        if not candidates:
            return

        for candidate in candidates:
            # Ctrl-C between a reap's commit and its count waits for the count.
            with InterruptGate() as gate:
                if result.dry_run:
                    reapable = _would_reap(database, rule, candidate.run_id)
                else:
                    reapable = _reap_one(database, rule, candidate.run_id, candidate.task_key,
                                         result=result, gate=gate)
                if reapable:
                    _count(result, rule.status, candidate.run_id)
        last_id = candidates[-1].id


def _reap_one(database: Database, rule: _Rule, run_id: str, task_key: str, *,
              result: ReapResult, gate: InterruptGate) -> bool:
    try:
        with database.transaction("reap run") as session:
            last_sign = _lock_if_still_stale(session, rule, run_id)
            if last_sign is None:
                return False
            language = get_settings().language
            reason = rule.reason.render(language, timeout=format_duration(rule.timeout),
                                        last=_timestamp(last_sign))
            ended_at = last_sign if rule.counts_items else None
            reaped = TaskRunsWriteService(session).mark_run_failed(
                run_id, reason, ended_at=ended_at
            )
            gate.hold()
    except StorageError as error:
        result.errors += 1
        logger.error("reap_run_failed", run_id=run_id, task_key=task_key, error=str(error))
        return False

    if reaped:
        logger.warning("run_reaped", run_id=run_id, task_key=task_key,
                       previous_status=rule.status.value, last_sign_of_life=_timestamp(last_sign))
    return reaped


def _would_reap(database: Database, rule: _Rule, run_id: str) -> bool:
    """Return True when a dry run would reap the run, judged as ``_lock_if_still_stale`` does."""
    with database.session() as session:
        last_sign: datetime | None = session.scalar(
            select(rule.last_sign).where(TaskRun.run_id == run_id, *_stale(rule))
        )
        if last_sign is None:
            return False
        return _last_activity(session, rule, run_id, last_sign) < rule.cutoff


def _lock_if_still_stale(session: Session, rule: _Rule, run_id: str) -> datetime | None:
    """Lock the run's unfinished items, then the run; return its last activity if stale."""
    session.execute(
        select(TaskRunItem.id)
        .where(TaskRunItem.run_id == run_id,
               TaskRunItem.status.in_((ItemStatus.PENDING.value, ItemStatus.RUNNING.value)))
        .order_by(TaskRunItem.id)
        .with_for_update()
    ).all()
    last_sign: datetime | None = session.scalar(
        select(rule.last_sign.label("last_sign"))
        .where(TaskRun.run_id == run_id, *_stale(rule))
        .with_for_update()
    )
    if last_sign is None:
        return None
    last_activity = _last_activity(session, rule, run_id, last_sign)
    return last_activity if last_activity < rule.cutoff else None


def _last_activity(session: Session, rule: _Rule, run_id: str, last_sign: datetime) -> datetime:
    """Return the later of ``last_sign`` and the run's latest item update (one aggregate)."""
    if not rule.counts_items:
        return last_sign
    latest_item: datetime | None = session.scalar(
        select(func.max(rule.item_update)).where(TaskRunItem.run_id == run_id)
    )
    if latest_item is None:
        return last_sign
    return max(last_sign, latest_item)


def _stale(rule: _Rule) -> list[ColumnElement[bool]]:
    return [TaskRun.status == rule.status.value, rule.last_sign < rule.cutoff]


def _count(result: ReapResult, status: RunStatus, run_id: str) -> None:
    if status is RunStatus.RUNNING:
        result.running += 1
    else:
        result.pending += 1
    if len(result.run_ids) < MAX_LISTED_RUN_IDS:
        result.run_ids.append(run_id)


def _timestamp(value: datetime) -> str:
    return value.isoformat(timespec="seconds")
