"""``taskrun exec`` stores why a command could not start in the product's language."""

from __future__ import annotations

import pytest

from taskrun_center.storage.engine import Database
from tests.runners.processes import run_taskrun, taskrun_env
from tests.runners.rows import load_items, runs_of

# (command, exit status, Chinese reason, English reason)
START_FAILURES = [
    ("nonexistent_cmd_xyz", 127, "找不到命令 nonexistent_cmd_xyz：请检查命令名和 PATH",
     "command not found: nonexistent_cmd_xyz; check the name and PATH"),
    ("/etc", 126, "无法执行 /etc：它是目录", "cannot execute /etc: it is a directory"),
]


def _exec(url: str, command: str, language: str) -> tuple[int, str, str | None, object]:
    env = taskrun_env(url, TASKRUN_LANGUAGE=language)
    result = run_taskrun(url, "exec", "--task-key", "wrapped_job", "--", command, env=env)
    database = Database(url)
    try:
        [run] = runs_of(database, "wrapped_job")
        [item] = load_items(database, run.run_id).values()
    finally:
        database.dispose()
    assert item.details_json is not None
    return result.returncode, run.status, run.error_message, item.details_json["start_error"]


@pytest.mark.parametrize(("command", "code", "chinese", "english"), START_FAILURES)
def test_start_failure_stored_in_chinese(
    sqlite_url: str, command: str, code: int, chinese: str, english: str
) -> None:
    returncode, status, error_message, start_error = _exec(sqlite_url, command, "zh-CN")

    assert returncode == code
    assert status == "failed"
    assert error_message is not None
    assert error_message.startswith(chinese)
    assert start_error == error_message


@pytest.mark.parametrize(("command", "code", "chinese", "english"), START_FAILURES)
def test_start_failure_stored_in_english(
    sqlite_url: str, command: str, code: int, chinese: str, english: str
) -> None:
    returncode, status, error_message, _ = _exec(sqlite_url, command, "en")

    assert returncode == code
    assert status == "failed"
    assert error_message is not None
    assert error_message.startswith(english)
