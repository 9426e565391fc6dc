"""The item part of the audit: item statuses and the sizes of the JSON and error columns.

Items are read by ranges of ``id``, one aggregate query per range. The database measures the
stored JSON text, which is never shorter than the compact UTF-8 JSON that ``ItemLimits``
bounds: SQLite stores ASCII-escaped JSON with spaces, and PostgreSQL prints jsonb with spaces.
Only an item whose stored text exceeds a limit is loaded and measured exactly, so millions of
items are checked without decoding their JSON in Python. On SQLite, which stores any text in a
JSON column, the same query also flags text that ``json_valid`` rejects (``row.json_invalid``);
PostgreSQL's jsonb cannot hold invalid JSON. The query also flags a status outside ``ItemStatus``
(``item.status_invalid``), which only a write that skipped the table's CHECK constraint stores.
Items added after the audit started are not checked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, LargeBinary, Text, and_, case, cast, false, func, or_, select
from sqlalchemy.orm import Session

from taskrun_center.config import ItemLimits
from taskrun_center.contract.capacity import serialized_size
from taskrun_center.states import ItemStatus
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRunItem

# Item ids covered by one query; each query reads at most this many rows by primary key.
ITEM_ID_RANGE = 20_000
# Rule of a stored JSON column whose text does not decode; the run audit uses it too.
JSON_INVALID_RULE = "row.json_invalid"
ITEM_STATUS_INVALID_RULE = "item.status_invalid"

AddFinding = Callable[[str, str, str], None]


def audit_items(database: Database, limits: ItemLimits, add_finding: AddFinding,
                on_range: Callable[[int], None]) -> int:
    """Check every item's status and sizes; call ``add_finding(run_id, rule, path)`` per violation.

    ``on_range`` receives the number of items checked after each range. Returns the number of
    items checked.
    """
    checks = _SizeChecks(database.is_sqlite, limits)
    with database.session() as session:
        last_id = int(session.scalar(select(func.max(TaskRunItem.id))) or 0)

    checked = 0
    for low in range(0, last_id, ITEM_ID_RANGE):
        in_range = [TaskRunItem.id > low, TaskRunItem.id <= low + ITEM_ID_RANGE]
        with database.session() as session:
            count, suspects = session.execute(
                select(func.count(), func.sum(case((checks.any_over(), 1), else_=0)))
                .where(*in_range)
            ).one()
            if suspects:
                _check_exactly(session, in_range, checks, limits, add_finding)
        checked += int(count)
        on_range(int(count))
    return checked


class _SizeChecks:
    """Upper bounds of the stored sizes, as SQL expressions of the dialect."""

    def __init__(self, is_sqlite: bool, limits: ItemLimits) -> None:
        self.is_sqlite = is_sqlite
        self.limits = limits

    def stored_bytes(self, column: Any) -> ColumnElement[int]:
        if self.is_sqlite:
            return func.length(cast(column, LargeBinary))
        return func.octet_length(cast(column, Text))

    def invalid_json(self, column: Any) -> ColumnElement[bool]:
        if not self.is_sqlite:
            return false()
        # Some SQLite versions return 0 from json_valid(NULL), and NULL is a valid stored value.
        return and_(column.is_not(None), func.json_valid(cast(column, Text)) == 0)

    def any_over(self) -> ColumnElement[bool]:
        return or_(
            self.stored_bytes(TaskRunItem.metrics_json) > self.limits.max_metrics_bytes,
            self.stored_bytes(TaskRunItem.details_json) > self.limits.max_details_bytes,
            func.char_length(cast(TaskRunItem.error_message, Text))
            > self.limits.max_error_chars,
            self.invalid_json(TaskRunItem.metrics_json),
            self.invalid_json(TaskRunItem.details_json),
            status_invalid(),
        )


def status_invalid() -> ColumnElement[bool]:
    return TaskRunItem.status.not_in([status.value for status in ItemStatus])


def _check_exactly(session: Session, in_range: list[ColumnElement[bool]], checks: _SizeChecks,
                   limits: ItemLimits, add_finding: AddFinding) -> None:
    rows = session.execute(
        select(TaskRunItem.run_id, TaskRunItem.item_type, TaskRunItem.item_key,
               TaskRunItem.metrics_json, TaskRunItem.details_json, TaskRunItem.error_message,
               checks.invalid_json(TaskRunItem.metrics_json).label("metrics_invalid"),
               checks.invalid_json(TaskRunItem.details_json).label("details_invalid"),
               status_invalid().label("status_invalid"))
        .where(*in_range, checks.any_over())
        .order_by(TaskRunItem.id)
    )
    for row in rows:
        where = f"items[{row.item_type}/{row.item_key}]"
        if row.status_invalid:
            add_finding(row.run_id, ITEM_STATUS_INVALID_RULE, f"{where}.status")
        # The flags come from SQL because item data may hold any key, the marker's included.
        if row.metrics_invalid:
            add_finding(row.run_id, JSON_INVALID_RULE, f"{where}.metrics_json")
        if row.details_invalid:
            add_finding(row.run_id, JSON_INVALID_RULE, f"{where}.details_json")
        if _json_bytes(row.metrics_json) > limits.max_metrics_bytes:
            add_finding(row.run_id, "item.metrics_bytes", f"{where}.metrics_json")
        if _json_bytes(row.details_json) > limits.max_details_bytes:
            add_finding(row.run_id, "item.details_bytes", f"{where}.details_json")
        if row.error_message is not None and len(row.error_message) > limits.max_error_chars:
            add_finding(row.run_id, "item.error_chars", f"{where}.error_message")


def _json_bytes(value: Any) -> int:
    return 0 if value is None else serialized_size(value)
