"""Sorting and paging of the run list: a whitelist of sort fields and a nulls-last rule.

Rows without a sort value come last in both directions: a pending run has no ``started_at``, a
running run no ``completed_at`` or ``duration_ms``. Ties are broken by ``id`` in the sort
direction, so consecutive pages never overlap or skip a row.

Each page is read in two parts. First come the rows that have a value, ordered by
``(value, id)``, which an index on ``(column, id)`` serves in either direction on SQLite and
PostgreSQL. Only when that part runs out come the rows without a value, ordered by ``id``. A single
``ORDER BY column DESC NULLS LAST`` would be simpler but PostgreSQL cannot serve it from an
ascending index, so it would sort every matching row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, literal, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from taskrun_center.errors import InvalidQueryError
from taskrun_center.lifecycle.query_reasons import EXPECTED_ONE_OF, fill
from taskrun_center.storage.models import TaskRun

SORT_FIELDS = ("started_at", "completed_at", "duration", "status", "task_key")
SORT_ORDERS = ("asc", "desc")


@dataclass(frozen=True, slots=True)
class SortSpec:
    """A validated sort: the column behind a public sort field and the direction."""

    field: str
    column: InstrumentedAttribute[Any]
    nullable: bool
    value_kind: type
    descending: bool

    @property
    def order(self) -> str:
        return "desc" if self.descending else "asc"


# The public field names map to columns here and nowhere else; "duration" is ``duration_ms``.
_SORT_COLUMNS: dict[str, tuple[InstrumentedAttribute[Any], bool, type]] = {
    "started_at": (TaskRun.started_at, True, datetime),
    "completed_at": (TaskRun.completed_at, True, datetime),
    "duration": (TaskRun.duration_ms, True, int),
    "status": (TaskRun.status, False, str),
    "task_key": (TaskRun.task_key, False, str),
}


@dataclass(frozen=True, slots=True)
class Position:
    """The sort value and id of the last row of a page; the next page starts after it."""

    value: Any
    id: int


def resolve_sort(sort: str, order: str) -> SortSpec:
    """Map a public sort field and order to a column.

    Raises:
        InvalidQueryError: ``sort`` is not one of SORT_FIELDS or ``order`` not asc/desc.
    """
    if sort not in _SORT_COLUMNS:
        raise InvalidQueryError("sort", fill(EXPECTED_ONE_OF, allowed=", ".join(SORT_FIELDS)))
    if order not in SORT_ORDERS:
        raise InvalidQueryError("order", fill(EXPECTED_ONE_OF, allowed="asc, desc"))
    column, nullable, value_kind = _SORT_COLUMNS[sort]
    return SortSpec(sort, column, nullable, value_kind, descending=order == "desc")


def position_of(run: TaskRun, spec: SortSpec) -> Position:
    """Return where ``run`` sits in the order of ``spec``."""
    return Position(getattr(run, spec.column.key), run.id)


def fetch_from_offset(
    session: Session,
    conditions: list[ColumnElement[bool]],
    spec: SortSpec,
    *,
    offset: int,
    count: int,
) -> list[TaskRun]:
    """Return up to ``count`` runs starting at row ``offset`` of the sorted list."""
    rows = _run_query(session, _with_value(conditions, spec), spec, offset=offset, count=count)
    if len(rows) >= count or not spec.nullable:
        return rows

    # The rows with a value ran out on this page. Unless some were on it, the null part
    # starts at ``offset`` minus the number of rows that have a value.
    null_offset = 0
    if not rows and offset > 0:
        null_offset = max(0, offset - count_runs(session, _with_value(conditions, spec)))
    nulls = _null_query(session, conditions, spec, after_id=None, offset=null_offset,
                        count=count - len(rows))
    return rows + nulls


def fetch_after(
    session: Session,
    conditions: list[ColumnElement[bool]],
    spec: SortSpec,
    *,
    after: Position,
    count: int,
) -> list[TaskRun]:
    """Return up to ``count`` runs that come after ``after`` in the sorted list."""
    if after.value is None:
        return _null_query(session, conditions, spec, after_id=after.id, offset=0, count=count)

    key = tuple_(spec.column, TaskRun.id)
    bound = tuple_(_bind(spec, after.value), _bind_id(after.id))
    beyond = key < bound if spec.descending else key > bound
    rows = _run_query(session, [*_with_value(conditions, spec), beyond], spec, offset=0,
                      count=count)
    if len(rows) >= count or not spec.nullable:
        return rows
    nulls = _null_query(session, conditions, spec, after_id=None, offset=0,
                        count=count - len(rows))
    return rows + nulls


def count_runs(session: Session, conditions: list[ColumnElement[bool]], *,
               stop_after: int | None = None, spec: SortSpec | None = None) -> int:
    """Count the runs matching ``conditions`` with one ``count(*)``.

    With ``stop_after``, counting stops at ``stop_after + 1`` rows, so the cost is bounded
    whatever the size of the table, and a result above ``stop_after`` means "more". The rows
    are then read in the order of ``spec``, the order of the page itself. Without an order,
    PostgreSQL may combine two indexes into bitmaps and read every match of each index before
    the limit applies. In the page's order it reads the index that serves the page.
    """
    if stop_after is None:
        statement = select(func.count()).select_from(TaskRun).where(*conditions)
        return int(session.scalar(statement) or 0)

    matching = select(TaskRun.id).where(*conditions)
    if spec is not None:
        matching = matching.order_by(*_ordering(spec))
    limited = matching.limit(stop_after + 1).subquery()
    return int(session.scalar(select(func.count()).select_from(limited)) or 0)


def _with_value(conditions: list[ColumnElement[bool]],
                spec: SortSpec) -> list[ColumnElement[bool]]:
    if not spec.nullable:
        return conditions
    return [*conditions, spec.column.is_not(None)]


def _run_query(session: Session, conditions: list[ColumnElement[bool]], spec: SortSpec, *,
               offset: int, count: int) -> list[TaskRun]:
    statement = (
        select(TaskRun).where(*conditions).order_by(*_ordering(spec)).offset(offset)
        .limit(count)
    )
    return list(session.scalars(statement))


def _ordering(spec: SortSpec) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    if spec.descending:
        return spec.column.desc(), TaskRun.id.desc()
    return spec.column.asc(), TaskRun.id.asc()


def _null_query(session: Session, conditions: list[ColumnElement[bool]], spec: SortSpec, *,
                after_id: int | None, offset: int, count: int) -> list[TaskRun]:
    where = [*conditions, spec.column.is_(None)]
    if after_id is not None:
        where.append(TaskRun.id < after_id if spec.descending else TaskRun.id > after_id)
    ordering = TaskRun.id.desc() if spec.descending else TaskRun.id.asc()
    statement = select(TaskRun).where(*where).order_by(ordering).offset(offset).limit(count)
    return list(session.scalars(statement))


def _bind(spec: SortSpec, value: Any) -> Any:
    # Typed like the column, so that UTCDateTime stores the timestamp the way SQLite compares it.
    return literal(value, type_=spec.column.type)


def _bind_id(value: int) -> Any:
    return literal(value, type_=TaskRun.id.type)
