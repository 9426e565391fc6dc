"""The list page's filter (``RunFilter``) and the SQL conditions it turns into.

Values are compared through bound parameters only; no filter value reaches SQL text. The
conditions depend on the filter's shape alone (``FilterShape``), so that the statements of a
shape can be built once and reused with other values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import ColumnElement, String, bindparam, false, or_

from taskrun_center.errors import InvalidQueryError
from taskrun_center.lifecycle.planner_hints import NotIndexed, Unindexable
from taskrun_center.lifecycle.query_reasons import (
    CONTAINS_NUL,
    NOT_ONE_OF,
    RANGE_REVERSED,
    SEARCH_TOO_LONG,
    TOO_MANY_VALUES,
    fill,
    validation_reason,
)
from taskrun_center.states import RunStatus, TriggerSource
from taskrun_center.storage.models import TaskRun

# A search longer than any run_id or task name cannot match; the cap keeps LIKE patterns small.
MAX_SEARCH_CHARS = 255
# Values per list field; more than this is a client bug, not a filter a person builds.
MAX_FILTER_VALUES = 100
# Characters of a rejected time value quoted back in the error message.
_SHOWN_VALUE_CHARS = 40

_LIST_FIELDS = ("task_key", "task_category", "trigger_source", "status")
#: The name in ``shape_conditions``'s ``hidden`` that keeps the search out of the index choice.
SEARCH_HIDDEN = "search"
#: The escape character of the search's LIKE patterns.
LIKE_ESCAPE = "/"


class RunFilter(BaseModel):
    """The filter of the run list. An empty list or None leaves that field unfiltered.

    Each list field accepts several values (matched with OR) given as a list, a single string
    or a comma-separated string. The time range is half-open: ``started_from <= started_at <
    started_to``, given as ISO 8601 text or datetimes; naive ones are taken as UTC and
    numbers are rejected. ``search`` matches a case-insensitive
    substring of ``run_id`` or ``task_name``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    task_key: list[str] = []
    task_category: list[str] = []
    trigger_source: list[str] = []
    status: list[str] = []
    skipped: bool | None = None
    started_from: datetime | None = None
    started_to: datetime | None = None
    search: str | None = None

    @field_validator(*_LIST_FIELDS, mode="before")
    @classmethod
    def _split_values(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, Iterable):
            return value
        values: list[str] = []
        for entry in value:
            if not isinstance(entry, str):
                return value
            for part in entry.split(","):
                stripped = part.strip()
                if stripped and stripped not in values:
                    values.append(stripped)
        return values

    @field_validator("started_from", "started_to", mode="before")
    @classmethod
    def _reject_numbers(cls, value: Any) -> Any:
        # Pydantic reads a number, or a string of digits, as Unix seconds: 20261206 would mean
        # 1970-08-23. The documented form is ISO 8601, so a number is rejected instead.
        if _is_number(value):
            raise PydanticCustomError("datetime_number", "a number is not an ISO 8601 time",
                                      {"value": _shown(value)})
        return value

    @field_validator("started_from", "started_to")
    @classmethod
    def _to_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        try:
            return value.astimezone(UTC)
        except OverflowError:
            # 9999-12-31T23:59:59-01:00 is a valid time whose UTC form falls in year 10000.
            raise PydanticCustomError("datetime_out_of_range", "outside the range of datetime",
                                      {"value": _shown(value.isoformat())}) from None

    @field_validator("search", mode="before")
    @classmethod
    def _strip_search(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.strip() or None
        return value

    @classmethod
    def from_params(cls, **params: Any) -> RunFilter:
        """Build a filter from loose parameters (query string, CLI options).

        Raises:
            InvalidQueryError: a value has the wrong type; names the parameter.
        """
        try:
            return cls(**params)
        except ValidationError as error:
            first = error.errors()[0]
            parameter = ".".join(str(part) for part in first["loc"]) or "filter"
            reason = validation_reason(first["type"], first.get("ctx"))
            raise InvalidQueryError(parameter, reason) from None

    def fingerprint(self) -> str:
        """Return a short hash of the filter, so that a cursor is only used with its filter.

        List values are sorted first: they match with OR, so their order leaves the filter the
        same.
        """
        # repr of plain values is stable across processes and, unlike JSON, takes any text.
        values = tuple(sorted(value) if field in _LIST_FIELDS else value
                       for field, value in self.__dict__.items())
        return hashlib.sha256(repr(values).encode()).hexdigest()[:16]


def check_filter(run_filter: RunFilter) -> None:
    """Raise InvalidQueryError unless every value of the filter can match something.

    Status and trigger source must be known values, each list stays within
    ``MAX_FILTER_VALUES``, the search within ``MAX_SEARCH_CHARS``, no text contains NUL,
    and the time range must not end before it starts.
    """
    for field in _LIST_FIELDS:
        values = getattr(run_filter, field)
        if len(values) > MAX_FILTER_VALUES:
            raise InvalidQueryError(field, fill(TOO_MANY_VALUES, limit=MAX_FILTER_VALUES))
        _check_no_nul(field, values)
    if run_filter.search is not None:
        _check_no_nul("search", [run_filter.search])

    _check_known(run_filter.status, RunStatus, "status")
    _check_known(run_filter.trigger_source, TriggerSource, "trigger_source")

    if run_filter.search is not None and len(run_filter.search) > MAX_SEARCH_CHARS:
        raise InvalidQueryError("search", fill(SEARCH_TOO_LONG, limit=MAX_SEARCH_CHARS))

    start, end = run_filter.started_from, run_filter.started_to
    if start is not None and end is not None and end < start:
        raise InvalidQueryError("started_to", RANGE_REVERSED)


def _check_no_nul(parameter: str, values: list[str]) -> None:
    # PostgreSQL rejects NUL in a text parameter with a driver error. SQLite ends the LIKE
    # pattern at the NUL, so the search "a\x00b" would match every name ending in "a".
    if any("\x00" in value for value in values):
        raise InvalidQueryError(parameter, CONTAINS_NUL)


def _is_number(value: object) -> bool:
    if isinstance(value, int | float):
        return True
    if not isinstance(value, str):
        return False
    try:
        float(value.strip())
    except ValueError:
        return False
    return True


def _shown(value: object) -> str:
    text = str(value)
    if len(text) > _SHOWN_VALUE_CHARS:
        text = text[:_SHOWN_VALUE_CHARS] + "…"
    return repr(text)


_KNOWN_VALUES: dict[type[RunStatus] | type[TriggerSource], frozenset[str]] = {
    vocabulary: frozenset(member.value for member in vocabulary)
    for vocabulary in (RunStatus, TriggerSource)
}


def _check_known(values: list[str], vocabulary: type[RunStatus] | type[TriggerSource],
                 parameter: str) -> None:
    known = _KNOWN_VALUES[vocabulary]
    unknown = [value for value in values if value not in known]
    if unknown:
        allowed = ", ".join(sorted(known))
        raise InvalidQueryError(
            parameter, fill(NOT_ONE_OF, value=repr(unknown[0]), allowed=allowed)
        )


@dataclass(frozen=True, slots=True)
class FilterShape:
    """The fields a filter constrains, without their values.

    Filters of one shape share their SQL statements, which are built once and cached by shape
    (see ``lifecycle.run_order``); the values reach SQL as bound parameters. ``skipped`` is
    part of the shape because ``IS TRUE`` / ``IS FALSE`` cannot take a parameter on PostgreSQL.
    ``lists`` names the list fields that have values and ``many`` those with more than one: a
    single value is compared with ``=``. ``sizes`` holds the number of values of each field of
    ``many``, in its order: an ``IN`` list has one parameter per value (``value_param``), so
    that the SQL of a statement never changes between executions and runs precompiled.
    """

    lists: tuple[str, ...] = ()
    many: tuple[str, ...] = ()
    sizes: tuple[int, ...] = ()
    skipped: bool | None = None
    started_from: bool = False
    started_to: bool = False
    search: bool = False
    # The search as ``lifecycle.search_plan`` resolved it: the number of task name parameters
    # (None while unresolved, when every run's name is tested), and the number of run_id
    # parameters (None when so many run_ids match that each run's run_id is tested). Both are
    # the matches rounded up to a power of two, the last match repeated.
    search_names: int | None = None
    search_run_ids: int | None = None
    # List fields that a count found to match more runs than another filter, kept out of
    # SQLite's index choice (see ``lifecycle.filter_lead``).
    outranked: tuple[str, ...] = ()

    def without(self, field: str) -> FilterShape:
        """Return this shape without the list field ``field``."""
        remaining = [index for index, name in enumerate(self.many) if name != field]
        return replace(self, lists=tuple(name for name in self.lists if name != field),
                       many=tuple(self.many[index] for index in remaining),
                       sizes=tuple(self.sizes[index] for index in remaining))


@dataclass(frozen=True, slots=True)
class BoundFilter:
    """A filter split into its shape and the values of its bound parameters."""

    shape: FilterShape
    params: dict[str, Any]

    def values_of(self, field: str) -> tuple[Any, ...]:
        """Return the values of the list field ``field``, none when it is not set."""
        if field not in self.shape.lists:
            return ()
        value = self.params[_param(field)]
        return tuple(value) if field in self.shape.many else (value,)


def bind_filter(run_filter: RunFilter | None) -> BoundFilter:
    """Return the shape of ``run_filter`` and the parameters that ``shape_conditions`` binds."""
    if run_filter is None:
        return BoundFilter(FilterShape(), {})

    lists = tuple(field for field in _LIST_FIELDS if getattr(run_filter, field))
    many = tuple(field for field in lists if len(getattr(run_filter, field)) > 1)
    params: dict[str, Any] = {}
    for field in lists:
        values = getattr(run_filter, field)
        params[_param(field)] = values if field in many else values[0]
        if field in many:
            # Each value on its own as well, for plans that read one index range per value.
            params.update({value_param(field, index): value for index, value in enumerate(values)})
    if run_filter.started_from is not None:
        params[_param("started_from")] = run_filter.started_from
    if run_filter.started_to is not None:
        params[_param("started_to")] = run_filter.started_to
    if run_filter.search:
        params[_param("search")] = _like_escaped(run_filter.search)

    shape = FilterShape(
        lists=lists,
        many=many,
        sizes=tuple(len(getattr(run_filter, field)) for field in many),
        skipped=run_filter.skipped,
        started_from=run_filter.started_from is not None,
        started_to=run_filter.started_to is not None,
        search=bool(run_filter.search),
    )
    return BoundFilter(shape, params)


def shape_conditions(shape: FilterShape, hidden: tuple[str, ...] = (),
                     unindexable: tuple[str, ...] = ()) -> list[ColumnElement[bool]]:
    """Return the WHERE conditions of a filter of ``shape`` (an empty list matches every run).

    The list fields named in ``hidden`` are kept out of SQLite's index choice, and the search
    when ``hidden`` names ``SEARCH_HIDDEN``. Those in ``unindexable`` are kept out of
    PostgreSQL's too.
    """
    conditions: list[ColumnElement[bool]] = []
    for field in shape.lists:
        column: Any = getattr(TaskRun, field)
        if field in unindexable:
            column = Unindexable(column, type_=column.type)
        elif field in hidden or field in shape.outranked:
            column = NotIndexed(column, type_=column.type)
        elif field == "task_category" and "task_key" in shape.lists:
            # A task's category follows from its key, so the category cannot narrow a task key
            # down. SQLite has no statistics unless ANALYZE ran, so hide it from its index
            # choice rather than let it walk the wider category index.
            column = NotIndexed(column, type_=column.type)
        if field in shape.many:
            size = shape.sizes[shape.many.index(field)]
            conditions.append(column.in_([bindparam(value_param(field, index), type_=column.type)
                                          for index in range(size)]))
        else:
            conditions.append(column == bindparam(_param(field)))

    if shape.skipped is not None:
        conditions.append(TaskRun.is_skipped.is_(shape.skipped))
    started_at_type = TaskRun.started_at.type
    if shape.started_from:
        conditions.append(TaskRun.started_at >= bindparam(_param("started_from"),
                                                          type_=started_at_type))
    if shape.started_to:
        conditions.append(TaskRun.started_at < bindparam(_param("started_to"),
                                                         type_=started_at_type))
    if shape.search:
        conditions.append(_search_condition(shape, hidden=SEARCH_HIDDEN in hidden))
    return conditions


def _search_condition(shape: FilterShape, *, hidden: bool) -> ColumnElement[bool]:
    """Return the search's condition: its text in the run_id or in the task name, any case.

    Resolved, the task names and run_ids that match are compared as values, through their
    indexes unless ``hidden``.
    """
    pattern = bindparam(_param("search"), type_=String())
    run_id_contains = TaskRun.run_id.icontains(pattern, escape=LIKE_ESCAPE)
    if shape.search_names is None:
        return or_(run_id_contains, TaskRun.task_name.icontains(pattern, escape=LIKE_ESCAPE))

    terms: list[ColumnElement[bool]] = []
    for column, count, param in ((TaskRun.task_name, shape.search_names, search_name_param),
                                 (TaskRun.run_id, shape.search_run_ids, search_run_id_param)):
        if not count:
            continue
        compared: Any = NotIndexed(column, type_=String()) if hidden else column
        terms.append(compared.in_([bindparam(param(index), type_=String())
                                   for index in range(count)]))
    if shape.search_run_ids is None:
        terms.append(run_id_contains)
    return or_(*terms) if terms else false()


def search_name_param(index: int) -> str:
    """Return the name of the parameter of matching task name ``index`` of a resolved search."""
    return f"{_param('search')}_name_{index}"


def search_pattern_param() -> str:
    """Return the name of the parameter of the search text as a LIKE pattern, wildcards escaped."""
    return _param("search")


def search_run_id_param(index: int) -> str:
    """Return the name of the parameter of matching run_id ``index`` of a resolved search."""
    return f"{_param('search')}_run_id_{index}"


def value_param(field: str, index: int) -> str:
    """Return the name of the parameter of value ``index`` of the list field ``field``."""
    return f"{_param(field)}_{index}"


def _param(field: str) -> str:
    # A prefix of its own keeps these names apart from the paging parameters.
    return f"filter_{field}"


def _like_escaped(text: str) -> str:
    """Escape LIKE's wildcards, so that ``%`` and ``_`` in a search match themselves."""
    escaped = text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
    return escaped.replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")
