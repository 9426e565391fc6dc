"""The read service: the run list, run detail, items and error logs.

Paging rules, the same for every list: ``page`` is 1 to ``MAX_PAGE`` and ``limit`` is 1 to
``MAX_LIMIT``. Anything else raises ``InvalidQueryError`` naming the parameter, because silently
clamping would hide a client bug. A page past the end is empty.

A run_id that no run can have (longer than the column's 36 characters, or containing NUL)
raises ``RunNotFoundError`` without a query, because PostgreSQL rejects NUL in a parameter.

The run list also returns ``next_cursor``, an opaque keyset cursor. Passing it back, with the same
filter, sort and order and ``page`` left at 1, reads the next page by seeking in an index instead
of skipping rows. So page 1,000 costs about what page 1 costs.

The total: an exact ``count(*)`` of a million runs takes longer than the whole page should
(tens of ms on SQLite, hundreds on PostgreSQL, see ``benchmarks/results/list.md``). So
``list_runs`` counts at most ``total_cap`` + 1 matching rows (1,000 by default, which keeps the
count within a few ms even for a filter that no index covers). Up to the cap
``total`` is exact; beyond it ``total`` equals the cap and ``total_exact`` is False, which means
"more than ``total``". Pass ``exact_total=True`` or call ``count_runs`` for the exact number.
The first page counts and the cursor carries the result, so deep pages do not count again and
show the total as of the first page.

Nothing here writes; the caller owns the unit of work: a session, or a Core connection from
``Database.read_connection()``, which serves the run list without an ORM session's cost.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from taskrun_center.config import get_settings
from taskrun_center.errors import InvalidQueryError, RunNotFoundError
from taskrun_center.lifecycle.cursor import RunCursor, cursor_key, decode_cursor, encode_cursor
from taskrun_center.lifecycle.filter_lead import lead_by_counts
from taskrun_center.lifecycle.query_reasons import (
    NOT_ONE_OF,
    OUT_OF_RANGE,
    PAGE_WITH_CURSOR,
    fill,
)
from taskrun_center.lifecycle.run_filter import BoundFilter, RunFilter, bind_filter, check_filter
from taskrun_center.lifecycle.run_order import (
    SORT_FIELDS,
    PageRows,
    Position,
    SortSpec,
    count_runs,
    fetch_after,
    fetch_from_offset,
    position_of,
    resolve_sort,
)
from taskrun_center.lifecycle.search_plan import resolve_search
from taskrun_center.states import ItemStatus
from taskrun_center.storage.models import TaskRun, TaskRunItem
from taskrun_center.storage.rows import RunRow
from taskrun_center.storage.unit_of_work import CallerWork

__all__ = [
    "MAX_ERROR_LOG_ITEMS",
    "MAX_LIMIT",
    "MAX_PAGE",
    "SORT_FIELDS",
    "TOTAL_COUNT_CAP",
    "ErrorLogs",
    "ItemPage",
    "RunFilter",
    "RunPage",
    "TaskRunsReadService",
    "is_possible_run_id",
]

MAX_LIMIT = 100
# Deeper pages are read with the cursor. The cap also keeps the row offset, (page - 1) * limit,
# within the 64-bit integers that SQLite and PostgreSQL accept.
MAX_PAGE = 1_000_000
# Length of the run_id column (a UUID in text form).
RUN_ID_MAX_CHARS = 36
# list_runs counts exactly up to this many matching runs; see the module docstring.
TOTAL_COUNT_CAP = 1_000
# Failed items returned by error_logs; error_count still counts all of them.
MAX_ERROR_LOG_ITEMS = 1000


@dataclass(frozen=True, slots=True)
class RunPage:
    """One page of the run list; ``next_cursor`` is None on the last page.

    ``total_exact`` is False when more than ``total`` runs match (see the module docstring);
    ``pages`` is then a lower bound too.
    """

    items: list[RunRow]
    total: int
    page: int
    pages: int
    limit: int
    next_cursor: str | None
    total_exact: bool = True


@dataclass(frozen=True, slots=True)
class ItemPage:
    """One page of a run's items, in the order they were declared."""

    items: list[TaskRunItem]
    total: int
    page: int
    pages: int
    limit: int


@dataclass(frozen=True, slots=True)
class ErrorLogs:
    """A run with its failed items (at most MAX_ERROR_LOG_ITEMS) and the count of all of them."""

    run: TaskRun
    items: list[TaskRunItem]
    error_count: int


class TaskRunsReadService:
    """Reads runs and items in the caller's unit of work; see the module docstring for paging."""

    def __init__(self, session: Session | Connection, *, cursor_secret: str | None = None,
                 total_cap: int = TOTAL_COUNT_CAP) -> None:
        """Read through ``session``, an ORM session or a Core connection.

        Cursors are signed with a key derived from ``cursor_secret`` (default: the configured
        ``secret_key``). ``total_cap`` bounds the count of ``list_runs``.
        """
        self._work = CallerWork(session)
        self.total_cap = total_cap
        secret = cursor_secret if cursor_secret is not None else get_settings().secret_key
        self._cursor_key = cursor_key(secret)

    @property
    def session(self) -> Session:
        """The ORM session that run detail reads through (on the caller's connection if given)."""
        return self._work.session

    def list_runs(
        self,
        run_filter: RunFilter | None = None,
        *,
        sort: str = "started_at",
        order: str = "desc",
        page: int = 1,
        limit: int = 20,
        cursor: str | None = None,
        exact_total: bool = False,
    ) -> RunPage:
        """Return one page of runs matching ``run_filter``, sorted with missing values last.

        The total is exact up to ``total_cap`` matches, or always with ``exact_total``.

        Raises:
            InvalidQueryError: a filter value, ``sort``, ``order``, ``page``, ``limit`` or
                ``cursor`` is invalid; names the parameter.
        """
        run_filter = run_filter or RunFilter()
        check_filter(run_filter)
        spec = resolve_sort(sort, order)
        _check_paging(page, limit)
        connection = self._work.connection()
        bound = resolve_search(connection, bind_filter(run_filter), run_filter.search)
        # A cursor is tied to its filter: the fingerprint checks the one given and signs the next.
        fingerprint = run_filter.fingerprint()

        if cursor:
            if page != 1:
                raise InvalidQueryError("page", PAGE_WITH_CURSOR)
            position = self._open_cursor(cursor, spec, limit, fingerprint)
            page, total, total_exact = position.page, position.total, position.total_exact
            many = self._many(total, total_exact)
            rows = fetch_after(connection, bound if many else lead_by_counts(connection, bound),
                               spec, after=Position(position.last_value, position.last_id),
                               count=limit, many=many)
        else:
            led = lead_by_counts(connection, bound)
            total, total_exact = self._count(led, exact_total)
            many = self._many(total, total_exact)
            offset = (page - 1) * limit
            # An exact count at or below the offset means an empty page: no need to look again
            # for runs that the count just found missing.
            rows = PageRows([], more=False) if total_exact and offset >= total else \
                fetch_from_offset(connection, bound if many else led, spec, offset=offset,
                                  count=limit, many=many)

        items = rows.runs
        next_cursor = None
        if rows.more:
            next_position = position_of(items[-1], spec)
            next_cursor = encode_cursor(
                RunCursor(sort=spec.field, order=spec.order, last_value=next_position.value,
                          last_id=next_position.id, filter_fingerprint=fingerprint,
                          page=page + 1, limit=limit, total=total, total_exact=total_exact),
                self._cursor_key,
            )
        return RunPage(items=items, total=total, page=page, pages=_page_count(total, limit),
                       limit=limit, next_cursor=next_cursor, total_exact=total_exact)

    def count_runs(self, run_filter: RunFilter | None = None) -> int:
        """Count the runs matching ``run_filter`` exactly.

        Raises:
            InvalidQueryError: a filter value is invalid; names the parameter.
        """
        run_filter = run_filter or RunFilter()
        check_filter(run_filter)
        connection = self._work.connection()
        bound = resolve_search(connection, bind_filter(run_filter), run_filter.search)
        return count_runs(connection, lead_by_counts(connection, bound))

    def get_run(self, run_id: str) -> TaskRun:
        """Return the run with ``run_id``.

        Raises:
            RunNotFoundError: no run has this run_id.
        """
        _check_run_id(run_id)
        run = self.session.scalar(select(TaskRun).where(TaskRun.run_id == run_id))
        if run is None:
            raise RunNotFoundError(run_id)
        return run

    def list_items(
        self,
        run_id: str,
        *,
        status: str | Sequence[str] | None = None,
        page: int = 1,
        limit: int = 50,
    ) -> ItemPage:
        """Return one page of the run's items, optionally only those in the given statuses.

        Raises:
            RunNotFoundError: no run has this run_id.
            InvalidQueryError: ``status``, ``page`` or ``limit`` is invalid.
        """
        statuses = _item_statuses(status)
        _check_paging(page, limit)
        self._require_run(run_id)

        conditions = [TaskRunItem.run_id == run_id]
        if statuses:
            conditions.append(TaskRunItem.status.in_(statuses))
        total = self.session.scalar(
            select(func.count()).select_from(TaskRunItem).where(*conditions)
        ) or 0
        statement = (
            select(TaskRunItem).where(*conditions).order_by(TaskRunItem.id)
            .offset((page - 1) * limit).limit(limit)
        )
        items = list(self.session.scalars(statement))
        return ItemPage(items=items, total=total, page=page, pages=_page_count(total, limit),
                        limit=limit)

    def error_logs(self, run_id: str, *, limit: int = MAX_ERROR_LOG_ITEMS) -> ErrorLogs:
        """Return the run with its failed items, oldest first, and the count of failed items.

        Raises:
            RunNotFoundError: no run has this run_id.
            InvalidQueryError: ``limit`` is not between 1 and MAX_ERROR_LOG_ITEMS.
        """
        if not _is_int(limit) or not 1 <= limit <= MAX_ERROR_LOG_ITEMS:
            raise InvalidQueryError("limit", fill(OUT_OF_RANGE, maximum=MAX_ERROR_LOG_ITEMS))
        run = self.get_run(run_id)

        failed = [TaskRunItem.run_id == run_id, TaskRunItem.status == ItemStatus.FAILED.value]
        error_count = self.session.scalar(
            select(func.count()).select_from(TaskRunItem).where(*failed)
        ) or 0
        items = list(self.session.scalars(
            select(TaskRunItem).where(*failed).order_by(TaskRunItem.id).limit(limit)
        ))
        return ErrorLogs(run=run, items=items, error_count=error_count)

    def _require_run(self, run_id: str) -> None:
        _check_run_id(run_id)
        found = self.session.scalar(select(TaskRun.id).where(TaskRun.run_id == run_id))
        if found is None:
            raise RunNotFoundError(run_id)

    def _open_cursor(self, text: str, spec: SortSpec, limit: int,
                     fingerprint: str) -> RunCursor:
        return decode_cursor(text, self._cursor_key, sort=spec.field, order=spec.order,
                             limit=limit, filter_fingerprint=fingerprint,
                             value_kind=spec.value_kind)

    def _many(self, total: int, total_exact: bool) -> bool:
        # More matches than the cap: reading the sort's index beats sorting every match.
        return not total_exact or total > self.total_cap

    def _count(self, bound: BoundFilter, exact: bool) -> tuple[int, bool]:
        connection = self._work.connection()
        if exact:
            return count_runs(connection, bound), True
        counted = count_runs(connection, bound, stop_after=self.total_cap)
        if counted > self.total_cap:
            return self.total_cap, False
        return counted, True


def _check_paging(page: int, limit: int) -> None:
    if not _is_int(page) or not 1 <= page <= MAX_PAGE:
        raise InvalidQueryError("page", fill(OUT_OF_RANGE, maximum=f"{MAX_PAGE:,}"))
    if not _is_int(limit) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidQueryError("limit", fill(OUT_OF_RANGE, maximum=MAX_LIMIT))


def is_possible_run_id(run_id: object) -> bool:
    """Return whether a run could have ``run_id``: text of at most 36 characters without NUL."""
    return isinstance(run_id, str) and len(run_id) <= RUN_ID_MAX_CHARS and "\x00" not in run_id


def _check_run_id(run_id: str) -> None:
    if not is_possible_run_id(run_id):
        raise RunNotFoundError(run_id)


def _item_statuses(status: str | Sequence[str] | None) -> list[str]:
    if status is None:
        return []
    values = [status] if isinstance(status, str) else list(status)
    statuses = [part.strip() for value in values for part in str(value).split(",") if part.strip()]
    known = {member.value for member in ItemStatus}
    for value in statuses:
        if value not in known:
            allowed = ", ".join(sorted(known))
            raise InvalidQueryError("status", fill(NOT_ONE_OF, value=repr(value), allowed=allowed))
    return statuses


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _page_count(total: int, limit: int) -> int:
    return math.ceil(total / limit)
