"""Plain JSON-ready dicts of runs and items, shared by the REST API and the CLI.

Keys are the column names. Timestamps are ISO 8601 in UTC with a ``Z`` suffix; JSON columns are
returned as stored, except that stored text which is not valid JSON comes back as
``{"_invalid_json": true, "preview": …}`` (see ``storage.types.TolerantJson``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog

from taskrun_center.log_throttle import LogThrottle
from taskrun_center.storage.models import TaskRun, TaskRunItem
from taskrun_center.storage.rows import AnyRun
from taskrun_center.storage.types import is_invalid_json

logger = structlog.get_logger(__name__)

# One warning per bad row and column every ten minutes: a console that refreshes a page of runs
# every few seconds would otherwise log the same row on each refresh.
_invalid_json_warnings = LogThrottle(interval_seconds=600)

RUN_FIELDS: tuple[str, ...] = tuple(column.key for column in TaskRun.__table__.columns)
ITEM_FIELDS: tuple[str, ...] = tuple(column.key for column in TaskRunItem.__table__.columns)


def format_timestamp(value: datetime | None) -> str | None:
    """Return ``value`` as ISO 8601 in UTC with a ``Z`` suffix, or None."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def run_to_dict(run: AnyRun) -> dict[str, Any]:
    """Return every column of ``run``, including ``duration_ms`` (None until the run ends)."""
    if is_invalid_json(run.summary_json):
        held_back = _invalid_json_warnings.due((run.run_id, "summary_json"))
        if held_back is not None:
            logger.warning("run_json_invalid", run_id=run.run_id, task_key=run.task_key,
                           column="summary_json", held_back=held_back)
    return {field: _plain(getattr(run, field)) for field in RUN_FIELDS}


def item_to_dict(item: TaskRunItem) -> dict[str, Any]:
    """Return every column of ``item``."""
    for column in ("metrics_json", "details_json"):
        if not is_invalid_json(getattr(item, column)):
            continue
        held_back = _invalid_json_warnings.due((item.run_id, item.item_type, item.item_key, column))
        if held_back is not None:
            logger.warning("item_json_invalid", run_id=item.run_id, item_type=item.item_type,
                           item_key=item.item_key, column=column, held_back=held_back)
    return {field: _plain(getattr(item, field)) for field in ITEM_FIELDS}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, bytes):
        # SQLite keeps a blob written by hand in a text column; JSON has no bytes.
        return value.decode("utf-8", "replace")
    return value
