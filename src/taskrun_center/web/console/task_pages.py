"""The task overview page and its run-now form."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from taskrun_center.contract import default_registry
from taskrun_center.web.auth.accounts import Role
from taskrun_center.web.auth.dependencies import AdminPrincipal, ViewerPrincipal
from taskrun_center.web.console.charts import trend_chart
from taskrun_center.web.console.page_context import base_context, redirect, render_page
from taskrun_center.web.context import Context, DbSession
from taskrun_center.web.language import request_language
from taskrun_center.web.stats import daily_trend, task_overviews
from taskrun_center.web.task_catalog import runnable_task_keys, start_run_now

router = APIRouter(include_in_schema=False)

TREND_DAYS = 14


def _cards(session: Session, language: str) -> list[dict[str, Any]]:
    english = language == "en"
    overviews = {overview.task_key: overview for overview in task_overviews(session, TREND_DAYS)}
    registered = {task_type.key: task_type for task_type in default_registry.all()}
    runnable = runnable_task_keys()
    cards = []
    for key in sorted(set(overviews) | set(registered)):
        overview = overviews.get(key)
        task_type = registered.get(key)
        last_run = overview.last_run if overview else None
        if task_type is not None:
            name = task_type.name_en if english else task_type.name_zh
            category = task_type.category
        else:
            name = last_run.task_name if last_run else key
            category = last_run.task_category if last_run else ""
        label = f"{name}: runs per day" if english else f"{name}：每日运行次数"
        cards.append({
            "task_key": key,
            "name": name,
            "category": category,
            "runs": overview.runs if overview else 0,
            "success_rate": overview.success_rate if overview else None,
            "avg_duration_ms": overview.avg_duration_ms if overview else None,
            "last_run": last_run,
            "runnable": key in runnable,
            "chart": trend_chart(daily_trend(session, key, TREND_DAYS), label),
        })
    return cards


@router.get("/tasks", response_class=HTMLResponse)
def get_tasks(
    request: Request,
    principal: ViewerPrincipal,
    session: DbSession,
) -> HTMLResponse:
    """Render one card per task key: last run, success rate, trend chart, run-now."""
    language = request_language(request)
    context = base_context(request, principal, "tasks")
    context.update(
        cards=_cards(session, language),
        days=TREND_DAYS,
        can_run=principal.has_role(Role.ADMIN),
    )
    return render_page(request, "tasks.html", context)


@router.post("/tasks/{task_key}/run")
def post_run_now(
    task_key: str,
    principal: AdminPrincipal,
    context: Context,
) -> Response:
    """Queue a run of ``task_key`` started by the signed-in admin, then open its detail."""
    run_id = start_run_now(context, task_key, principal, {}, trigger_source="manual")
    return redirect(f"/runs/{run_id}?notice=queued")
