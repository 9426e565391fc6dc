"""``/healthz`` (anyone) and ``/metrics`` (viewer or token, Prometheus text format)."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from taskrun_center.errors import TaskRunError
from taskrun_center.web.api.schemas import FAILURE_RESPONSES, ApiResponse, HealthData
from taskrun_center.web.auth.dependencies import ViewerPrincipal
from taskrun_center.web.context import Context
from taskrun_center.web.metrics import render_metrics

log = structlog.get_logger(__name__)

router = APIRouter(tags=["operations"], responses=FAILURE_RESPONSES)


@router.get(
    "/healthz",
    summary="Liveness and database check",
    responses={503: {"model": ApiResponse[HealthData]}},
)
def get_health(context: Context) -> JSONResponse:
    """Return 200 when the database answers ``SELECT 1``, else 503."""
    try:
        with context.database.session() as session:
            session.execute(text("SELECT 1"))
    except (TaskRunError, SQLAlchemyError, OSError) as error:
        log.error("health_check_failed", error=str(error))
        body: ApiResponse[HealthData] = ApiResponse(message="database unreachable",
                           data=HealthData(status="degraded", database="unreachable"))
        return JSONResponse(body.model_dump() | {"success": False}, status_code=503)
    body = ApiResponse[HealthData](message="ok", data=HealthData(status="ok", database="ok"))
    return JSONResponse(body.model_dump())


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
def get_metrics(_: ViewerPrincipal, request: Request) -> Response:
    """Return run counts by task key and status, running runs and durations."""
    payload = render_metrics(request.app.state.metrics_registry)
    return Response(payload, media_type=CONTENT_TYPE_LATEST)
