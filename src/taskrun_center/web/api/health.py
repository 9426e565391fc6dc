"""``/healthz`` (anyone) and ``/metrics`` (viewer or token, Prometheus text format)."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError

from taskrun_center.errors import TaskRunError
from taskrun_center.i18n import Text
from taskrun_center.storage.migrate import SchemaState, schema_state
from taskrun_center.web.api.schemas import FAILURE_RESPONSES, ApiResponse, HealthData
from taskrun_center.web.auth.dependencies import ViewerPrincipal
from taskrun_center.web.context import Context
from taskrun_center.web.language import RequestLanguage
from taskrun_center.web.metrics import render_metrics

log = structlog.get_logger(__name__)

router = APIRouter(tags=["operations"], responses=FAILURE_RESPONSES)

HEALTHY = Text("正常", "ok")
UNREACHABLE = Text("无法连接数据库", "database unreachable")
NEEDS_UPGRADE = Text("数据库的表结构尚未创建或不是最新版本；请运行 taskrun db upgrade",
                     "the database schema was never created or is out of date; "
                     "run taskrun db upgrade")


@router.get(
    "/healthz",
    summary="Liveness and database check",
    responses={503: {"model": ApiResponse[HealthData]}},
)
def get_health(context: Context, language: RequestLanguage) -> JSONResponse:
    """Return 200 when the database responds and its schema is usable, else 503.

    ``data.database`` is ``ok``, ``unreachable``, ``schema_missing`` or ``schema_outdated``
    (both fixed by ``taskrun db upgrade``), or ``schema_newer``: a newer release migrated the
    database, which this one can still serve while it is being replaced, so that stays 200.
    """
    try:
        with context.database.session() as session:
            state = schema_state(session.connection())
    except (TaskRunError, SQLAlchemyError, OSError) as error:
        log.error("health_check_failed", error=str(error))
        return _health(503, UNREACHABLE.render(language), "unreachable")

    if state in (SchemaState.MISSING, SchemaState.OUTDATED):
        log.error("health_check_schema", schema=state.value)
        return _health(503, NEEDS_UPGRADE.render(language), f"schema_{state.value}")
    if state is SchemaState.NEWER:
        return _health(200, HEALTHY.render(language), "schema_newer")
    return _health(200, HEALTHY.render(language), "ok")


def _health(status_code: int, message: str, database: str) -> JSONResponse:
    data = HealthData(status="ok" if status_code == 200 else "degraded", database=database)
    body = ApiResponse[HealthData](message=message, data=data)
    return JSONResponse(body.model_dump() | {"success": status_code == 200},
                        status_code=status_code)


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
