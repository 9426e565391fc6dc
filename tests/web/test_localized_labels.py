"""Task names and metric labels of registered types follow the request's language."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from taskrun_center.contract import MetricDefinition, TaskType, default_registry
from taskrun_center.storage.engine import Database
from tests.factories import make_run
from tests.web.conftest import Accounts, bearer
from tests.web.summaries import rich_summary

TASK_KEY = "web_localized_sync"
ENGLISH = {"Accept-Language": "en"}


@pytest.fixture
def registered_type() -> Iterator[TaskType]:
    """A registered type that names the ``rows`` metric but not ``errors``."""
    task_type = TaskType(
        key=TASK_KEY,
        name_zh="同步账号",
        name_en="Sync accounts",
        category="testing",
        metrics=(MetricDefinition("rows", "行数", "Rows"),),
    )
    default_registry.register(task_type, replace=True)
    yield task_type
    default_registry.unregister(TASK_KEY)


def _stored_run(web_db: Database, task_key: str = TASK_KEY) -> str:
    summary = rich_summary(task_key)
    summary["common"]["highlights"] = ["同步完成"]
    run = make_run(web_db, task_key=task_key, task_name="同步账号", status="completed",
                   summary_json=summary)
    return run.run_id


def test_api_list_adds_english_names(
    client: TestClient, accounts: Accounts, web_db: Database, registered_type: TaskType
) -> None:
    _stored_run(web_db)

    run = client.get("/api/v1/task-runs", headers={**bearer(accounts.viewer_token),
                                                   **ENGLISH}).json()["data"]["items"][0]

    assert run["task_name"] == "同步账号"
    assert run["task_name_localized"] == "Sync accounts"
    assert run["metric_labels_localized"] == {"rows": "Rows", "errors": "错误"}
    assert run["summary_json"]["common"]["metrics"][0]["label"] == "行数"


def test_api_detail_chinese_uses_registry(
    client: TestClient, accounts: Accounts, web_db: Database, registered_type: TaskType
) -> None:
    run_id = _stored_run(web_db)

    run = client.get(f"/api/v1/task-runs/{run_id}",
                     headers=bearer(accounts.viewer_token)).json()["data"]["run"]

    assert run["task_name_localized"] == "同步账号"
    assert run["metric_labels_localized"]["rows"] == "行数"


def test_api_unknown_type_keeps_stored_text(
    client: TestClient, accounts: Accounts, web_db: Database
) -> None:
    run_id = _stored_run(web_db, task_key="web_unregistered_sync")

    run = client.get(f"/api/v1/task-runs/{run_id}",
                     headers={**bearer(accounts.viewer_token), **ENGLISH}).json()["data"]["run"]

    assert run["task_name_localized"] == "同步账号"
    assert run["metric_labels_localized"] == {"rows": "行数", "errors": "错误"}


def test_english_console_shows_registry_labels(
    client: TestClient, accounts: Accounts, web_db: Database, registered_type: TaskType
) -> None:
    run_id = _stored_run(web_db)
    client.cookies.set("lang", "en")
    headers = bearer(accounts.viewer_token)

    listing = client.get("/runs", headers=headers).text
    detail = client.get(f"/runs/{run_id}", headers=headers).text

    for page in (listing, detail):
        assert "Sync accounts" in page
        assert ">Rows<" in page
        assert ">行数<" not in page
        assert "同步完成" in page
