"""The run list, run detail, cancel form and the live-update endpoint."""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import select

from taskrun_center.contract import default_registry
from taskrun_center.lifecycle.read_service import TaskRunsReadService, is_possible_run_id
from taskrun_center.lifecycle.write_service import TaskRunsWriteService
from taskrun_center.runners.dispatch import revoke_dispatched_run
from taskrun_center.states import RUN_CANCELABLE, ItemStatus, RunStatus, TriggerSource
from taskrun_center.storage.models import TaskRun
from taskrun_center.web.api.query import check_allowed, split_values
from taskrun_center.web.auth.accounts import Role
from taskrun_center.web.auth.dependencies import AdminPrincipal, ViewerPrincipal
from taskrun_center.web.console.list_query import page_window, parse_list_form
from taskrun_center.web.console.page_context import base_context, redirect, render_page
from taskrun_center.web.console.summary_view import SummaryView
from taskrun_center.web.context import Context, DbSession
from taskrun_center.web.errors import RunNotCancelable
from taskrun_center.web.language import request_language
from taskrun_center.web.task_catalog import registered_metric_labels, task_display_names

log = structlog.get_logger(__name__)

router = APIRouter(include_in_schema=False)

MAX_LIVE_IDS = 100
ITEMS_PER_PAGE = 20


def _sort_options(language: str) -> list[tuple[str, str]]:
    english = language == "en"
    labels = {
        "started_at": ("开始时间", "Start time"),
        "completed_at": ("结束时间", "Finish time"),
        "duration": ("耗时", "Duration"),
        "status": ("状态", "Status"),
        "task_key": ("任务键", "Task key"),
    }
    return [(field, pair[1] if english else pair[0]) for field, pair in labels.items()]


def _filter_options(language: str, selected_key: str) -> dict[str, Any]:
    names = task_display_names(language)
    if selected_key and selected_key not in names:
        names[selected_key] = selected_key
    categories = sorted({task_type.category for task_type in default_registry.all()})
    return {
        "task_options": sorted(names.items()),
        "category_options": categories,
        "trigger_options": [source.value for source in TriggerSource],
        "status_options": [status.value for status in RunStatus],
        "sort_options": _sort_options(language),
    }


@router.get("/", include_in_schema=False)
def get_home(_: ViewerPrincipal) -> Response:
    """Send the home page to the run list."""
    return redirect("/runs")


@router.get("/runs", response_class=HTMLResponse)
def get_run_list(
    request: Request, principal: ViewerPrincipal, session: DbSession, context: Context
) -> HTMLResponse:
    """Render the run list with filters, sort and pagination.

    "Next" follows the keyset cursor, so it keeps working past the pages of a capped total.
    A page past the end shows a notice with a link to the first page, and to the last page
    when the total is exact.
    """
    form, run_filter = parse_list_form(request.query_params)
    # Read on the principal's connection: one pooled connection per request, as in
    # ``web.api.runs.list_task_runs``.
    reader = TaskRunsReadService(session.connection(), cursor_secret=context.secret_key)
    page = reader.list_runs(run_filter, sort=form.sort, order=form.order, page=form.page,
                            limit=form.limit, cursor=form.cursor or None)
    language = request_language(request)
    page_context = base_context(request, principal, "runs")
    page_context.update(
        form=form,
        page=page,
        filtered=form.is_filtered,
        page_window=page_window(page.page, page.pages),
        page_url=lambda number: form.url(page=number),
        past_end=not page.items and page.page > 1 and page.total > 0,
        next_url=form.url(page=1, cursor=page.next_cursor) if page.next_cursor else None,
        task_names=task_display_names(language),
        **_filter_options(language, form.task_key),
    )
    return render_page(request, "runs.html", page_context)


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def get_run_detail(
    *,
    request: Request,
    run_id: str,
    principal: ViewerPrincipal,
    session: DbSession,
    item_status: Annotated[str, Query(max_length=32)] = "",
    items_page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """Render one run: header, overview, metrics, scope, ext.data, items and error logs."""
    statuses = check_allowed("item_status", split_values("item_status", [item_status]),
                             ItemStatus)
    reader = TaskRunsReadService(session)
    run = reader.get_run(run_id)
    items = reader.list_items(run_id, status=statuses or None, page=items_page,
                              limit=ITEMS_PER_PAGE)
    errors = reader.error_logs(run_id, limit=100)
    language = request_language(request)
    page_context = base_context(request, principal, "runs")
    page_context.update(
        run=run,
        view=SummaryView(run.summary_json, registered_metric_labels(run.task_key, language)),
        task_name=task_display_names(language).get(run.task_key, run.task_name),
        items=items,
        errors=errors,
        item_status=statuses[0] if statuses else "",
        item_status_options=[status.value for status in ItemStatus],
        can_cancel=principal.has_role(Role.ADMIN) and run.status in RUN_CANCELABLE,
    )
    return render_page(request, "run_detail.html", page_context)


@router.post("/runs/{run_id}/cancel")
def post_cancel_run(run_id: str, principal: AdminPrincipal, context: Context) -> Response:
    """Cancel a run from the detail page's form, then show the page again."""
    with context.database.transaction("cancel a run from the console") as session:
        run = TaskRunsReadService(session).get_run(run_id)
        if not TaskRunsWriteService(session).cancel_run(run_id):
            raise RunNotCancelable(run_id=run_id, status=run.status)
    revoke_dispatched_run(run_id)
    log.info("run_cancelled_by_user", run_id=run_id, task_key=run.task_key,
             username=principal.username, via="console")
    return redirect(f"/runs/{run_id}?notice=cancelled")


def _row_state(run: TaskRun) -> dict[str, Any]:
    return {
        "status": run.status,
        "progress": [run.progress_completed, run.progress_failed, run.progress_total],
        "terminal": run.status not in RUN_CANCELABLE,
    }


@router.get("/console/live/runs")
def get_live_rows(
    request: Request,
    principal: ViewerPrincipal,
    session: DbSession,
    ids: Annotated[str, Query(max_length=4000)] = "",
) -> JSONResponse:
    """Return the current state, list row and progress bar of each requested run.

    The list page polls this for its pending and running rows, and the detail page of a
    running run for its progress; unknown ids are left out.
    """
    # An id that no run can have is dropped here, because PostgreSQL rejects NUL in a parameter.
    run_ids = [run_id for run_id in split_values("ids", [ids])[:MAX_LIVE_IDS]
               if is_possible_run_id(run_id)]
    runs: list[TaskRun] = []
    if run_ids:
        runs = list(session.scalars(select(TaskRun).where(TaskRun.run_id.in_(run_ids))))
    language = request_language(request)
    environment = request.app.state.console_templates
    row_template = environment.get_template("_run_row.html")
    progress_template = environment.get_template("_progress.html")
    row_context = base_context(request, principal, "runs")
    row_context["task_names"] = task_display_names(language)
    result = {
        run.run_id: {
            **_row_state(run),
            "html": row_template.render(run=run, **row_context),
            "progress_html": progress_template.render(run=run, **row_context),
        }
        for run in runs
    }
    return JSONResponse({"runs": result}, headers={"Cache-Control": "no-store"})
