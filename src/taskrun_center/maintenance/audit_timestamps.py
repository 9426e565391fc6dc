"""The timestamp part of the audit: SQLite DATETIME values that are not in the stored form.

The app writes every timestamp on SQLite as naive UTC text ``YYYY-MM-DD HH:MM:SS.ffffff``, and
SQL filters and sorts these columns as text, so only that form compares correctly. SQLite
stores anything in a DATETIME column, for example a value edited by hand. One query per table
finds every value that is not in the stored form (``in_stored_form``). Each one is then reported
by how the app reads it (``storage.types.UTCDateTime``):

- ``row.timestamp_invalid``: the value reads as None, such as ``'garbage'`` or the impossible
  date ``'2026-02-30 00:00:00'``;
- ``row.timestamp_not_stored_form``: the value reads as a time but is spelled another way, such
  as ``'2026-11-30T23:59:50Z'`` or an offset of its own, so filters and sorts place it wrongly.

PostgreSQL's timestamptz holds only times, so nothing runs there.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, not_, or_, select, type_coerce
from sqlalchemy.types import NullType

from taskrun_center.maintenance.audit_items import AddFinding
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun, TaskRunItem
from taskrun_center.storage.types import UTCDateTime

TIMESTAMP_INVALID_RULE = "row.timestamp_invalid"
TIMESTAMP_NOT_STORED_FORM_RULE = "row.timestamp_not_stored_form"

# The text SQLAlchemy's SQLite DATETIME writes: "2026-06-01 12:00:00.000000".
_STORED_FORM_GLOB = (
    "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]"
    ".[0-9][0-9][0-9][0-9][0-9][0-9]"
)


def in_stored_form(column: Any) -> ColumnElement[bool]:
    """Build a SQLite condition: ``column`` is text in the stored form and a real date and time.

    The pattern fixes the spelling. SQLite's date functions accept the 31st of any month and
    hour 24 and return them unchanged, but the ``'+0 days'`` modifier normalises them (to
    ``2026-03-02`` for ``2026-02-30``), so a value whose seconds part changes there is no real
    time. Year 0 is outside Python's ``datetime``. NULL is not in the stored form.
    """
    seconds = func.substr(column, 1, 19)
    return and_(
        func.typeof(column) == "text",
        column.op("GLOB")(literal(_STORED_FORM_GLOB)),
        type_coerce(column, NullType()) >= literal("0001"),
        func.datetime(seconds, "+0 days").is_not_distinct_from(seconds),
    )


def audit_timestamps(database: Database, add_finding: AddFinding) -> None:
    """Call ``add_finding(run_id, rule, path)`` for each timestamp not in the stored form."""
    if not database.is_sqlite:
        return
    _check_table(database, TaskRun.__table__, add_finding)
    _check_table(database, TaskRunItem.__table__, add_finding)


def _check_table(database: Database, table: Any, add_finding: AddFinding) -> None:
    columns = [column for column in table.columns if isinstance(column.type, UTCDateTime)]
    is_item = table is TaskRunItem.__table__
    keys = [table.c.run_id, *([table.c.item_type, table.c.item_key] if is_item else [])]
    flags = [_not_stored_form(column).label(f"{column.name}_flag") for column in columns]
    # The typed column reads through UTCDateTime, as every page of the app reads it.
    values = [column.label(f"{column.name}_value") for column in columns]
    statement = (
        select(*keys, *flags, *values)
        .where(or_(*[_not_stored_form(column) for column in columns]))
        .order_by(table.c.id)
    )

    with database.session() as session:
        for row in session.execute(statement):
            prefix = f"items[{row.item_type}/{row.item_key}]." if is_item else ""
            for column in columns:
                if not getattr(row, f"{column.name}_flag"):
                    continue
                readable = getattr(row, f"{column.name}_value") is not None
                rule = TIMESTAMP_NOT_STORED_FORM_RULE if readable else TIMESTAMP_INVALID_RULE
                add_finding(row.run_id, rule, prefix + column.name)


def _not_stored_form(column: Any) -> ColumnElement[bool]:
    return and_(column.is_not(None), not_(in_stored_form(column)))
