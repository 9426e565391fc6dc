"""``/healthz`` (anyone) and ``/metrics`` (viewer or token, Prometheus text format)."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError

from taskrun_center.errors import TaskRunError
from taskrun_center.i18n import Text
from taskrun_center.log_throttle import LogThrottle
from taskrun_center.storage.migrate import SchemaState, schema_state
from taskrun_center.web.api.schemas import (
    FAILURE_RESPONSES,
    ApiResponse,
    HealthData,
    HealthFailureBody,
)
from taskrun_center.web.auth.dependencies import ViewerPrincipal
from taskrun_center.web.context import Context
from taskrun_center.web.errors import failure_body
from taskrun_center.web.language import RequestLanguage
from taskrun_center.web.metrics import render_metrics

log = structlog.get_logger(__name__)

router = APIRouter(tags=["operations"], responses=FAILURE_RESPONSES)

HEALTHY = Text("正常", "OK")
UNREACHABLE = Text("无法连接数据库。", "The database is unreachable.")
NEEDS_UPGRADE = Text("数据库的表结构尚未创建或不是最新版本；请运行 taskrun db upgrade。",
                     "The database schema was never created or is out of date; "
                     "run taskrun db upgrade.")
TABLES_MISSING = Text("表结构版本是最新的，但缺少数据表（可能被手工删除）；请从备份恢复，"
                      "或在新的空数据库上运行 taskrun db upgrade。",
                      "The schema revision is current but a table is missing (dropped by "
                      "hand?); restore it from a backup, or run taskrun db upgrade on a new, "
                      "empty database.")
# A load balancer probes every few seconds; one error line a minute per state is enough.
_failure_logs = LogThrottle(interval_seconds=60)


# HEAD stays out of the OpenAPI schema: with both methods on one route, FastAPI gives the two
# operations the same operation id, which client generators reject.
@router.get(
    "/healthz",
    summary="Liveness and database check",
    responses={503: {"model": HealthFailureBody}},
)
@router.head("/healthz", include_in_schema=False)
def get_health(context: Context, language: RequestLanguage) -> JSONResponse:
    """Return 200 when the database responds and its schema is usable, else 503.

    ``data.database`` is one of:

    - ``ok``;
    - ``unreachable``;
    - ``schema_missing`` or ``schema_outdated``, both fixed by ``taskrun db upgrade``;
    - ``schema_tables_missing``: the newest revision, with a table dropped by hand;
    - ``schema_newer``: a newer release migrated the database. This release can still serve
      it while it is being replaced, so the status stays 200.
    """
    try:
        with context.database.session() as session:
            state = schema_state(session.connection())
    except (TaskRunError, SQLAlchemyError, OSError) as error:
        _log_failure("unreachable", error=str(error))
        return _unhealthy(UNREACHABLE.render(language), "unreachable", "STORAGE_ERROR")

    if state is SchemaState.CURRENT:
        return _healthy(language, "ok")
    if state is SchemaState.NEWER:
        return _healthy(language, "schema_newer")
    _log_failure(state.value)
    advice = TABLES_MISSING if state is SchemaState.TABLES_MISSING else NEEDS_UPGRADE
    return _unhealthy(advice.render(language), f"schema_{state.value}", "STORAGE_SCHEMA_MISSING")


def _healthy(language: str, database: str) -> JSONResponse:
    body = ApiResponse[HealthData](message=HEALTHY.render(language),
                                   data=HealthData(status="ok", database=database))
    return JSONResponse(body.model_dump())


def _unhealthy(message: str, database: str, code: str) -> JSONResponse:
    # The failure fields of every other 503 (message_code, Retry-After), plus the health data.
    data = HealthData(status="degraded", database=database)
    body = failure_body(message, code, data=data.model_dump())
    return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})


def _log_failure(state: str, **fields: str) -> None:
    held_back = _failure_logs.due(state)
    if held_back is not None:
        log.error("health_check_failed", database=state, held_back=held_back, **fields)


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
