"""Permission matrix: anonymous, viewer, admin, viewer token and admin token on every route."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from taskrun_center.storage.engine import Database
from tests.factories import make_run
from tests.web.conftest import ADMIN_PASSWORD, VIEWER_PASSWORD, Accounts, bearer, log_in

CALLERS = ("anonymous", "viewer", "admin", "viewer_token", "admin_token")

# Route → expected status per caller, in the order of CALLERS. "{run}" is a running run.
MATRIX: list[tuple[str, str, tuple[int, ...]]] = [
    ("GET", "/api/v1/task-runs", (401, 200, 200, 200, 200)),
    ("GET", "/api/v1/task-runs/{run}", (401, 200, 200, 200, 200)),
    ("GET", "/api/v1/task-runs/{run}/error-logs", (401, 200, 200, 200, 200)),
    ("POST", "/api/v1/task-runs/{run}/actions/cancel", (401, 403, 200, 403, 200)),
    ("GET", "/api/v1/task-types", (401, 200, 200, 200, 200)),
    ("POST", "/api/v1/task-types/no_such_task/actions/run", (401, 403, 404, 403, 404)),
    ("GET", "/api/v1/statistics/trends", (401, 200, 200, 200, 200)),
    ("GET", "/api/v1/statistics/tasks", (401, 200, 200, 200, 200)),
    ("GET", "/api/v1/auth/me", (401, 200, 200, 200, 200)),
    ("GET", "/api/v1/auth/csrf-token", (200, 200, 200, 200, 200)),
    ("GET", "/healthz", (200, 200, 200, 200, 200)),
    ("GET", "/metrics", (401, 200, 200, 200, 200)),
    ("GET", "/runs", (303, 200, 200, 200, 200)),
    ("GET", "/runs/{run}", (303, 200, 200, 200, 200)),
    ("GET", "/tasks", (303, 200, 200, 200, 200)),
    ("GET", "/console/live/runs?ids={run}", (303, 200, 200, 200, 200)),
    ("POST", "/runs/{run}/cancel", (303, 403, 303, 403, 303)),
    ("POST", "/tasks/no_such_task/run", (303, 403, 404, 403, 404)),
]


def _caller(
    client: TestClient, accounts: Accounts, who: str
) -> Callable[[str, str], Response]:
    headers: dict[str, str] = {}
    if who == "viewer":
        headers["X-CSRFToken"] = log_in(client, "viewer", VIEWER_PASSWORD)
    elif who == "admin":
        headers["X-CSRFToken"] = log_in(client, "admin", ADMIN_PASSWORD)
    elif who == "viewer_token":
        headers.update(bearer(accounts.viewer_token))
    elif who == "admin_token":
        headers.update(bearer(accounts.admin_token))

    def call(method: str, path: str) -> Response:
        return client.request(method, path, headers=headers, follow_redirects=False)

    return call


@pytest.mark.parametrize("who", CALLERS)
def test_route_permissions(client: TestClient, accounts: Accounts, web_db: Database,
                           who: str) -> None:
    call = _caller(client, accounts, who)
    column = CALLERS.index(who)
    failures = []
    for method, template, expected in MATRIX:
        run = make_run(web_db, status="running")
        path = template.format(run=run.run_id)
        response = call(method, path)
        if response.status_code != expected[column]:
            failures.append(f"{method} {template}: {response.status_code} != {expected[column]}")
    assert failures == []


def test_anonymous_console_get_redirects_to_login(client: TestClient) -> None:
    response = client.get("/runs?status=failed", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fruns%3Fstatus%3Dfailed"
