"""Routes under ``/api/v1/task-types``: registered types and run-now."""

from __future__ import annotations

import structlog
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from taskrun_center.i18n import Text
from taskrun_center.lifecycle.read_service import TaskRunsReadService
from taskrun_center.lifecycle.serialize import run_to_dict
from taskrun_center.web.api.schemas import (
    FAILURE_RESPONSES,
    OK,
    ApiResponse,
    RunActionData,
    RunNowRequest,
    TaskTypeData,
)
from taskrun_center.web.auth.dependencies import AdminPrincipal, ViewerPrincipal
from taskrun_center.web.context import Context
from taskrun_center.web.language import RequestLanguage
from taskrun_center.web.task_catalog import list_task_types, localize_run, start_run_now

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/api/v1/task-types", tags=["task types"], responses=FAILURE_RESPONSES)

QUEUED = Text("已提交运行 {run_id}。", "Run {run_id} has been queued.")


@router.get("", summary="List registered task types")
def get_task_types(
    _: ViewerPrincipal, language: RequestLanguage
) -> ApiResponse[list[TaskTypeData]]:
    """Return each registered task type with its names, category and metric definitions.

    ``runnable`` tells whether this server can start the task now (its code is loaded here).
    """
    return ApiResponse(message=OK.render(language), data=list_task_types(language))


@router.post(
    "/{task_key}/actions/run",
    summary="Run a task now",
    status_code=202,
    responses={202: {"model": ApiResponse[RunActionData]}},
)
def run_task_now(
    task_key: str,
    principal: AdminPrincipal,
    context: Context,
    language: RequestLanguage,
    body: RunNowRequest | None = None,
) -> JSONResponse:
    """Create a pending run of ``task_key`` and hand it to the dispatcher; return its run_id.

    The run is recorded with trigger source ``api`` (``manual`` from the console) and
    ``created_by`` set to the caller's username.
    """
    arguments = body.arguments if body is not None else {}
    run_id = start_run_now(context, task_key, principal, arguments, trigger_source="api")
    with context.database.session() as session:
        run = localize_run(run_to_dict(TaskRunsReadService(session).get_run(run_id)), language)
    data = RunActionData(run_id=run_id, status=str(run["status"]), run=run)
    payload = ApiResponse[RunActionData](message=QUEUED.render(language, run_id=run_id), data=data)
    return JSONResponse(payload.model_dump(mode="json"), status_code=202)
