"""Read-only rows of ``task_runs`` for list pages.

A list page shows a snapshot of many runs and changes none of them, so it has no use for what an
ORM object carries: identity tracking, change tracking and lazy loading. A ``RunRow`` is a named
tuple read through SQLAlchemy Core, which costs a fraction of an ORM object per row. It has the
same attribute names as ``TaskRun``, so code that only reads a run accepts either.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement

from taskrun_center.storage.models import TaskRun


class RunRow(NamedTuple):
    """Every column of one run, in the table's column order."""

    id: int
    run_id: str
    task_key: str
    task_name: str
    task_category: str
    trigger_source: str
    status: str
    started_at: datetime | None
    completed_at: datetime | None
    heartbeat_at: datetime | None
    duration_ms: int | None
    created_by: str | None
    progress_total: int
    progress_completed: int
    progress_failed: int
    summary_json: dict[str, Any]
    is_skipped: bool
    result_url: str | None
    error_message: str | None
    created_at: datetime
    updated_at: datetime


#: Either form of a run that read-only code accepts: an ORM object or a list row.
AnyRun = TaskRun | RunRow

#: The columns that a ``RunRow`` is built from, in its field order.
RUN_ROW_COLUMNS: tuple[ColumnElement[Any], ...] = tuple(
    TaskRun.__table__.columns[name] for name in RunRow._fields
)
