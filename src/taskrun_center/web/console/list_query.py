"""Read the run list's query string leniently: empty form fields mean "no filter"."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from taskrun_center.errors import InvalidQueryError
from taskrun_center.lifecycle.query_reasons import (
    NOT_TRUE_OR_FALSE,
    NOT_WHOLE_NUMBER,
    fill,
)
from taskrun_center.lifecycle.read_service import RunFilter
from taskrun_center.web.api.query import build_run_filter

SORT_FIELDS = ("started_at", "completed_at", "duration", "status", "task_key")
DEFAULT_LIMIT = 20
# The spellings of ``skipped`` that the REST API accepts (pydantic's, compared without case).
_TRUE_WORDS = frozenset({"true", "t", "yes", "y", "on", "1"})
_FALSE_WORDS = frozenset({"false", "f", "no", "n", "off", "0"})


@dataclass
class ListForm:
    """The filter form's values as typed, kept to refill the form."""

    task_key: str = ""
    task_category: str = ""
    trigger_source: str = ""
    status: str = ""
    skipped: str = ""
    started_from: str = ""
    started_to: str = ""
    search: str = ""
    sort: str = "started_at"
    order: str = "desc"
    limit: int = DEFAULT_LIMIT
    page: int = 1
    cursor: str = ""

    @property
    def is_filtered(self) -> bool:
        return any((self.task_key, self.task_category, self.trigger_source, self.status,
                    self.skipped, self.started_from, self.started_to, self.search))

    def url(self, **changes: object) -> str:
        """Return ``/runs?…`` for this form with some fields changed; defaults are left out.

        The cursor is dropped unless ``changes`` passes one, because it is valid only for the
        next page under the same filter and sort.
        """
        values = {**asdict(self), "cursor": "", **changes}
        defaults = asdict(ListForm())
        kept = {key: value for key, value in values.items() if value != defaults[key]}
        return "/runs" + (f"?{urlencode(kept)}" if kept else "")


def _integer(params: QueryParams, name: str, default: int) -> int:
    raw = params.get(name, "").strip()
    if not raw:
        return default
    # ASCII digits only, as the API reads them: int() also takes "1_0" and fullwidth digits.
    if not (raw.isascii() and raw.lstrip("-").isdigit()):
        raise InvalidQueryError(name, fill(NOT_WHOLE_NUMBER, value=repr(raw)))
    return int(raw)


def _skipped(raw: str) -> bool | None:
    word = raw.lower()
    if word in ("", "any"):
        return None
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise InvalidQueryError("skipped", fill(NOT_TRUE_OR_FALSE, value=repr(raw)))


def _joined(params: QueryParams, name: str) -> str:
    # A filter may repeat (``status=failed&status=cancelled``), as in the REST API. The form
    # keeps the values comma-separated, which build_run_filter splits again.
    return ",".join(value.strip() for value in params.getlist(name) if value.strip())


def parse_list_form(params: QueryParams) -> tuple[ListForm, RunFilter]:
    """Read the form from the query string and build the read service's filter.

    Raises:
        InvalidQueryError: a value that cannot be read; names the parameter.
    """
    form = ListForm(
        **{name: _joined(params, name) for name in (
            "task_key", "task_category", "trigger_source", "status")},
        **{name: params.get(name, "").strip() for name in (
            "skipped", "started_from", "started_to", "search")},
        sort=params.get("sort", "started_at") or "started_at",
        order=params.get("order", "desc") or "desc",
        limit=_integer(params, "limit", DEFAULT_LIMIT),
        page=_integer(params, "page", 1),
        cursor=params.get("cursor", "").strip(),
    )
    run_filter = build_run_filter(
        task_key=[form.task_key] if form.task_key else None,
        task_category=[form.task_category] if form.task_category else None,
        trigger_source=[form.trigger_source] if form.trigger_source else None,
        status=[form.status] if form.status else None,
        skipped=_skipped(form.skipped),
        started_from=form.started_from or None,
        started_to=form.started_to or None,
        search=form.search or None,
    )
    return form, run_filter


def page_window(current: int, pages: int, width: int = 2) -> list[int]:
    """Return the page numbers shown around the current page.

    ``pages`` may be a lower bound (a capped total), so the current page is always shown even
    when it lies past ``pages``.
    """
    first = max(1, current - width)
    last = max(current, min(max(pages, 1), current + width))
    return list(range(first, last + 1))
