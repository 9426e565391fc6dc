"""Routes under ``/api/v1/task-runs``: list, detail, error logs and cancel."""

from __future__ import annotations

from typing import Annotated, Literal

import structlog
from fastapi import APIRouter, Query

from taskrun_center.i18n import Text
from taskrun_center.lifecycle.cursor import MAX_CURSOR_CHARS
from taskrun_center.lifecycle.read_service import TaskRunsReadService
from taskrun_center.lifecycle.run_filter import MAX_SEARCH_CHARS
from taskrun_center.lifecycle.serialize import item_to_dict, run_to_dict
from taskrun_center.lifecycle.write_service import TaskRunsWriteService
from taskrun_center.runners.dispatch import revoke_dispatched_run
from taskrun_center.states import ItemStatus
from taskrun_center.web.api.query import build_run_filter, check_allowed, split_values
from taskrun_center.web.api.schemas import (
    FAILURE_RESPONSES,
    OK,
    ApiResponse,
    ErrorLogsData,
    RunActionData,
    RunDetailData,
    RunListData,
)
from taskrun_center.web.auth.dependencies import AdminPrincipal, ViewerPrincipal
from taskrun_center.web.context import Context, DbSession
from taskrun_center.web.errors import RunNotCancelable
from taskrun_center.web.language import RequestLanguage
from taskrun_center.web.task_catalog import localize_run

log = structlog.get_logger(__name__)

_DATE_TIME = {"format": "date-time", "examples": ["2026-12-06T08:00:00Z"]}

router = APIRouter(prefix="/api/v1/task-runs", tags=["task runs"], responses=FAILURE_RESPONSES)

MAX_LIMIT = 100
SortField = Literal["started_at", "completed_at", "duration", "status", "task_key"]
SortOrder = Literal["asc", "desc"]
ValueList = Annotated[list[str] | None, Query()]

CANCELLED = Text("运行 {run_id} 已取消。", "Run {run_id} has been cancelled.")


@router.get("", summary="List runs")
def list_task_runs(
    *,
    _: ViewerPrincipal,
    session: DbSession,
    context: Context,
    language: RequestLanguage,
    task_key: ValueList = None,
    task_category: ValueList = None,
    trigger_source: ValueList = None,
    status: ValueList = None,
    skipped: bool | None = None,
    # Text rather than datetime, because FastAPI would read a number as Unix seconds. The
    # schema still declares date-time, the form that RunFilter accepts.
    started_from: Annotated[str | None, Query(json_schema_extra=_DATE_TIME)] = None,
    started_to: Annotated[str | None, Query(json_schema_extra=_DATE_TIME)] = None,
    search: Annotated[str | None, Query(max_length=MAX_SEARCH_CHARS)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    sort: SortField = "started_at",
    order: SortOrder = "desc",
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_CHARS)] = None,
    exact_total: bool = False,
) -> ApiResponse[RunListData]:
    """List runs, newest first by default; runs without a sort value come last in both orders.

    ``page`` below 1 and ``limit`` outside 1-100 are rejected with 400 naming the parameter.
    ``cursor`` (from ``next_cursor``) continues after the previous page without counting
    skipped rows, for deep paging.

    ``total`` is exact up to 1,000 matching runs. Beyond that it is 1,000 and ``total_exact``
    is false, unless ``exact_total=true`` requests the exact count, which reads every match.
    """
    run_filter = build_run_filter(
        task_key=task_key,
        task_category=task_category,
        trigger_source=trigger_source,
        status=status,
        skipped=skipped,
        started_from=started_from,
        started_to=started_to,
        search=search,
    )
    # The page reads on the connection that the principal's lookup checked out, so a request
    # uses one pooled connection. With a second one, parallel requests that each keep their
    # first can wait on a full pool until it times out.
    reader = TaskRunsReadService(session.connection(), cursor_secret=context.secret_key)
    result = reader.list_runs(
        run_filter, sort=sort, order=order, page=page, limit=limit, cursor=cursor,
        exact_total=exact_total,
    )
    data = RunListData(
        items=[localize_run(run_to_dict(run), language) for run in result.items],
        total=result.total,
        total_exact=result.total_exact,
        page=result.page,
        pages=result.pages,
        limit=result.limit,
        next_cursor=result.next_cursor,
    )
    return ApiResponse(message=OK.render(language), data=data)


@router.get("/{run_id}", summary="Get a run with its items")
def get_task_run(
    *,
    run_id: str,
    _: ViewerPrincipal,
    session: DbSession,
    language: RequestLanguage,
    item_status: ValueList = None,
    items_page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    items_limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> ApiResponse[RunDetailData]:
    """Return a run and one page of its items, optionally only items in the given statuses."""
    statuses = check_allowed(
        "item_status", split_values("item_status", item_status), ItemStatus
    )
    reader = TaskRunsReadService(session)
    run = reader.get_run(run_id)
    items = reader.list_items(
        run_id, status=statuses or None, page=items_page, limit=items_limit
    )
    data = RunDetailData(
        run=localize_run(run_to_dict(run), language),
        items=[item_to_dict(item) for item in items.items],
        items_total=items.total,
        items_page=items.page,
        items_pages=items.pages,
        items_limit=items.limit,
    )
    return ApiResponse(message=OK.render(language), data=data)


@router.get("/{run_id}/error-logs", summary="Get the failed items of a run")
def get_task_run_error_logs(
    run_id: str, _: ViewerPrincipal, session: DbSession, language: RequestLanguage
) -> ApiResponse[ErrorLogsData]:
    """Return a run, its failed items with their error messages, and their count."""
    logs = TaskRunsReadService(session).error_logs(run_id)
    data = ErrorLogsData(
        run=localize_run(run_to_dict(logs.run), language),
        items=[item_to_dict(item) for item in logs.items],
        error_count=logs.error_count,
    )
    return ApiResponse(message=OK.render(language), data=data)


@router.post("/{run_id}/actions/cancel", summary="Cancel a pending or running run")
def cancel_task_run(
    run_id: str, principal: AdminPrincipal, context: Context, language: RequestLanguage
) -> ApiResponse[RunActionData]:
    """Cancel a run that has not finished; its pending and running items are cancelled too.

    A run that already finished keeps its outcome and the request gets 409
    ``RUN_NOT_CANCELABLE``; an unknown run gets 404.
    """
    with context.database.transaction() as session:
        run = TaskRunsReadService(session).get_run(run_id)
        if not TaskRunsWriteService(session).cancel_run(run_id):
            raise RunNotCancelable(run_id=run_id, status=run.status)
    revoke_dispatched_run(run_id)
    with context.database.session() as session:
        run = TaskRunsReadService(session).get_run(run_id)
        body = localize_run(run_to_dict(run), language)
    log.info("run_cancelled_by_user", run_id=run_id, task_key=run.task_key,
             username=principal.username, via=principal.via)
    data = RunActionData(run_id=run_id, status=str(body["status"]), run=body)
    return ApiResponse(message=CANCELLED.render(language, run_id=run_id), data=data)


