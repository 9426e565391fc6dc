"""Database failures end ``taskrun`` with one worded line and exit code 1, never a traceback.

A held SQLite lock is a second connection of this test process in ``BEGIN IMMEDIATE``. The
commands run in subprocesses with a short busy timeout, so each gives up quickly.
"""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskrun_center.cli.storage_messages import storage_error_text
from taskrun_center.errors import StorageError
from taskrun_center.storage.errors import ConnectionLostError, DatabaseLockedError
from tests.runners.processes import run_in

BUSY_TIMEOUT_MS = "100"


def _taskrun(url: str, *arguments: str, cwd: Path, **variables: str,
             ) -> subprocess.CompletedProcess[str]:
    settings = {"TASKRUN_DATABASE_URL": url, "TASKRUN_SQLITE_BUSY_TIMEOUT_MS": BUSY_TIMEOUT_MS}
    return run_in(cwd, *arguments, **{**settings, **variables})


@pytest.fixture
def locked_sqlite(sqlite_url: str) -> Iterator[str]:
    """The migrated SQLite database of this test, with its write lock held."""
    holder = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield sqlite_url
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.fixture
def empty_sqlite(tmp_path: Path) -> str:
    """A SQLite file that exists but was never migrated."""
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    return f"sqlite:///{path}"


@pytest.mark.parametrize(
    ("arguments", "operation"),
    [
        (("users", "create", "u2", "--password", "long-enough-1"), "创建用户"),
        (("users", "set-password", "admin", "--password", "long-enough-1"), "修改密码"),
        (("tokens", "create", "t", "--user", "admin"), "创建 API 令牌"),
        (("exec", "--task-key", "locked_exec", "--", "true"), "开始运行"),
    ],
    ids=["users-create", "set-password", "tokens-create", "exec"],
)
def test_locked_write_prints_chinese_message(locked_sqlite: str, tmp_path: Path,
                                             arguments: tuple[str, ...], operation: str) -> None:
    completed = _taskrun(locked_sqlite, *arguments, cwd=tmp_path)

    assert completed.returncode == 1, completed.stderr
    assert "Traceback" not in completed.stderr
    assert f"{operation}失败：SQLite 数据库被另一个写入进程锁定" in completed.stderr
    assert "TASKRUN_SQLITE_BUSY_TIMEOUT_MS" in completed.stderr
    assert "failed" not in completed.stderr


def test_locked_write_in_english_keeps_operation(locked_sqlite: str, tmp_path: Path) -> None:
    completed = _taskrun(locked_sqlite, "users", "create", "u2", "--password", "long-enough-1",
                         cwd=tmp_path, TASKRUN_LANGUAGE="en")

    assert completed.returncode == 1, completed.stderr
    assert "Traceback" not in completed.stderr
    assert "create a user failed: the SQLite database was locked" in completed.stderr
    assert f"longer than {BUSY_TIMEOUT_MS} ms" in completed.stderr


def test_serve_locked_at_first_admin_exits_1(locked_sqlite: str, tmp_path: Path) -> None:
    # The lock makes the first admin fail before uvicorn binds, so the port is never opened.
    completed = _taskrun(locked_sqlite, "serve", "--no-scheduler", "--host", "127.0.0.1",
                         "--port", "18999", cwd=tmp_path)

    assert completed.returncode == 1, completed.stderr
    assert "Traceback" not in completed.stderr
    assert "创建初始管理员账号失败：SQLite 数据库被另一个写入进程锁定" in completed.stderr
    assert "initial_admin_failed" in completed.stderr


@pytest.mark.parametrize(
    ("arguments", "operation"),
    [
        (("users", "list"), "列出用户"),
        (("tokens", "list"), "列出 API 令牌"),
        (("scheduler", "status"), "读取主调度器记录"),
        (("runs", "list"), "读取运行记录"),
    ],
    ids=["users-list", "tokens-list", "scheduler-status", "runs-list"],
)
def test_unmigrated_read_names_upgrade(empty_sqlite: str, tmp_path: Path,
                                       arguments: tuple[str, ...], operation: str) -> None:
    completed = _taskrun(empty_sqlite, *arguments, cwd=tmp_path)

    assert completed.returncode == 1, completed.stderr
    assert "Traceback" not in completed.stderr
    assert "taskrun db upgrade" in completed.stderr
    assert f"（操作：{operation}）" in completed.stderr


def test_other_storage_error_names_chinese_operation() -> None:
    error = StorageError("start_run failed: IntegrityError: UNIQUE constraint failed: x.y")

    text = storage_error_text(error, "zh-CN")

    assert text == "开始运行失败：IntegrityError: UNIQUE constraint failed: x.y"


def test_other_storage_error_in_english_is_unchanged() -> None:
    error = StorageError("maintenance failed: OperationalError: disk I/O error")

    assert storage_error_text(error, "en") == "maintenance failed: OperationalError: disk I/O error"


def test_unknown_operation_is_shown_as_given() -> None:
    text = storage_error_text(DatabaseLockedError("vacuum the cache", 250), "zh-CN")

    assert text.startswith("vacuum the cache失败：")
    assert "250 毫秒" in text


def test_connection_lost_is_worded_in_chinese() -> None:
    text = storage_error_text(ConnectionLostError("purge batch"), "zh-CN")

    assert text.startswith("分批清理失败：数据库连接已断开")
