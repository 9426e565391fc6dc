"""Sorting and paging of the run list: a whitelist of sort fields and a nulls-last rule.

Rows without a sort value come last in both directions: a pending run has no ``started_at``, a
running run no ``completed_at`` or ``duration_ms``. Ties are broken by ``id`` in the sort
direction, so consecutive pages never overlap or skip a row.

Each page is read in two parts. First come the rows that have a value, ordered by
``(value, id)``, which an index on ``(column, id)`` serves in either direction on SQLite and
PostgreSQL. Only when that part runs out come the rows without a value, ordered by ``id``. A single
``ORDER BY column DESC NULLS LAST`` would be simpler but PostgreSQL cannot serve it from an
ascending index, so it would sort every matching row.

How a page finds its rows depends on how many runs match, a number that the count of the first
page gives (the cursor carries it to the next pages). Up to the count cap, the matches are found
through the filters' indexes and sorted: at most a thousand rows. Beyond it, the page walks the
sort's index and skips the runs that do not match, which stops after about 21 rows divided by
the share of runs that match. Walking an index for a filter that matches few or no runs reads
every run in it. A task key with a status it never has took over 100 ms at 1,000,000 runs.
Several values of a filter that has an index on (filter, sort column, id), such as several
statuses sorted by task key or by duration, are read one value at a time instead, each from its
own range of that index, and merged (``_branch_field``).

Pages are read into ``RunRow`` tuples, with statements built once per shape of query and
compiled once (``storage.driver``), because on SQLite the Python work around a keyset page
otherwise cost about ten times its SQL (see ``benchmarks/results/list.md``). On SQLite a page
and a category with a trigger source are also steered by counts (``lifecycle.filter_lead``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache, partial
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Integer,
    Select,
    bindparam,
    func,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.orm import InstrumentedAttribute

from taskrun_center.errors import InvalidQueryError
from taskrun_center.lifecycle.cursor import require_column_kind
from taskrun_center.lifecycle.planner_hints import NotIndexed, Unindexable
from taskrun_center.lifecycle.query_reasons import EXPECTED_ONE_OF, fill
from taskrun_center.lifecycle.run_filter import (
    SEARCH_HIDDEN,
    BoundFilter,
    FilterShape,
    shape_conditions,
    value_param,
)
from taskrun_center.storage.driver import compiled_for
from taskrun_center.storage.models import TaskRun
from taskrun_center.storage.rows import RUN_ROW_COLUMNS, RunRow

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
class PageRows:
    """The runs of one page, and whether more runs follow them."""

    runs: list[RunRow]
    more: bool


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


def position_of(run: RunRow, spec: SortSpec) -> Position:
    """Return where ``run`` sits in the order of ``spec``."""
    return Position(getattr(run, spec.column.key), run.id)


def fetch_from_offset(connection: Connection, bound: BoundFilter, spec: SortSpec, *,
                      offset: int, count: int, many: bool = False) -> PageRows:
    """Return up to ``count`` runs starting at row ``offset`` of the sorted list.

    ``many`` is True when more runs match than the count cap (see the module docstring).
    """
    statement = _page_statements(bound, spec, many)
    paging = {"offset": offset, "limit": count}
    rows = _rows(connection, statement(with_value=True, after=False), {**bound.params, **paging})
    if rows.more or not spec.nullable:
        return rows

    # The rows with a value ran out on this page. Unless some were on it, the null part
    # starts at ``offset`` minus the number of rows that have a value.
    null_offset = 0
    if not rows.runs and offset > 0:
        with_value = _count(connection,
                            _count_statement(bound.shape, with_value_of=spec.field), bound.params)
        null_offset = max(0, offset - with_value)
    nulls = _rows(connection, statement(with_value=False, after=False),
                  {**bound.params, "offset": null_offset, "limit": count - len(rows.runs)})
    return PageRows(rows.runs + nulls.runs, nulls.more)


def fetch_after(connection: Connection, bound: BoundFilter, spec: SortSpec, *,
                after: Position, count: int, many: bool = False) -> PageRows:
    """Return up to ``count`` runs that come after ``after`` in the sorted list.

    ``many`` is True when more runs match than the count cap (see the module docstring).

    Raises:
        InvalidQueryError: ``after`` contains a value that only SQLite stores, such as text in
            place of a duration, and the database is another.
    """
    if connection.dialect.name != "sqlite":
        require_column_kind(after.value, spec.value_kind)
    statement = _page_statements(bound, spec, many)
    if after.value is None:
        return _rows(connection, statement(with_value=False, after=True),
                     {**bound.params, "after_id": after.id, "limit": count})

    params = {**bound.params, "after_value": after.value, "after_id": after.id, "limit": count}
    rows = _rows(connection, statement(with_value=True, after=True), params)
    if rows.more or not spec.nullable:
        return rows
    nulls = _rows(connection, statement(with_value=False, after=False),
                  {**bound.params, "offset": 0, "limit": count - len(rows.runs)})
    return PageRows(rows.runs + nulls.runs, nulls.more)


def _page_statements(bound: BoundFilter, spec: SortSpec,
                     many: bool) -> Callable[..., Select[Any]]:
    """Return a builder of the page's statements (``with_value``, ``after``) for ``many``."""
    branched = _branch_field(bound, spec, many)
    if branched is not None:
        return partial(_branched_statement, bound.shape, spec.field, spec.descending,
                       field=branched, branches=len(bound.values_of(branched)))

    walk = partial(_rows_statement, bound.shape, spec.field, spec.descending,
                   hidden=_hidden_filters(bound, spec, many),
                   unindexable=_unindexable_filters(bound, spec, many),
                   sort_matches=not many)
    if not many or not _values_unexpected(bound, spec):
        return walk

    # Only the runs without a value are expected. The sort's index would be walked to its end
    # to find the runs with one (3.7 s at 1,000,000 runs), so the filters find them instead.
    find = partial(_rows_statement, bound.shape, spec.field, spec.descending,
                   sort_matches=True)

    def build(*, with_value: bool, after: bool) -> Select[Any]:
        return (find if with_value else walk)(with_value=with_value, after=after)

    return build


# The statuses whose runs have no value in a sort column: a pending run has not started, and a
# pending or running one has not finished. Hand-edited rows may still have one, so the page
# looks for them, only not by walking the sort's index.
_STATUSES_WITHOUT_VALUE = {
    "started_at": frozenset({"pending"}),
    "completed_at": frozenset({"pending", "running"}),
    "duration": frozenset({"pending", "running"}),
}


def _values_unexpected(bound: BoundFilter, spec: SortSpec) -> bool:
    """Return True when every status of the filter leaves the sort column empty."""
    statuses = bound.values_of("status")
    return bool(statuses) and set(statuses) <= _STATUSES_WITHOUT_VALUE.get(spec.field, set())


def count_runs(connection: Connection, bound: BoundFilter, *,
               stop_after: int | None = None) -> int:
    """Count the runs matching ``bound``.

    With ``stop_after``, counting stops at ``stop_after + 1`` rows, so the cost is bounded
    whatever the size of the table, and a result above ``stop_after`` means "more".

    The rows are counted in whatever order an index gives them. In the page's order,
    PostgreSQL read them through the sort's index and fetched each row to test the filter: 6
    to 27 ms at 1,000,000 runs for a status filter or a task key with two trigger sources,
    where a filter index alone takes under 0.5 ms. Without an order, PostgreSQL chose bitmap
    scans for a task key with its category, because it took the two columns as independent.
    The extended statistics of migration 0005 record that the category follows from the task
    key. On SQLite an order can make it sort every match before the limit.
    """
    if stop_after is None:
        return _count(connection, _count_statement(bound.shape), bound.params)
    return _count(connection, _count_statement(bound.shape, capped=True),
                  {**bound.params, "cap": stop_after + 1})


def _count(connection: Connection, statement: Select[Any], params: dict[str, Any]) -> int:
    return int(connection.scalar(statement, params) or 0)


def _rows(connection: Connection, statement: Select[Any], params: dict[str, Any]) -> PageRows:
    """Run a page statement for ``params["limit"]`` runs, plus a row that shows if more follow.

    Only the runs returned are converted: the extra row would cost a twentieth of a page's
    JSON and timestamp parsing for one boolean.
    """
    # Precompiled, because SQLAlchemy's execution of a page cost about as much as SQLite's
    # query. Side by side, a keyset page of one task key went from 7.7x to 8.9x faster than OFFSET.
    count = params["limit"]
    rows = compiled_for(statement, connection.dialect).fetch_all(
        connection, {**params, "limit": count + 1}, convert=count)
    return PageRows(list(map(RunRow._make, rows[:count])), len(rows) > count)


# Statements are built once per shape of query and then reused with new parameters: on SQLite,
# building a statement and its cache key costs more than running a keyset page. There are few
# shapes (which filter fields are set, sort, direction, part), and the bound keeps the memory
# small whatever filters clients send.
_STATEMENTS_CACHED = 1024


@lru_cache(maxsize=_STATEMENTS_CACHED)
def _rows_statement(shape: FilterShape, sort: str, descending: bool, *, with_value: bool,
                    after: bool, hidden: tuple[str, ...] = (),
                    unindexable: tuple[str, ...] = (),
                    sort_matches: bool = False) -> Select[Any]:
    """Build the page query: the rows with a sort value, or those without one, of ``shape``.

    ``hidden`` filters are kept out of SQLite's index choice; with ``sort_matches`` no index
    serves the order, so the planners find the matches by the filters and sort them.
    Parameters: the filter's, ``limit``, then ``offset`` or (with ``after``) ``after_id`` and,
    for the rows with a value, ``after_value``.
    """
    spec = _spec(sort, descending)
    if not with_value and "task_key" in shape.lists:
        # The task's (task_key, column, id) index finds its runs without a value directly. A
        # visible status would let SQLite pick (status, column, id) and read every pending run.
        hidden = (*hidden, "status")
    conditions = shape_conditions(shape, hidden, unindexable)
    conditions += _sort_conditions(spec, with_value=with_value, after=after,
                                   sort_matches=sort_matches)
    ordering = _ordering(spec, with_value=with_value, sort_matches=sort_matches)
    statement = select(*RUN_ROW_COLUMNS).where(*conditions).order_by(*ordering)
    statement = statement.limit(bindparam("limit", type_=Integer()))
    if after:
        return statement
    return statement.offset(bindparam("offset", type_=Integer()))


@lru_cache(maxsize=_STATEMENTS_CACHED)
def _branched_statement(shape: FilterShape, sort: str, descending: bool, *, field: str,
                        branches: int, with_value: bool, after: bool) -> Select[Any]:
    """Build the page query as one branch per value of ``field``, merged in the page's order.

    Each branch reads the ``(field, column, id)`` index from where the page starts. It stops
    after the rows the page could need: the limit, plus the offset without ``after``. The other
    filters are checked on the rows it reads. Parameters: those of ``_rows_statement``, with
    the values of ``field`` one by one (``value_param``).
    """
    spec = _spec(sort, descending)
    rest = shape.without(field)
    shared = shape_conditions(rest, hidden=(*rest.lists, SEARCH_HIDDEN))
    shared += _sort_conditions(spec, with_value=with_value, after=after, sort_matches=False)
    ordering = _ordering(spec, with_value=with_value, sort_matches=False)
    limit = bindparam("limit", type_=Integer())
    reach = limit if after else limit + bindparam("offset", type_=Integer())
    column = getattr(TaskRun, field)
    parts = [
        select(*RUN_ROW_COLUMNS)
        .where(column == bindparam(value_param(field, index), type_=column.type), *shared)
        .order_by(*ordering).limit(reach).subquery(f"branch_{index}")
        for index in range(branches)
    ]

    merged = union_all(*(select(part) for part in parts)).subquery("merged")
    keys = (merged.c[spec.column.key], merged.c.id) if with_value else (merged.c.id,)
    statement = (
        select(*(merged.c[name] for name in RunRow._fields))
        .order_by(*(key.desc() if spec.descending else key.asc() for key in keys))
        .limit(limit)
    )
    return statement if after else statement.offset(bindparam("offset", type_=Integer()))


@lru_cache(maxsize=_STATEMENTS_CACHED)
def _count_statement(shape: FilterShape, *, with_value_of: str | None = None,
                     capped: bool = False) -> Select[Any]:
    """Build ``count(*)`` of the runs of ``shape``, or of those with a ``with_value_of`` value.

    A ``capped`` count reads at most the parameter ``cap`` rows.
    """
    conditions = shape_conditions(shape)
    if with_value_of is not None:
        conditions.append(resolve_sort(with_value_of, "asc").column.is_not(None))
    if not capped:
        return select(func.count()).select_from(TaskRun).where(*conditions)

    matching = select(TaskRun.id).where(*conditions)
    limited = matching.limit(bindparam("cap", type_=Integer())).subquery()
    return select(func.count()).select_from(limited)


def _hidden_filters(bound: BoundFilter, spec: SortSpec, many: bool) -> tuple[str, ...]:
    """Return the filters to keep out of SQLite's index choice for a page.

    With more matches than the count cap, a search is one of them: the page walks an index in
    its order and tests the search on each run it reads, which stops after a page of matches.
    """
    hidden = _hidden_list_fields(bound, spec, many)
    if many and bound.shape.search:
        return (*hidden, SEARCH_HIDDEN)
    return hidden


def _hidden_list_fields(bound: BoundFilter, spec: SortSpec, many: bool) -> tuple[str, ...]:
    """Return the list fields to keep out of SQLite's index choice for a page.

    A page sorted by another column than ``started_at`` can read the sort's index in order and
    skip the runs that do not match, or read a filter's index and sort every match. SQLite has
    no statistics to choose with, and picks the filter's index. That is right for a few
    matches and slow for many: with 800,000 matches one page took over a second. So when more
    runs match than the count cap, the filters other than the sort column are hidden and SQLite
    reads the sort's index. A page then reads about 21 rows divided by the share of runs that
    match.
    One task key is the exception: an index on ``(task_key, column, id)`` serves both the key
    and the order of these sorts, so the key stays and the other filters are hidden. The task
    key sort of one category, status or trigger source is another (``_task_key_walk``), and
    so are the sorts of ``_one_value_index``.
    PostgreSQL chooses by its statistics and ignores the hint.
    """
    shape = bound.shape
    if not many:
        return ()
    if spec.field == "started_at":
        # The task's (task_key, [trigger_source,] started_at, id) index serves both the key and
        # the order. A visible status would steer SQLite to (task_key, status, id) and a sort.
        return ("status",) if "task_key" in shape.lists and "status" in shape.lists else ()
    indexed_field = spec.column.key
    if _one_value(shape, "task_key") and spec.field in _TASK_SORTS:
        indexed_field = "task_key"
    elif spec.field == "task_key":
        indexed_field = _task_key_walk(bound) or indexed_field
    elif "task_key" not in shape.lists:
        indexed_field = _one_value_index(shape, spec) or indexed_field
    return tuple(field for field in shape.lists if field != indexed_field)


def _one_value_index(shape: FilterShape, spec: SortSpec) -> str | None:
    """Return the filter of one value whose ``(field, column, id)`` index serves ``spec``.

    Durations follow the task, and so, mostly, the trigger source: walking the duration index
    for one of them passed whole tasks of long runs without a match. So one status or trigger
    source sorted by duration walks its own duration index, a status first. One trigger source
    sorted by status walks (trigger_source, status, id). Beside a status or a category filter
    the trigger source never leads: the status index seeks the wanted statuses directly, and a
    category has fewer runs.
    """
    if spec.field == "duration" and _one_value(shape, "status"):
        return "status"
    # A category or status names fewer runs than a trigger source, as a rule.
    trigger_leads = _one_value(shape, "trigger_source") and not (
        "task_category" in shape.lists or "status" in shape.lists
    )
    return "trigger_source" if trigger_leads and spec.field in ("duration", "status") else None


# The list fields with an index on (field, duration_ms, id).
_DURATION_FIELDS = ("status", "trigger_source")


def _unindexable_filters(bound: BoundFilter, spec: SortSpec, many: bool) -> tuple[str, ...]:
    """Return the list fields to keep out of PostgreSQL's index choice as well as SQLite's.

    With one category and one status in the task key sort, PostgreSQL too walks the index
    that ``_task_key_walk`` picks: by its statistics it took the status index for completed
    runs, 371 ms at 1,000,000 runs.
    """
    both = _one_value(bound.shape, "task_category") and _one_value(bound.shape, "status")
    if not (many and spec.field == "task_key" and both):
        return ()
    walked = _task_key_walk(bound)
    return tuple(field for field in ("task_category", "status") if field != walked)


def _task_key_walk(bound: BoundFilter) -> str | None:
    """Return the filter whose ``(field, task_key, id)`` index a task key sort walks, if any.

    A category's runs are those of a few task keys, and so are the failed runs, often. Walking
    the (task_key, id) index passes every run of the keys sorted before them, while
    (task_category | status, task_key, id) starts at the first match of one value. Given both,
    the status index is walked unless the status is ``completed``, the status of most runs:
    in task key order a category's runs come in blocks, so the completed runs of every other
    category would come first. A rarer status is met sooner in its own index. The runs of one
    trigger source come in blocks too (the scheduled tasks, the ones people start), so one
    trigger source without several values of another filter walks its own index.
    """
    shape = bound.shape
    if "task_key" in shape.lists:
        return None
    category, status = _one_value(shape, "task_category"), _one_value(shape, "status")
    if category and status:
        return "task_category" if bound.values_of("status") == ("completed",) else "status"
    if category:
        return "task_category"
    if status:
        return "status"
    return "trigger_source" if _one_value(shape, "trigger_source") and not shape.many else None


# For each sort, the list fields with an index on (field, sort column, id).
_BRANCH_FIELDS = {
    "task_key": ("status", "task_category", "trigger_source"),
    "duration": _DURATION_FIELDS,
    "status": ("trigger_source",),
}


def _branch_field(bound: BoundFilter, spec: SortSpec, many: bool) -> str | None:
    """Return the list field whose values a page reads one at a time, if any.

    Take several statuses or categories sorted by task key. Walking the (task_key, id) index
    passes every run of the keys that have none of them: 330 ms at 1,000,000 runs for the
    failed and completed_with_errors runs. The (status, task_key, id) index serves one status
    only. So each value gets a branch that seeks in that index and reads at most a page, and
    the page merges the branches. A single value is walked as ``_task_key_walk`` chooses.
    Several trigger sources sorted by task key or status, and several statuses or trigger
    sources sorted by duration, are read the same way, from
    (trigger_source, task_key | status, id) and (field, duration_ms, id).

    In the duration and status sorts the field must be the only filter. A branch reads every
    run of its value when another filter rejects them all (the failed and
    completed_with_errors runs started by a person, where only the failed ones were: 260 ms by
    duration), while the walk of the sort index meets matches in proportion to their share of
    all runs.
    """
    shape = bound.shape
    if not many or "task_key" in shape.lists:
        return None
    if spec.field == "task_key" and _task_key_walk(bound) is not None:
        return None
    fields = _BRANCH_FIELDS.get(spec.field, ())
    field = next((name for name in fields if name in shape.many), None)
    if field is None or len(bound.values_of(field)) > _MAX_BRANCHES:
        return None
    if spec.field != "task_key" and replace(shape, sizes=()) != FilterShape(lists=(field,),
                                                                           many=(field,)):
        return None
    return field


# More values than this are walked as before: a branch costs up to a page of rows, while so
# many values of one field make their runs common enough for the walk to meet them soon.
_MAX_BRANCHES = 20


# The sorts with an index on (task_key, column, id). The task key sort has its own index.
_TASK_SORTS = frozenset({"completed_at", "duration", "status"})


def _one_value(shape: FilterShape, field: str) -> bool:
    return field in shape.lists and field not in shape.many


def _sort_conditions(spec: SortSpec, *, with_value: bool, after: bool,
                     sort_matches: bool) -> list[ColumnElement[bool]]:
    """Return the conditions on the sort column: which part of the page, and where it starts.

    With ``sort_matches`` the filters alone choose the index. The planners would otherwise
    read ``column IS NOT NULL`` (SQLite) or the keyset bound (both) as a range of (column, id)
    or of (status, column, id), which spans the runs of every task. ``column IS NULL`` stays
    visible: with a task key, (task_key, column, id) finds the task's runs without a value.
    """
    row_id: Any = Unindexable(TaskRun.id, type_=TaskRun.id.type) if sort_matches else TaskRun.id
    if not with_value:
        conditions: list[ColumnElement[bool]] = [spec.column.is_(None)]
        if after:
            conditions.append(row_id < _after_id() if spec.descending else row_id > _after_id())
        return conditions

    present: Any = NotIndexed(spec.column, type_=spec.column.type) if sort_matches \
        else spec.column
    conditions = [present.is_not(None)] if spec.nullable else []
    if after:
        value: Any = Unindexable(spec.column, type_=spec.column.type) if sort_matches \
            else spec.column
        key = tuple_(value, row_id)
        position = tuple_(bindparam("after_value", type_=spec.column.type), _after_id())
        conditions.append(key < position if spec.descending else key > position)
    return conditions


def _ordering(spec: SortSpec, *, with_value: bool,
              sort_matches: bool) -> tuple[ColumnElement[Any], ...]:
    """Return ORDER BY: (column, id) for the rows with a value, id for the others."""
    first: Any = spec.column if with_value else TaskRun.id
    if sort_matches:
        first = Unindexable(first, type_=first.type)
    keys = (first, TaskRun.id) if with_value else (first,)
    return tuple(key.desc() if spec.descending else key.asc() for key in keys)


def _spec(sort: str, descending: bool) -> SortSpec:
    return resolve_sort(sort, "desc" if descending else "asc")


def _after_id() -> BindParameter[int]:
    return bindparam("after_id", type_=TaskRun.id.type)
