"""Task types and run-now, through the API and the console."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from taskrun_center.contract import MetricDefinition
from taskrun_center.runners import RunContext, TaskResult, task
from tests.web.conftest import ADMIN_PASSWORD, Accounts, bearer, log_in

TASK_KEY = "web_test_echo"
WAIT_SECONDS = 30.0


@task(
    key=TASK_KEY,
    name_zh="网页测试任务",
    name_en="Web test task",
    category="testing",
    metrics=[MetricDefinition("echoed", "回显", "Echoed", unit="words")],
)
def echo_task(ctx: RunContext, *, words: int = 1) -> TaskResult:
    """Record one metric from the run-now arguments."""
    return TaskResult(metrics={"echoed": words})


def _wait_until_finished(client: TestClient, headers: dict[str, str], run_id: str) -> dict:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        run = client.get(f"/api/v1/task-runs/{run_id}", headers=headers).json()["data"]["run"]
        if run["status"] not in ("pending", "running") or time.monotonic() > deadline:
            return run
        time.sleep(0.05)


def test_task_types_list_registered_task(client: TestClient, accounts: Accounts) -> None:
    response = client.get("/api/v1/task-types", headers={**bearer(accounts.viewer_token),
                                                          "Accept-Language": "en"})

    types = {entry["key"]: entry for entry in response.json()["data"]}
    entry = types[TASK_KEY]
    assert entry["name"] == "Web test task"
    assert entry["category"] == "testing"
    assert entry["runnable"] is True
    assert entry["metrics"] == [{"key": "echoed", "label": "Echoed", "unit": "words",
                                 "tone": None}]


def test_run_now_queues_and_runs(client: TestClient, accounts: Accounts) -> None:
    headers = bearer(accounts.admin_token)

    response = client.post(f"/api/v1/task-types/{TASK_KEY}/actions/run", headers=headers,
                           json={"arguments": {"words": 7}})

    assert response.status_code == 202
    run_id = response.json()["data"]["run_id"]
    run = _wait_until_finished(client, headers, run_id)
    assert run["status"] == "completed"
    assert run["trigger_source"] == "api"
    assert run["created_by"] == "admin"
    assert run["summary_json"]["common"]["metrics"][0]["value"] == 7


def test_run_now_rejects_unknown_arguments(client: TestClient, accounts: Accounts) -> None:
    response = client.post(f"/api/v1/task-types/{TASK_KEY}/actions/run",
                           headers=bearer(accounts.admin_token),
                           json={"arguments": {"nonsense": True}})

    assert response.status_code == 400
    body = response.json()
    assert body["message_code"] == "INVALID_PARAMETER"
    assert body["parameter"] == "arguments"
    assert "nonsense" in body["message"]


def test_run_now_rejects_unknown_body_field(client: TestClient, accounts: Accounts) -> None:
    """A misspelt field would otherwise start the task with its default arguments."""
    response = client.post(f"/api/v1/task-types/{TASK_KEY}/actions/run",
                           headers=bearer(accounts.admin_token),
                           json={"argumentz": {"value": 7}})

    assert response.status_code == 400
    body = response.json()
    assert body["message_code"] == "INVALID_PARAMETER"
    assert "argumentz" in body["parameter"]
    assert client.get("/api/v1/task-runs", headers=bearer(accounts.admin_token)
                      ).json()["data"]["total"] == 0


def test_run_now_unknown_task_is_404(client: TestClient, accounts: Accounts) -> None:
    response = client.post("/api/v1/task-types/no_such_task/actions/run",
                           headers=bearer(accounts.admin_token))

    assert response.status_code == 404
    assert response.json()["message_code"] == "RESOURCE_NOT_FOUND"


def test_console_run_now_opens_run(client: TestClient, accounts: Accounts) -> None:
    token = log_in(client, "admin", ADMIN_PASSWORD)

    response = client.post(f"/tasks/{TASK_KEY}/run", data={"csrf_token": token},
                           follow_redirects=False)

    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/runs/")
    assert location.endswith("?notice=queued")
    run_id = location.removeprefix("/runs/").split("?")[0]
    run = _wait_until_finished(client, bearer(accounts.admin_token), run_id)
    assert run["trigger_source"] == "manual"
    assert run["status"] == "completed"
