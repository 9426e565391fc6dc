"""A SQLite path that does not exist is reported, and only ``db upgrade`` and ``up`` create it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.runners.processes import run_in

COMMANDS = (
    ("runs", "list"),
    ("runs", "show", "00000000000000000000000000"),
    ("audit",),
    ("scheduler", "status"),
    ("db", "current"),
    ("users", "list"),
    ("tokens", "list"),
    ("users", "create", "u2", "--password", "long-enough-1"),
    ("run", "task_runs_audit"),
    ("exec", "--task-key", "missing_file", "--", "true"),
    ("purge", "--yes"),
)




@pytest.mark.parametrize("command", COMMANDS, ids="-".join)
def test_mistyped_path_is_not_created(tmp_path: Path, command: tuple[str, ...]) -> None:
    path = tmp_path / "mistyped.db"

    completed = run_in(tmp_path, *command, TASKRUN_DATABASE_URL=f"sqlite:///{path}")

    assert completed.returncode == 1, completed.stderr
    assert not path.exists()
    assert f"SQLite 数据库文件 {path} 不存在" in completed.stderr
    assert "taskrun db upgrade" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_default_file_is_not_created(tmp_path: Path) -> None:
    completed = run_in(tmp_path, "runs", "list", TASKRUN_LANGUAGE="en")

    assert completed.returncode == 1, completed.stderr
    assert not (tmp_path / "taskrun.db").exists()
    assert f"The SQLite database file {tmp_path / 'taskrun.db'} does not exist" in completed.stderr


def test_option_path_is_not_created(tmp_path: Path) -> None:
    completed = run_in(tmp_path, "audit", "--database-url", "sqlite:///relative.db")

    assert completed.returncode == 1, completed.stderr
    assert not (tmp_path / "relative.db").exists()
    assert str(tmp_path / "relative.db") in completed.stderr


def test_db_upgrade_creates_file(tmp_path: Path) -> None:
    path = tmp_path / "new.db"

    completed = run_in(tmp_path, "db", "upgrade", TASKRUN_DATABASE_URL=f"sqlite:///{path}")

    assert completed.returncode == 0, completed.stderr
    assert path.exists()
