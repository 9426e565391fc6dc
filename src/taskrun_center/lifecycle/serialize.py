"""Plain JSON-ready dicts of runs and items, shared by the REST API and the CLI.

Keys are the column names. Timestamps are ISO 8601 in UTC with a ``Z`` suffix; JSON columns are
returned as stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from taskrun_center.storage.models import TaskRun, TaskRunItem

RUN_FIELDS: tuple[str, ...] = tuple(column.key for column in TaskRun.__table__.columns)
ITEM_FIELDS: tuple[str, ...] = tuple(column.key for column in TaskRunItem.__table__.columns)


def format_timestamp(value: datetime | None) -> str | None:
    """Return ``value`` as ISO 8601 in UTC with a ``Z`` suffix, or None."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def run_to_dict(run: TaskRun) -> dict[str, Any]:
    """Return every column of ``run``, including ``duration_ms`` (None until the run ends)."""
    return {field: _plain(getattr(run, field)) for field in RUN_FIELDS}


def item_to_dict(item: TaskRunItem) -> dict[str, Any]:
    """Return every column of ``item``."""
    return {field: _plain(getattr(item, field)) for field in ITEM_FIELDS}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_timestamp(value)
    return value
