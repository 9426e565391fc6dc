"""REST API v1 run routes: list, detail, error logs and cancel, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, update

from taskrun_center.lifecycle.read_service import TOTAL_COUNT_CAP
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun
from taskrun_center.web.app import create_app
from taskrun_center.web.auth.accounts import Role, create_token, create_user
from tests.factories import make_run, run_row
from tests.web.conftest import SECRET_KEY, bearer
from tests.web.summaries import rich_summary, skipped_summary

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def api(database_url: str) -> Iterator[tuple[TestClient, Database, dict[str, str]]]:
    """A client on SQLite and on PostgreSQL, with an admin token header."""
    database = Database(database_url)
    with database.transaction() as session:
        create_user(session, "admin", "admin-password-1", Role.ADMIN)
        token = create_token(session, "admin", "ci").secret
    app = create_app(database, secret_key=SECRET_KEY)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, database, bearer(token)
    database.dispose()


def test_list_returns_reference_envelope(api: tuple[TestClient, Database, dict[str, str]]) -> None:
    client, database, headers = api
    run = make_run(database, status="completed", summary_json=rich_summary(), started_at=T0,
                   completed_at=T0 + timedelta(seconds=5))

    response = client.get("/api/v1/task-runs", headers=headers)

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert isinstance(body["message"], str)
    data = body["data"]
    assert (data["total"], data["page"], data["pages"], data["limit"]) == (1, 1, 1, 20)
    item = data["items"][0]
    assert item["run_id"] == run.run_id
    assert item["status"] == "completed"
    assert item["duration_ms"] == 5000
    assert item["summary_json"]["common"]["metrics"][0]["key"] == "rows"


def test_list_filters_by_status_and_task(api: tuple[TestClient, Database, dict[str, str]]) -> None:
    client, database, headers = api
    make_run(database, task_key="alpha", status="completed")
    failed = make_run(database, task_key="alpha", status="failed")
    make_run(database, task_key="beta", status="failed")

    response = client.get("/api/v1/task-runs?status=failed&task_key=alpha", headers=headers)

    assert response.status_code == 200
    ids = [item["run_id"] for item in response.json()["data"]["items"]]
    assert ids == [failed.run_id]


def test_list_accepts_comma_separated_values(
    api: tuple[TestClient, Database, dict[str, str]],
) -> None:
    client, database, headers = api
    make_run(database, status="completed")
    make_run(database, status="failed")
    make_run(database, status="cancelled")

    response = client.get("/api/v1/task-runs?status=failed,cancelled", headers=headers)

    statuses = sorted(item["status"] for item in response.json()["data"]["items"])
    assert statuses == ["cancelled", "failed"]


def test_list_puts_pending_runs_last_both_ways(
    api: tuple[TestClient, Database, dict[str, str]],
) -> None:
    client, database, headers = api
    pending = make_run(database, status="pending")
    # A queued run that no worker picked up has no start time.
    with database.transaction() as session:
        session.execute(
            update(TaskRun).where(TaskRun.run_id == pending.run_id).values(started_at=None)
        )
    make_run(database, status="completed", started_at=T0)
    make_run(database, status="completed", started_at=T0 + timedelta(hours=1))

    for order in ("asc", "desc"):
        response = client.get(f"/api/v1/task-runs?sort=started_at&order={order}",
                              headers=headers)
        items = response.json()["data"]["items"]
        assert items[-1]["run_id"] == pending.run_id, order
        assert items[-1]["started_at"] is None


def test_list_filters_skipped_and_time_range(
    api: tuple[TestClient, Database, dict[str, str]],
) -> None:
    client, database, headers = api
    skipped = make_run(database, status="completed", summary_json=skipped_summary("无数据"),
                       started_at=T0)
    make_run(database, status="completed", started_at=T0)
    make_run(database, status="completed", summary_json=skipped_summary("无数据"),
             started_at=T0 - timedelta(days=3))

    response = client.get(
        "/api/v1/task-runs",
        params={"skipped": "true", "started_from": "2026-11-01T00:00:00Z",
                "started_to": "2026-11-02T00:00:00"},
        headers=headers,
    )

    assert [item["run_id"] for item in response.json()["data"]["items"]] == [skipped.run_id]


def test_list_paginates_with_page_and_cursor(
    api: tuple[TestClient, Database, dict[str, str]],
) -> None:
    client, database, headers = api
    for offset in range(5):
        make_run(database, status="completed", started_at=T0 + timedelta(minutes=offset))

    first = client.get("/api/v1/task-runs?limit=2", headers=headers).json()["data"]
    second = client.get("/api/v1/task-runs?limit=2&page=2", headers=headers).json()["data"]
    by_cursor = client.get(
        "/api/v1/task-runs", params={"limit": 2, "cursor": first["next_cursor"]},
        headers=headers,
    ).json()["data"]

    assert first["pages"] == 3
    assert first["next_cursor"]
    assert [i["run_id"] for i in by_cursor["items"]] == [i["run_id"] for i in second["items"]]
    assert not {i["run_id"] for i in first["items"]} & {i["run_id"] for i in second["items"]}


def test_list_search_matches_run_id_prefix(
    api: tuple[TestClient, Database, dict[str, str]],
) -> None:
    client, database, headers = api
    target = make_run(database, status="completed")
    make_run(database, status="completed")

    response = client.get(f"/api/v1/task-runs?search={target.run_id[:13]}", headers=headers)

    assert [i["run_id"] for i in response.json()["data"]["items"]] == [target.run_id]


def test_list_accepts_the_read_service_limits(
    api: tuple[TestClient, Database, dict[str, str]],
) -> None:
    client, database, headers = api
    target = make_run(database, status="completed")
    task_keys = ",".join([target.task_key, *(f"other_{n}" for n in range(99))])

    response = client.get(
        f"/api/v1/task-runs?task_key={task_keys}&search={target.run_id[:8]}",
        headers=headers,
    )
    longest = client.get("/api/v1/task-runs?search=" + "x" * 255, headers=headers)

    assert response.status_code == 200
    assert [i["run_id"] for i in response.json()["data"]["items"]] == [target.run_id]
    assert longest.status_code == 200
    assert longest.json()["data"]["items"] == []


def test_detail_returns_run_and_items(api: tuple[TestClient, Database, dict[str, str]]) -> None:
    client, database, headers = api
    run = make_run(database, status="completed", items={"completed": 3, "failed": 1})

    response = client.get(f"/api/v1/task-runs/{run.run_id}", headers=headers)

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["run"]["run_id"] == run.run_id
    assert len(data["items"]) == 4
    assert data["items_total"] == 4
    failed = client.get(f"/api/v1/task-runs/{run.run_id}?item_status=failed", headers=headers)
    assert [item["status"] for item in failed.json()["data"]["items"]] == ["failed"]


def test_detail_of_unknown_run_is_404(api: tuple[TestClient, Database, dict[str, str]]) -> None:
    client, _, headers = api

    response = client.get("/api/v1/task-runs/does-not-exist", headers=headers)

    assert response.status_code == 404
    body = response.json()
    assert body == {"success": False, "message": body["message"],
                    "message_code": "RESOURCE_NOT_FOUND"}
    assert "does-not-exist" in body["message"]


def test_error_logs_list_failed_items(api: tuple[TestClient, Database, dict[str, str]]) -> None:
    client, database, headers = api
    run = make_run(database, status="completed_with_errors",
                   items={"completed": 2, "failed": 2})

    response = client.get(f"/api/v1/task-runs/{run.run_id}/error-logs", headers=headers)

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["error_count"] == 2
    assert data["run"]["run_id"] == run.run_id
    assert {item["status"] for item in data["items"]} == {"failed"}
    assert all(item["error_message"] for item in data["items"])


def test_error_logs_of_unknown_run_is_404(
    api: tuple[TestClient, Database, dict[str, str]],
) -> None:
    client, _, headers = api

    response = client.get("/api/v1/task-runs/nope/error-logs", headers=headers)

    assert response.status_code == 404
    assert response.json()["message_code"] == "RESOURCE_NOT_FOUND"


def test_cancel_running_run_cancels_items(
    api: tuple[TestClient, Database, dict[str, str]],
) -> None:
    client, database, headers = api
    run = make_run(database, status="running", items={"running": 1, "pending": 2})

    response = client.post(f"/api/v1/task-runs/{run.run_id}/actions/cancel", headers=headers)

    assert response.status_code == 200
    assert response.json()["data"]["status"] == "cancelled"
    detail = client.get(f"/api/v1/task-runs/{run.run_id}", headers=headers).json()["data"]
    assert detail["run"]["status"] == "cancelled"
    assert {item["status"] for item in detail["items"]} == {"cancelled"}


def test_cancel_finished_run_is_409(api: tuple[TestClient, Database, dict[str, str]]) -> None:
    client, database, headers = api
    run = make_run(database, status="completed")

    response = client.post(f"/api/v1/task-runs/{run.run_id}/actions/cancel", headers=headers)

    assert response.status_code == 409
    body = response.json()
    assert body["message_code"] == "RUN_NOT_CANCELABLE"
    assert "completed" in body["message"]
    stored = client.get(f"/api/v1/task-runs/{run.run_id}", headers=headers).json()["data"]
    assert stored["run"]["status"] == "completed"


def test_cancel_unknown_run_is_404(api: tuple[TestClient, Database, dict[str, str]]) -> None:
    client, _, headers = api

    response = client.post("/api/v1/task-runs/missing/actions/cancel", headers=headers)

    assert response.status_code == 404
    assert response.json()["message_code"] == "RESOURCE_NOT_FOUND"


def _insert_runs(database: Database, count: int) -> None:
    """Insert ``count`` finished runs, one minute apart, as plain rows."""
    rows = [run_row(started_at=T0 + timedelta(minutes=index),
                    completed_at=T0 + timedelta(minutes=index, seconds=1))
            for index in range(count)]
    with database.transaction() as session:
        session.execute(insert(TaskRun), rows)


def test_list_total_beyond_cap_is_not_exact(
    api: tuple[TestClient, Database, dict[str, str]],
) -> None:
    client, database, headers = api
    _insert_runs(database, TOTAL_COUNT_CAP + 5)

    data = client.get("/api/v1/task-runs", headers=headers).json()["data"]

    assert data["total"] == TOTAL_COUNT_CAP
    assert data["total_exact"] is False
    assert data["pages"] == TOTAL_COUNT_CAP // 20
    assert data["limit"] == 20


def test_list_exact_total_counts_every_run(
    api: tuple[TestClient, Database, dict[str, str]],
) -> None:
    client, database, headers = api
    _insert_runs(database, TOTAL_COUNT_CAP + 5)

    data = client.get("/api/v1/task-runs?exact_total=true", headers=headers).json()["data"]

    assert data["total"] == TOTAL_COUNT_CAP + 5
    assert data["total_exact"] is True
    assert data["pages"] == TOTAL_COUNT_CAP // 20 + 1


def test_list_pages_past_capped_total(
    api: tuple[TestClient, Database, dict[str, str]],
) -> None:
    client, database, headers = api
    _insert_runs(database, TOTAL_COUNT_CAP + 5)
    last_capped = TOTAL_COUNT_CAP // 20

    capped = client.get(f"/api/v1/task-runs?page={last_capped}", headers=headers).json()["data"]
    beyond = client.get("/api/v1/task-runs", params={"cursor": capped["next_cursor"]},
                        headers=headers).json()["data"]

    assert capped["next_cursor"]
    assert beyond["page"] == last_capped + 1
    assert beyond["total_exact"] is False
    assert len(beyond["items"]) == 5
    assert beyond["next_cursor"] is None
