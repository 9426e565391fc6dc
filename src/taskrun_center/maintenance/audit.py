"""Audit of stored rows: check every run and item against the contract, in constant memory.

Runs are read in keyset batches by ``id`` (never OFFSET, never all at once), each batch in its
own short read transaction, and items by ranges of ``id`` (see ``audit_items``). Memory stays
bounded by the batch size, the examples kept per rule and the number of distinct rule codes and
task keys.

Rules checked on each run:

- the summary passes ``contract.check_summary`` with the run's task key: top level exactly
  ``version``/``common``/``ext``, ``ext.type`` equal to ``task_key``, the envelope schema, the
  registered ``ext.data`` model of the task type, and the secret, personal-data and capacity
  guards (rule codes from the contract, such as ``envelope.extra_field``);
- ``row.is_skipped_mismatch``: ``is_skipped`` differs from ``common.flags.skipped``;
- ``row.duration_mismatch``: ``duration_ms`` differs by more than 1 ms from
  ``completed_at - started_at`` (None when either is missing), or is set on an unfinished run;
- ``row.json_invalid``: the stored ``summary_json`` text is not valid JSON (possible on SQLite
  only, after a hand edit); such a summary is not checked against the other summary rules;
- ``row.status_invalid`` and ``row.trigger_source_invalid``: the value is not a member of
  ``RunStatus`` or ``TriggerSource``. The duration is not checked against an unknown status;
- ``row.progress_invalid``: a progress counter is not an integer or is negative (the path names
  it), or ``progress_completed + progress_failed`` exceeds ``progress_total`` (path
  ``progress_total``).

Only a write that bypasses the write service stores values that break the last three rules.
Most of them also break the table's CHECK constraints, so they need the checks switched off,
as a hand edit on SQLite with ``PRAGMA ignore_check_constraints`` does.

Rules checked on each item, against ``config.ItemLimits`` (sizes of compact UTF-8 JSON):
``item.metrics_bytes``, ``item.details_bytes`` and ``item.error_chars``; ``row.json_invalid``
when the stored ``metrics_json`` or ``details_json`` is not valid JSON; and
``item.status_invalid`` for a status outside ``ItemStatus``.

On SQLite, every timestamp of runs and items that is not in the stored form is reported as
``row.timestamp_invalid`` when it reads as None, else as ``row.timestamp_not_stored_form`` (see
``audit_timestamps``). On PostgreSQL, a timestamp that reads as None, such as ``'infinity'``,
``'-infinity'`` or a year beyond 9999, is reported as ``row.timestamp_invalid``.

Warnings are counted apart from violations and never make the result fail. They are the
warnings ``check_summary`` returns for a summary it accepts, such as
``capacity.summary_bytes_warning`` for a summary above the warning size (8 KiB by default) and
within the maximum (16 KiB). A summary that violates a rule reports its violations only, so it
adds no warnings.

A task key that is not registered in this process is not a violation: its ``ext.data`` is
checked only against the envelope, and the result lists such task keys under ``unregistered``.

On Ctrl-C the audit raises ``MaintenanceInterrupted`` with the counts of the rows checked so far
(``result.interrupted`` is True).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import func, select

from taskrun_center.config import ItemLimits, SummaryLimits, get_settings
from taskrun_center.contract import (
    SummaryValidationError,
    TaskTypeRegistry,
    check_summary,
    default_registry,
)
from taskrun_center.maintenance.audit_items import JSON_INVALID_RULE, audit_items
from taskrun_center.maintenance.audit_timestamps import audit_timestamps
from taskrun_center.maintenance.interrupts import MaintenanceInterrupted
from taskrun_center.states import RUN_TERMINAL, RunStatus, TriggerSource
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun, TaskRunItem
from taskrun_center.storage.types import is_invalid_json

logger = structlog.get_logger(__name__)

DEFAULT_BATCH_SIZE = 500
DEFAULT_EXAMPLES_PER_RULE = 20
# Distinct unregistered task keys listed in the result; a flood of them is one finding anyway.
MAX_UNREGISTERED_KEYS = 1000
# duration_ms is whole milliseconds, truncated, so a stored value may be 1 ms below the exact one.
DURATION_TOLERANCE_MS = 1

_TERMINAL_VALUES = frozenset(status.value for status in RUN_TERMINAL)
_STATUS_VALUES = frozenset(status.value for status in RunStatus)
_TRIGGER_SOURCE_VALUES = frozenset(source.value for source in TriggerSource)
_PROGRESS_COLUMNS = ("progress_total", "progress_completed", "progress_failed")


@dataclass(frozen=True, slots=True)
class AuditFinding:
    """One violation: the run, the rule code and where in the row or summary it is."""

    run_id: str
    rule: str
    path: str

    def to_dict(self) -> dict[str, str]:
        """Return the finding as ``{"run_id", "rule", "path"}``."""
        return {"run_id": self.run_id, "rule": self.rule, "path": self.path}


@dataclass(frozen=True, slots=True)
class AuditProgress:
    """Rows checked so far and the rows planned, for runs and items together."""

    checked: int
    planned: int


@dataclass(slots=True)
class AuditResult:
    """Counts per rule for every row checked, with the first findings of each rule.

    ``counts`` and ``violations`` are violations; ``warnings`` and ``warning_findings`` are
    warnings on accepted summaries, which leave ``ok`` true.
    """

    scanned: int = 0
    items_scanned: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    violations: list[AuditFinding] = field(default_factory=list)
    warnings: dict[str, int] = field(default_factory=dict)
    warning_findings: list[AuditFinding] = field(default_factory=list)
    unregistered: dict[str, int] = field(default_factory=dict)
    duration_seconds: float = 0.0
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return not self.counts

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"scanned", "violations", "counts", "warnings", ...}`` as the CLI prints it."""
        return {
            "scanned": self.scanned,
            "items_scanned": self.items_scanned,
            "violations": [finding.to_dict() for finding in self.violations],
            "counts": dict(sorted(self.counts.items())),
            "warnings": dict(sorted(self.warnings.items())),
            "warning_findings": [finding.to_dict() for finding in self.warning_findings],
            "unregistered": dict(sorted(self.unregistered.items())),
            "duration_seconds": round(self.duration_seconds, 3),
            "interrupted": self.interrupted,
        }


@dataclass(slots=True)
class _Collector:
    result: AuditResult
    examples_per_rule: int
    # Findings kept so far per rule; violation and warning rule codes never overlap.
    _examples: dict[str, int] = field(default_factory=dict)

    def add(self, run_id: str, rule: str, path: str) -> None:
        self._record(self.result.counts, self.result.violations, AuditFinding(run_id, rule, path))

    def warn(self, run_id: str, rule: str, path: str) -> None:
        self._record(self.result.warnings, self.result.warning_findings,
                     AuditFinding(run_id, rule, path))

    def _record(self, counts: dict[str, int], findings: list[AuditFinding],
                finding: AuditFinding) -> None:
        counts[finding.rule] = counts.get(finding.rule, 0) + 1
        shown = self._examples.get(finding.rule, 0)
        if shown < self.examples_per_rule:
            self._examples[finding.rule] = shown + 1
            findings.append(finding)


def audit_runs(
    database: Database,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    examples_per_rule: int = DEFAULT_EXAMPLES_PER_RULE,
    registry: TaskTypeRegistry | None = None,
    summary_limits: SummaryLimits | None = None,
    item_limits: ItemLimits | None = None,
    on_progress: Callable[[AuditProgress], None] | None = None,
) -> AuditResult:
    """Check every stored run and item; return counts per rule and the first findings.

    Nothing is written. The limits default to the configured ones and ``registry`` to the
    process-wide registry, so register task types (``TASKRUN_TASK_MODULES``) before auditing.

    Raises:
        StorageError: the database failed while reading.
        MaintenanceInterrupted: Ctrl-C; ``result`` counts the rows checked so far.
    """
    registry = registry or default_registry
    settings = get_settings()
    summary_limits = summary_limits or settings.summary_limits
    item_limits = item_limits or settings.item_limits
    collector = _Collector(AuditResult(), examples_per_rule)
    result = collector.result
    started = time.perf_counter()

    try:
        _check_everything(database, collector, registry=registry, summary_limits=summary_limits,
                          item_limits=item_limits, batch_size=batch_size,
                          on_progress=on_progress)
    except KeyboardInterrupt as interrupt:
        result.interrupted = True
        _log_end(logger.warning, "audit_interrupted", result, started)
        raise MaintenanceInterrupted("audit", result) from interrupt
    _log_end(logger.info, "audit_finished", result, started)
    return result


def _log_end(log: Callable[..., Any], event: str, result: AuditResult, started: float) -> None:
    result.duration_seconds = time.perf_counter() - started
    log(event, scanned=result.scanned, items_scanned=result.items_scanned,
                violations=sum(result.counts.values()), rules=len(result.counts),
                warnings=sum(result.warnings.values()),
                duration_seconds=round(result.duration_seconds, 3))


def _check_everything(database: Database, collector: _Collector, *, registry: TaskTypeRegistry,
                      summary_limits: SummaryLimits, item_limits: ItemLimits, batch_size: int,
                      on_progress: Callable[[AuditProgress], None] | None) -> None:
    result = collector.result
    with database.session() as session:
        planned = int(session.scalar(select(func.count()).select_from(TaskRun)) or 0)
        planned += int(session.scalar(select(func.count()).select_from(TaskRunItem)) or 0)

    for rows in _batches(database, _RUN_COLUMNS, TaskRun.id, batch_size):
        for row in rows:
            _check_run(row, collector, registry, summary_limits)
            # Counted per row, so that an interrupted audit counts every run it checked.
            result.scanned += 1
        _report(on_progress, result, planned)

    def count_items(checked: int) -> None:
        result.items_scanned += checked
        _report(on_progress, result, planned)

    # NOTE: an audit interrupted inside an item range keeps that range's findings but does not
    # count its items in items_scanned.
    audit_items(database, item_limits, collector.add, count_items)
    audit_timestamps(database, collector.add)


_RUN_COLUMNS = (
    TaskRun.id, TaskRun.run_id, TaskRun.task_key, TaskRun.status, TaskRun.trigger_source,
    TaskRun.summary_json, TaskRun.is_skipped, TaskRun.started_at, TaskRun.completed_at,
    TaskRun.duration_ms, TaskRun.progress_total, TaskRun.progress_completed,
    TaskRun.progress_failed,
)


def _batches(database: Database, columns: tuple[Any, ...], id_column: Any,
             size: int) -> Iterator[list[Any]]:
    last_id = 0
    while True:
        with database.session() as session:
            rows = list(session.execute(
                select(*columns).where(id_column > last_id).order_by(id_column).limit(size)
            ).all())
        if not rows:
            return
        last_id = rows[-1].id
        yield rows


def _report(on_progress: Callable[[AuditProgress], None] | None, result: AuditResult,
            planned: int) -> None:
    if on_progress is not None:
        checked = result.scanned + result.items_scanned
        on_progress(AuditProgress(checked, max(planned, checked)))


def _check_run(row: Any, collector: _Collector, registry: TaskTypeRegistry,
               limits: SummaryLimits) -> None:
    _count_unregistered(row.task_key, collector.result, registry)

    # Envelope rules would only flag the marker keys, so row.json_invalid alone is reported.
    if is_invalid_json(row.summary_json):
        collector.add(row.run_id, JSON_INVALID_RULE, "summary_json")
    else:
        _check_summary_rules(row, collector, registry, limits)

    if row.trigger_source not in _TRIGGER_SOURCE_VALUES:
        collector.add(row.run_id, "row.trigger_source_invalid", "trigger_source")
    for path in _invalid_progress(row):
        collector.add(row.run_id, "row.progress_invalid", path)

    # Whether a duration belongs to the run depends on its status, so an unknown status is
    # reported alone.
    if row.status not in _STATUS_VALUES:
        collector.add(row.run_id, "row.status_invalid", "status")
    elif not _duration_consistent(row.status, row.started_at, row.completed_at,
                                  row.duration_ms):
        collector.add(row.run_id, "row.duration_mismatch", "duration_ms")


def _check_summary_rules(row: Any, collector: _Collector, registry: TaskTypeRegistry,
                         limits: SummaryLimits) -> None:
    try:
        checked = check_summary(row.summary_json, task_key=row.task_key, limits=limits,
                                registry=registry)
    except SummaryValidationError as error:
        for violation in error.violations:
            collector.add(row.run_id, violation.rule, violation.path)
    else:
        for warning in checked.warnings:
            collector.warn(row.run_id, warning.rule, warning.path)

    skipped = _flag_skipped(row.summary_json)
    if skipped is not None and skipped != bool(row.is_skipped):
        collector.add(row.run_id, "row.is_skipped_mismatch", "is_skipped")


def _count_unregistered(task_key: str, result: AuditResult, registry: TaskTypeRegistry) -> None:
    if task_key in registry:
        return
    unregistered = result.unregistered
    if task_key in unregistered or len(unregistered) < MAX_UNREGISTERED_KEYS:
        unregistered[task_key] = unregistered.get(task_key, 0) + 1


def _invalid_progress(row: Any) -> list[str]:
    """Return the progress columns that break the counters' rules, empty when none does.

    SQLite keeps text written by hand in an INTEGER column, so a counter may not be a number.
    """
    invalid = [column for column in _PROGRESS_COLUMNS
               if not _is_count(getattr(row, column))]
    if invalid:
        return invalid
    if row.progress_completed + row.progress_failed > row.progress_total:
        return ["progress_total"]
    return []


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _flag_skipped(summary: Any) -> bool | None:
    """Return ``common.flags.skipped`` when the summary has a boolean there, else None."""
    if not isinstance(summary, dict):
        return None
    common = summary.get("common")
    flags = common.get("flags") if isinstance(common, dict) else None
    skipped = flags.get("skipped") if isinstance(flags, dict) else None
    return skipped if isinstance(skipped, bool) else None


def _duration_consistent(status: str, started_at: datetime | None,
                         completed_at: datetime | None, duration_ms: int | None) -> bool:
    if status not in _TERMINAL_VALUES:
        return duration_ms is None
    if started_at is None or completed_at is None:
        return duration_ms is None
    if not isinstance(duration_ms, int) or isinstance(duration_ms, bool):
        # None, or text that SQLite keeps in an INTEGER column written by hand.
        return False
    expected = max(0, int((completed_at - started_at).total_seconds() * 1000))
    return abs(duration_ms - expected) <= DURATION_TOLERANCE_MS


__all__ = [
    "AuditFinding",
    "AuditProgress",
    "AuditResult",
    "audit_runs",
]
