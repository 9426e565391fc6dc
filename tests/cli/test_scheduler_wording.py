"""``taskrun scheduler`` texts that come from stored or raised values, in the CLI language."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskrun_center.cli.scheduler import _trigger_text
from tests.runners.processes import run_in


@pytest.mark.parametrize(("language", "stored", "shown"), [
    ("zh-CN", "every 300 s", "每 300 秒"),
    ("en", "every 300 s", "every 300 s"),
    ("zh-CN", "cron 30 3 * * * (UTC)", "cron 30 3 * * * (UTC)"),
])
def test_stored_trigger_in_cli_language(monkeypatch: pytest.MonkeyPatch, language: str,
                                        stored: str, shown: str) -> None:
    monkeypatch.setenv("TASKRUN_LANGUAGE", language)

    assert _trigger_text(stored) == shown


@pytest.mark.parametrize(("language", "expected"), [
    ("zh-CN", "调度器需要 SQLite 数据库文件（或 PostgreSQL），不能用内存数据库"),
    ("en", "the scheduler needs a SQLite database file (or PostgreSQL), not an in-memory"),
])
def test_in_memory_database_is_refused_in_language(tmp_path: Path, language: str,
                                                   expected: str) -> None:
    completed = run_in(tmp_path, "scheduler", "--database-url", "sqlite://",
                       TASKRUN_LANGUAGE=language)

    assert completed.returncode == 2, completed.stderr
    assert expected in completed.stderr.replace("\n", "")
    assert "Traceback" not in completed.stderr
