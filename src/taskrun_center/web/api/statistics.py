"""Routes under ``/api/v1/statistics``: daily trends and per-task overviews."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from taskrun_center.lifecycle.serialize import run_to_dict
from taskrun_center.web.api.schemas import (
    FAILURE_RESPONSES,
    OK,
    ApiResponse,
    TaskOverviewData,
    TrendData,
    TrendPointData,
)
from taskrun_center.web.auth.dependencies import ViewerPrincipal
from taskrun_center.web.context import DbSession
from taskrun_center.web.language import RequestLanguage
from taskrun_center.web.stats import MAX_TREND_DAYS, daily_trend, task_overviews

router = APIRouter(prefix="/api/v1/statistics", tags=["statistics"], responses=FAILURE_RESPONSES)

Days = Annotated[int, Query(ge=1, le=MAX_TREND_DAYS)]


@router.get("/trends", summary="Daily runs, success rate and duration")
def get_trends(
    _: ViewerPrincipal,
    session: DbSession,
    language: RequestLanguage,
    # No NUL: PostgreSQL rejects it in text, which would read as a database failure.
    task_key: Annotated[str | None, Query(max_length=128, pattern=r"^[^\x00]*$")] = None,
    days: Days = 14,
) -> ApiResponse[TrendData]:
    """Return one point per UTC day of the last ``days`` days (1-366), oldest first."""
    points = [
        TrendPointData(
            day=point.day,
            runs=point.runs,
            succeeded=point.succeeded,
            failed=point.failed,
            success_rate=point.success_rate,
            avg_duration_ms=point.avg_duration_ms,
            max_duration_ms=point.max_duration_ms,
        )
        for point in daily_trend(session, task_key, days)
    ]
    data = TrendData(task_key=task_key, days=days, points=points)
    return ApiResponse(message=OK.render(language), data=data)


@router.get("/tasks", summary="Per task key: last run and success rate")
def get_task_overviews(
    _: ViewerPrincipal, session: DbSession, language: RequestLanguage, days: Days = 14
) -> ApiResponse[list[TaskOverviewData]]:
    """Return, for every task key with runs, its counts over ``days`` days and its last run."""
    data = [
        TaskOverviewData(
            task_key=overview.task_key,
            task_name=overview.last_run.task_name if overview.last_run else overview.task_key,
            task_category=overview.last_run.task_category if overview.last_run else "",
            runs=overview.runs,
            succeeded=overview.succeeded,
            success_rate=overview.success_rate,
            avg_duration_ms=overview.avg_duration_ms,
            last_run=run_to_dict(overview.last_run) if overview.last_run else None,
        )
        for overview in task_overviews(session, days)
    ]
    return ApiResponse(message=OK.render(language), data=data)
