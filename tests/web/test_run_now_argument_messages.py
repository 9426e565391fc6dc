"""Run-now through the API with an argument of the wrong type."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from taskrun_center.runners import RunContext, task
from tests.web.conftest import Accounts, bearer

TASK_KEY = "web_test_targets"


@task(key=TASK_KEY, name_zh="网页参数测试任务", name_en="Web arguments test task",
      category="testing")
def targets_task(ctx: RunContext, *, targets: list[str] | None = None) -> None:
    """Accept a list of text values, like the dbstats example."""


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh-CN", ["参数 targets 无效：应为由文本组成的列表或空值 null", "给出的是文本 \"['x']\"",
                   "正确写法示例：[\"abc\"]"]),
        ("en", ["Invalid argument targets", "expected a list of text values or null",
                "got the text \"['x']\"", "Example of the right form: [\"abc\"]"]),
    ],
)
def test_run_now_wrong_type_message(client: TestClient, accounts: Accounts, language: str,
                                    expected: list[str]) -> None:
    response = client.post(f"/api/v1/task-types/{TASK_KEY}/actions/run",
                           headers={**bearer(accounts.admin_token), "Accept-Language": language},
                           json={"arguments": {"targets": "['x']"}})

    assert response.status_code == 400
    body = response.json()
    assert body["parameter"] == "arguments"
    for text in expected:
        assert text in body["message"]
    assert "Input should" not in body["message"]
