"""The timestamp part of the audit: stored timestamps that the app cannot read or sort.

The app writes every timestamp on SQLite as naive UTC text ``YYYY-MM-DD HH:MM:SS.ffffff``, and
SQL filters and sorts these columns as text, so only that form compares correctly. SQLite
stores anything in a DATETIME column, for example a value edited by hand. One query per table
finds every value that is not in the stored form (``in_stored_form``). Each one is then reported
by how the app reads it (``storage.types.UTCDateTime``):

- ``row.timestamp_invalid``: the value reads as None, such as ``'garbage'`` or the impossible
  date ``'2026-02-30 00:00:00'``;
- ``row.timestamp_not_stored_form``: the value reads as a time but is spelled another way, such
  as ``'2026-11-30T23:59:50Z'`` or an offset of its own, so filters and sorts place it wrongly.

PostgreSQL's timestamptz also holds ``'infinity'``, ``'-infinity'`` and years outside 1 to
9999, which Python's ``datetime`` cannot. One query per table finds the values near or beyond
those years, and each one that reads as None is reported as ``row.timestamp_invalid``. Such a
value sorts and filters as PostgreSQL compares it, so the second rule cannot occur there.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
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


# Every time between these two reads on PostgreSQL whatever the session's time zone, because no
# offset exceeds a day. Times outside them are read to see whether they still fit ``datetime``.
_FIRST_SURE_TIME = datetime(1, 1, 2, tzinfo=UTC)
_LAST_SURE_TIME = datetime(9999, 12, 30, tzinfo=UTC)


def audit_timestamps(database: Database, add_finding: AddFinding) -> None:
    """Call ``add_finding(run_id, rule, path)`` for each timestamp the app cannot read or sort."""
    if database.is_sqlite:
        suspect, readable_rule = _not_stored_form, TIMESTAMP_NOT_STORED_FORM_RULE
    else:
        suspect, readable_rule = _beyond_datetime, None
    for table in (TaskRun.__table__, TaskRunItem.__table__):
        _check_table(database, table, add_finding, suspect, readable_rule)


def _check_table(database: Database, table: Any, add_finding: AddFinding,
                 suspect: Callable[[Any], ColumnElement[bool]],
                 readable_rule: str | None) -> None:
    """Report each ``suspect`` value of ``table`` that reads as None as invalid.

    A suspect value that reads as a time is reported under ``readable_rule``, or not at all
    when that is None.
    """
    columns = [column for column in table.columns if isinstance(column.type, UTCDateTime)]
    is_item = table is TaskRunItem.__table__
    keys = [table.c.run_id, *([table.c.item_type, table.c.item_key] if is_item else [])]
    flags = [suspect(column).label(f"{column.name}_flag") for column in columns]
    # The typed column reads through UTCDateTime, as every page of the app reads it.
    values = [column.label(f"{column.name}_value") for column in columns]
    statement = (
        select(*keys, *flags, *values)
        .where(or_(*[suspect(column) for column in columns]))
        .order_by(table.c.id)
    )

    with database.session() as session:
        for row in session.execute(statement):
            prefix = f"items[{row.item_type}/{row.item_key}]." if is_item else ""
            for column in columns:
                if not getattr(row, f"{column.name}_flag"):
                    continue
                readable = getattr(row, f"{column.name}_value") is not None
                rule = readable_rule if readable else TIMESTAMP_INVALID_RULE
                if rule is not None:
                    add_finding(row.run_id, rule, prefix + column.name)


def _not_stored_form(column: Any) -> ColumnElement[bool]:
    return and_(column.is_not(None), not_(in_stored_form(column)))


def _beyond_datetime(column: Any) -> ColumnElement[bool]:
    # 'infinity' compares above every time and '-infinity' below, so both are selected.
    return or_(column < _FIRST_SURE_TIME, column > _LAST_SURE_TIME)
