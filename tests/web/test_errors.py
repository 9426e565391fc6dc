"""The failure body: language, invalid parameters, internal errors that reveal nothing."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from taskrun_center.errors import StorageError
from taskrun_center.lifecycle.read_service import TaskRunsReadService
from tests.web.conftest import Accounts, bearer


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("limit=101", "limit"),
        ("limit=0", "limit"),
        ("page=0", "page"),
        ("page=abc", "page"),
        ("sort=name;DROP TABLE task_runs", "sort"),
        ("order=sideways", "order"),
        ("status=exploded", "status"),
        ("trigger_source=cron", "trigger_source"),
        ("skipped=maybe", "skipped"),
        ("started_from=yesterday", "started_from"),
        ("started_from=2026-01-02T00:00:00Z&started_to=2026-01-01T00:00:00Z", "started_to"),
        ("cursor=not-a-cursor", "cursor"),
        ("search=" + "x" * 256, "search"),
        ("task_key=" + ",".join(f"task_{n}" for n in range(101)), "task_key"),
    ],
)
def test_invalid_parameter_is_400_naming_it(
    client: TestClient, accounts: Accounts, query: str, parameter: str
) -> None:
    response = client.get(f"/api/v1/task-runs?{query}", headers=bearer(accounts.viewer_token))

    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert body["message_code"] == "INVALID_PARAMETER"
    assert body["parameter"] == parameter
    assert parameter in body["message"]


def test_messages_default_to_chinese(client: TestClient) -> None:
    body = client.get("/api/v1/task-runs").json()

    assert "请先登录" in body["message"]


def test_accept_language_english(client: TestClient) -> None:
    body = client.get("/api/v1/task-runs", headers={"Accept-Language": "en-US,en;q=0.9"}).json()

    assert body["message"].startswith("Sign in first")


def test_lang_cookie_beats_accept_language(client: TestClient) -> None:
    client.cookies.set("lang", "en")

    body = client.get("/api/v1/task-runs", headers={"Accept-Language": "zh-CN"}).json()

    assert body["message"].startswith("Sign in first")


def test_unknown_lang_cookie_defers_to_header(client: TestClient) -> None:
    client.cookies.set("lang", "fr")

    english = client.get("/api/v1/task-runs", headers={"Accept-Language": "en"}).json()
    chinese = client.get("/api/v1/task-runs").json()

    assert english["message"].startswith("Sign in first")
    assert not chinese["message"].startswith("Sign in first")


def test_validation_reason_is_translated(client: TestClient, accounts: Accounts) -> None:
    headers = bearer(accounts.viewer_token)

    chinese = client.get("/api/v1/task-runs?limit=500", headers=headers).json()
    english = client.get("/api/v1/task-runs?limit=500",
                         headers={**headers, "Accept-Language": "en"}).json()

    assert "100" in chinese["message"]
    assert "不能大于" in chinese["message"]
    assert english["message"] == "Invalid parameter limit: must be at most 100"


def test_unexpected_error_is_500_without_internals(
    client: TestClient, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_: object, **__: object) -> None:
        raise RuntimeError("password=hunter2 at /srv/secret/path.py")

    monkeypatch.setattr(TaskRunsReadService, "list_runs", explode)

    response = client.get("/api/v1/task-runs", headers=bearer(accounts.viewer_token))

    assert response.status_code == 500
    body = response.json()
    assert body["message_code"] == "INTERNAL_ERROR"
    assert body["success"] is False
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    assert "/srv" not in response.text


def test_unknown_api_path_is_json_404(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert response.json()["message_code"] == "RESOURCE_NOT_FOUND"


def test_wrong_method_is_json_405(client: TestClient) -> None:
    response = client.delete("/api/v1/task-runs")

    assert response.status_code == 405
    assert response.json()["message_code"] == "METHOD_NOT_ALLOWED"


def test_storage_error_is_503_retry(
    client: TestClient, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    def locked(*_: object, **__: object) -> None:
        raise StorageError("list runs failed: database is locked at /srv/data/taskrun.db")

    monkeypatch.setattr(TaskRunsReadService, "list_runs", locked)

    response = client.get("/api/v1/task-runs", headers=bearer(accounts.viewer_token))

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["message_code"] == "STORAGE_ERROR"
    assert "/srv" not in response.text


_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
_REASON_QUERIES = [
    ("status=exploded", "status"),
    ("trigger_source=cron", "trigger_source"),
    ("started_from=2026-01-02T00:00:00Z&started_to=2026-01-01T00:00:00Z", "started_to"),
    ("cursor=not-a-cursor", "cursor"),
    ("&".join(f"task_key=k{index}" for index in range(101)), "task_key"),
    ("limit=0", "limit"),
    ("sort=nope", "sort"),
    ("order=sideways", "order"),
    ("page=2&cursor=abc", "page"),
]


@pytest.mark.parametrize(("query", "parameter"), _REASON_QUERIES)
def test_invalid_parameter_reason_follows_language(
    client: TestClient, accounts: Accounts, query: str, parameter: str
) -> None:
    headers = bearer(accounts.viewer_token)

    chinese = client.get(f"/api/v1/task-runs?{query}",
                         headers={**headers, "Accept-Language": "zh-CN"}).json()
    english = client.get(f"/api/v1/task-runs?{query}",
                         headers={**headers, "Accept-Language": "en"}).json()
    english_reason = english["message"].split(": ", 1)[1]
    chinese_reason = chinese["message"].split("：", 1)[1]

    assert chinese["parameter"] == english["parameter"] == parameter
    assert english["message"].startswith(f"Invalid parameter {parameter}: ")
    assert _CJK.search(english["message"]) is None
    assert english_reason not in chinese["message"]
    assert _CJK.search(chinese_reason) is not None
    assert re.search(r"\b(is|not|the|or|either|both|expected|at most|must)\b",
                     chinese_reason) is None


def test_sort_reason_lists_values_without_quotes(client: TestClient, accounts: Accounts) -> None:
    body = client.get("/api/v1/task-runs?sort=nope", headers=bearer(accounts.viewer_token)).json()

    assert body["message"].endswith(
        "必须是以下之一：started_at, completed_at, duration, status, task_key")


def test_non_json_body_names_body(client: TestClient, accounts: Accounts) -> None:
    response = client.post(
        "/api/v1/task-types/task_runs_purge/actions/run",
        content="not json",
        headers={**bearer(accounts.admin_token), "content-type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["parameter"] == "body"
    assert response.json()["message"] == "参数 body 无效：不是有效的 JSON"


def test_locked_database_is_503_storage_locked(
    client: TestClient, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    from taskrun_center.storage.errors import DatabaseLockedError

    def locked(*_: object, **__: object) -> None:
        raise DatabaseLockedError("list runs", 5000)

    monkeypatch.setattr(TaskRunsReadService, "list_runs", locked)

    response = client.get("/api/v1/task-runs", headers=bearer(accounts.viewer_token))

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["message_code"] == "STORAGE_LOCKED"


def test_accept_language_quality_zero_is_not_chosen() -> None:
    from taskrun_center.i18n import resolve_language

    assert resolve_language("en;q=0, fr") == "zh-CN"
    assert resolve_language("fr, en;q=0.1") == "en"
    assert resolve_language("zh;q=0, en;q=0.5") == "en"
