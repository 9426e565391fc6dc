"""Turn list query parameters into a ``RunFilter``, rejecting bad values by parameter name.

Every filter parameter may repeat (``status=failed&status=cancelled``) or hold a comma-separated
list (``status=failed,cancelled``). Times are ISO 8601 text, read by ``RunFilter`` so that the
API, the console and the CLI accept the same forms; times without a time zone are taken as UTC.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from datetime import datetime

from fastapi import Request
from fastapi.dependencies.models import Dependant

from taskrun_center.errors import InvalidQueryError
from taskrun_center.i18n import Text
from taskrun_center.lifecycle.query_reasons import (
    NOT_ONE_OF,
    RANGE_REVERSED,
    SEARCH_TOO_LONG,
    TOO_MANY_VALUES,
    fill,
)
from taskrun_center.lifecycle.read_service import RunFilter
from taskrun_center.lifecycle.run_filter import MAX_FILTER_VALUES, MAX_SEARCH_CHARS
from taskrun_center.states import RunStatus, TriggerSource
from taskrun_center.web.auth.dependencies import OptionalPrincipal

# The limits are the read service's own, so the API, the console and the CLI accept the same
# queries.


def split_values(parameter: str, raw: Iterable[str] | None) -> list[str]:
    """Flatten repeated and comma-separated values, dropping blanks.

    Raises:
        InvalidQueryError: more than ``MAX_FILTER_VALUES`` values.
    """
    values = [part.strip() for value in raw or () for part in value.split(",")]
    values = [value for value in values if value]
    if len(values) > MAX_FILTER_VALUES:
        raise InvalidQueryError(parameter, fill(TOO_MANY_VALUES, limit=MAX_FILTER_VALUES))
    return values


def check_allowed(parameter: str, values: list[str], allowed: Iterable[str]) -> list[str]:
    """Return ``values`` when each is allowed.

    Raises:
        InvalidQueryError: a value outside ``allowed``; the message lists the allowed ones.
    """
    allowed_values = list(allowed)
    for value in values:
        if value not in allowed_values:
            raise InvalidQueryError(parameter, fill(NOT_ONE_OF, value=repr(value),
                                                    allowed=", ".join(allowed_values)))
    return values


def build_run_filter(
    *,
    task_key: list[str] | None = None,
    task_category: list[str] | None = None,
    trigger_source: list[str] | None = None,
    status: list[str] | None = None,
    skipped: bool | None = None,
    started_from: str | datetime | None = None,
    started_to: str | datetime | None = None,
    search: str | None = None,
) -> RunFilter:
    """Build the read service's filter from raw query values.

    Raises:
        InvalidQueryError: an unknown status or trigger source, too many values, a search text
            over ``MAX_SEARCH_CHARS`` characters, a time that is not ISO 8601 (a number is
            rejected too) or falls outside years 1 to 9999 in UTC, or a time range whose end
            precedes its start.
    """
    text = (search or "").strip() or None
    if text is not None and len(text) > MAX_SEARCH_CHARS:
        raise InvalidQueryError("search", fill(SEARCH_TOO_LONG, limit=MAX_SEARCH_CHARS))
    run_filter = RunFilter.from_params(
        task_key=split_values("task_key", task_key),
        task_category=split_values("task_category", task_category),
        trigger_source=check_allowed(
            "trigger_source", split_values("trigger_source", trigger_source), TriggerSource
        ),
        status=check_allowed("status", split_values("status", status), RunStatus),
        skipped=skipped,
        started_from=started_from or None,
        started_to=started_to or None,
        search=text,
    )
    start, end = run_filter.started_from, run_filter.started_to
    if start is not None and end is not None and end < start:
        raise InvalidQueryError("started_to", RANGE_REVERSED)
    return run_filter


_UNKNOWN_PARAMETER = Text("不是这个接口的参数{hint}；可用的参数：{known}",
                          "is not a parameter of this endpoint{hint}; it takes: {known}")
_NO_PARAMETERS = Text("不是这个接口的参数；这个接口不接受查询参数",
                      "is not a parameter of this endpoint, which takes no query parameters")
_DID_YOU_MEAN = Text("（是否想写 {name}？）", " (did you mean {name}?)")


def reject_unknown_parameters(request: Request, principal: OptionalPrincipal) -> None:
    """Refuse a query parameter that the route does not declare, naming the closest one.

    A misspelt parameter (``limt=5``) would otherwise be ignored and its default used, which
    reads as a server that does not honour the request. A request without a principal is left
    to the route's own check, so that it gets its 401 first.

    Raises:
        InvalidQueryError: the first unknown parameter, with the ones the route takes.
    """
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None or principal is None:
        return
    known = sorted(_query_names(dependant))
    unknown = next((name for name in request.query_params if name not in known), None)
    if unknown is None:
        return
    quoted_name = _quoted_name(unknown)
    if not known:
        raise InvalidQueryError(quoted_name, _NO_PARAMETERS)
    closest = difflib.get_close_matches(unknown, known, n=1, cutoff=0.7)
    hint = fill(_DID_YOU_MEAN, name=closest[0]) if closest else Text("", "")
    raise InvalidQueryError(quoted_name, Text(
        _UNKNOWN_PARAMETER.zh.format(hint=hint.zh, known="、".join(known)),
        _UNKNOWN_PARAMETER.en.format(hint=hint.en, known=", ".join(known)),
    ))


# Characters of an unknown parameter's name quoted back; a client may send any length.
_QUOTED_NAME_CHARS = 60


def _quoted_name(name: str) -> str:
    from taskrun_center.quoting import quote_identifier

    escaped = quote_identifier(name[:_QUOTED_NAME_CHARS])[1:-1]
    return escaped + "…" if len(name) > _QUOTED_NAME_CHARS else escaped


def _query_names(dependant: Dependant) -> set[str]:
    """Return the query parameters of a route and of the dependencies it uses."""
    names = {field.alias for field in dependant.query_params}
    for dependency in dependant.dependencies:
        names |= _query_names(dependency)
    return names
