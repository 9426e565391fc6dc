"""A SQLite path that does not exist is reported, and only ``db upgrade`` and ``up`` create it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.runners.processes import taskrun_argv

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


def _taskrun(cwd: Path, *arguments: str, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("TASKRUN_")}
    env.update(variables)
    return subprocess.run(taskrun_argv(*arguments), capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120, check=False)


@pytest.mark.parametrize("command", COMMANDS, ids="-".join)
def test_mistyped_path_is_not_created(tmp_path: Path, command: tuple[str, ...]) -> None:
    path = tmp_path / "mistyped.db"

    completed = _taskrun(tmp_path, *command, TASKRUN_DATABASE_URL=f"sqlite:///{path}")

    assert completed.returncode == 1, completed.stderr
    assert not path.exists()
    assert f"SQLite 数据库文件 {path} 不存在" in completed.stderr
    assert "taskrun db upgrade" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_default_file_is_not_created(tmp_path: Path) -> None:
    completed = _taskrun(tmp_path, "runs", "list", TASKRUN_LANGUAGE="en")

    assert completed.returncode == 1, completed.stderr
    assert not (tmp_path / "taskrun.db").exists()
    assert f"The SQLite database file {tmp_path / 'taskrun.db'} does not exist" in completed.stderr


def test_option_path_is_not_created(tmp_path: Path) -> None:
    completed = _taskrun(tmp_path, "audit", "--database-url", "sqlite:///relative.db")

    assert completed.returncode == 1, completed.stderr
    assert not (tmp_path / "relative.db").exists()
    assert str(tmp_path / "relative.db") in completed.stderr


def test_db_upgrade_creates_file(tmp_path: Path) -> None:
    path = tmp_path / "new.db"

    completed = _taskrun(tmp_path, "db", "upgrade", TASKRUN_DATABASE_URL=f"sqlite:///{path}")

    assert completed.returncode == 0, completed.stderr
    assert path.exists()
