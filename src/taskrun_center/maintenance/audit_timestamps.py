"""The timestamp part of the audit: text in a SQLite DATETIME column that is not a time.

SQLite stores any text in a DATETIME column, for example a value edited by hand. Such a value
reads as None (``storage.types.UTCDateTime``), so the audit looks for it in SQL, where
``julianday`` returns NULL for text that is not a date and time. One query per table checks
every timestamp column. PostgreSQL's timestamptz cannot hold such text, so nothing runs there.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select

from taskrun_center.maintenance.audit_items import AddFinding
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun, TaskRunItem
from taskrun_center.storage.types import UTCDateTime

TIMESTAMP_INVALID_RULE = "row.timestamp_invalid"


def audit_timestamps(database: Database, add_finding: AddFinding) -> None:
    """Call ``add_finding(run_id, rule, path)`` for each timestamp that is not a time."""
    if not database.is_sqlite:
        return
    _check_table(database, TaskRun.__table__, add_finding)
    _check_table(database, TaskRunItem.__table__, add_finding)


def _check_table(database: Database, table: Any, add_finding: AddFinding) -> None:
    columns = [column for column in table.columns if isinstance(column.type, UTCDateTime)]
    is_item = table is TaskRunItem.__table__
    keys = [table.c.run_id, *([table.c.item_type, table.c.item_key] if is_item else [])]
    statement = (
        select(*keys, *[_not_a_time(column).label(column.name) for column in columns])
        .where(or_(*[_not_a_time(column) for column in columns]))
        .order_by(table.c.id)
    )

    with database.session() as session:
        for row in session.execute(statement):
            prefix = f"items[{row.item_type}/{row.item_key}]." if is_item else ""
            for column in columns:
                if getattr(row, column.name):
                    add_finding(row.run_id, TIMESTAMP_INVALID_RULE, prefix + column.name)


def _not_a_time(column: Any) -> ColumnElement[bool]:
    return and_(column.is_not(None), func.julianday(column).is_(None))
