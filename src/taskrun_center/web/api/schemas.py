"""Response bodies of the REST API, as pydantic models so that OpenAPI documents them."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from taskrun_center.i18n import Text

DataT = TypeVar("DataT")

OK = Text("成功", "OK")

JsonObject = dict[str, Any]


class ApiResponse(BaseModel, Generic[DataT]):
    """A successful response."""

    success: bool = True
    message: str
    data: DataT


class FailureBody(BaseModel):
    """A failed response; ``parameter`` names the invalid parameter of a 400."""

    success: bool = False
    message: str
    message_code: str
    parameter: str | None = None


class RunListData(BaseModel):
    """One page of runs; ``next_cursor`` continues after the last item (keyset paging).

    ``total_exact`` is False when more than ``total`` runs match, because the count stops at
    the cap (1,000 by default). ``pages`` is then a lower bound too.
    """

    items: list[JsonObject]
    total: int
    total_exact: bool = True
    page: int
    pages: int
    limit: int
    next_cursor: str | None = None


class RunDetailData(BaseModel):
    """A run with one page of its items."""

    run: JsonObject
    items: list[JsonObject]
    items_total: int
    items_page: int
    items_pages: int
    items_limit: int


class ErrorLogsData(BaseModel):
    """A run with its failed items and their count."""

    run: JsonObject
    items: list[JsonObject]
    error_count: int


class RunActionData(BaseModel):
    """The run an action changed or created."""

    run_id: str
    status: str
    run: JsonObject | None = None


class CsrfTokenData(BaseModel):
    """The CSRF token of the caller's session, for the ``X-CSRFToken`` header."""

    csrf_token: str


class LoginRequest(BaseModel):
    """Credentials for ``POST /api/v1/auth/login``; another field is refused."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class PrincipalData(BaseModel):
    """The authenticated caller."""

    username: str
    role: str
    via: str


class RunNowRequest(BaseModel):
    """Keyword arguments passed to the task of a run-now request.

    Another field is refused: ``{"argumentz": {...}}`` would otherwise run the task with its
    defaults.
    """

    model_config = ConfigDict(extra="forbid")

    arguments: JsonObject = Field(default_factory=dict)


class MetricDefinitionData(BaseModel):
    """A task type's label, unit and tone for one metric."""

    key: str
    label: str
    unit: str | None = None
    tone: str | None = None


class TaskTypeData(BaseModel):
    """A registered task type."""

    key: str
    name: str
    category: str
    description: str
    metrics: list[MetricDefinitionData]
    runnable: bool


class TrendPointData(BaseModel):
    """Runs of one day."""

    day: str
    runs: int
    succeeded: int
    failed: int
    success_rate: float | None
    avg_duration_ms: float | None
    max_duration_ms: int | None


class TrendData(BaseModel):
    """Daily trend of one task key (or of all runs when ``task_key`` is null)."""

    task_key: str | None
    days: int
    points: list[TrendPointData]


class TaskOverviewData(BaseModel):
    """Per task key: its last run and its success rate over the window."""

    task_key: str
    task_name: str
    task_category: str
    runs: int
    succeeded: int
    success_rate: float | None
    avg_duration_ms: float | None
    last_run: JsonObject | None


class HealthData(BaseModel):
    """Liveness and database reachability."""

    status: str
    database: str


class HealthFailureBody(FailureBody):
    """The 503 body of ``/healthz``: a failure body plus the state of the database."""

    data: HealthData


FAILURE_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": FailureBody, "description": "Invalid parameter"},
    401: {"model": FailureBody, "description": "Authentication required"},
    403: {"model": FailureBody, "description": "Permission or CSRF failure"},
    404: {"model": FailureBody, "description": "Not found"},
    500: {"model": FailureBody, "description": "Internal error"},
}
