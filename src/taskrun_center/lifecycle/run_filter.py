"""The list page's filter (``RunFilter``) and the SQL conditions it turns into.

Values are compared through bound parameters only; no filter value reaches SQL text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from sqlalchemy import ColumnElement, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import GenericFunction

from taskrun_center.errors import InvalidQueryError
from taskrun_center.lifecycle.query_reasons import (
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

_LIST_FIELDS = ("task_key", "task_category", "trigger_source", "status")


class RunFilter(BaseModel):
    """The filter of the run list. An empty list or None leaves that field unfiltered.

    Each list field accepts several values (matched with OR) given as a list, a single string
    or a comma-separated string. The time range is half-open: ``started_from <= started_at <
    started_to``. Naive datetimes are taken as UTC. ``search`` matches a case-insensitive
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

    @field_validator("started_from", "started_to")
    @classmethod
    def _to_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

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
        """Return a short hash of the filter, so that a cursor is only used with its filter."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]


def check_filter(run_filter: RunFilter) -> None:
    """Raise InvalidQueryError unless every value of the filter can match something.

    Status and trigger source must be known values, each list stays within
    ``MAX_FILTER_VALUES``, the search within ``MAX_SEARCH_CHARS``, and the time range
    must not end before it starts.
    """
    for field in _LIST_FIELDS:
        if len(getattr(run_filter, field)) > MAX_FILTER_VALUES:
            raise InvalidQueryError(field, fill(TOO_MANY_VALUES, limit=MAX_FILTER_VALUES))

    _check_known(run_filter.status, RunStatus, "status")
    _check_known(run_filter.trigger_source, TriggerSource, "trigger_source")

    if run_filter.search is not None and len(run_filter.search) > MAX_SEARCH_CHARS:
        raise InvalidQueryError("search", fill(SEARCH_TOO_LONG, limit=MAX_SEARCH_CHARS))

    start, end = run_filter.started_from, run_filter.started_to
    if start is not None and end is not None and end < start:
        raise InvalidQueryError("started_to", RANGE_REVERSED)


def _check_known(values: list[str], vocabulary: type[RunStatus] | type[TriggerSource],
                 parameter: str) -> None:
    known = {member.value for member in vocabulary}
    unknown = [value for value in values if value not in known]
    if unknown:
        allowed = ", ".join(sorted(known))
        raise InvalidQueryError(
            parameter, fill(NOT_ONE_OF, value=repr(unknown[0]), allowed=allowed)
        )


def filter_conditions(run_filter: RunFilter | None) -> list[ColumnElement[bool]]:
    """Return the WHERE conditions of ``run_filter`` (an empty list matches every run)."""
    if run_filter is None:
        return []

    conditions: list[ColumnElement[bool]] = []
    for field in _LIST_FIELDS:
        values = getattr(run_filter, field)
        if not values:
            continue
        column: Any = getattr(TaskRun, field)
        if field in ("task_category", "status") and run_filter.task_key:
            # A task key is the narrowest filter, and with a trigger source it has an index of
            # its own. SQLite has no statistics unless ANALYZE ran, so hide these columns from
            # its index choice rather than let it walk the wider status index.
            column = NotIndexed(column, type_=column.type)
        conditions.append(column.in_(values))

    if run_filter.skipped is not None:
        conditions.append(TaskRun.is_skipped.is_(run_filter.skipped))
    if run_filter.started_from is not None:
        conditions.append(TaskRun.started_at >= run_filter.started_from)
    if run_filter.started_to is not None:
        conditions.append(TaskRun.started_at < run_filter.started_to)
    if run_filter.search:
        conditions.append(
            or_(
                TaskRun.run_id.icontains(run_filter.search, autoescape=True),
                TaskRun.task_name.icontains(run_filter.search, autoescape=True),
            )
        )
    return conditions


class NotIndexed(GenericFunction[Any]):
    """A column that the SQLite planner must not pick an index for; plain SQL elsewhere."""

    name = "not_indexed"
    inherit_cache = True


@compiles(NotIndexed)
def _compile_not_indexed(element: NotIndexed, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(NotIndexed, "sqlite")
def _compile_not_indexed_sqlite(element: NotIndexed, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite's unary plus returns its operand unchanged and disqualifies it from index use.
    return "+" + str(compiler.process(element.clauses, **kw))
