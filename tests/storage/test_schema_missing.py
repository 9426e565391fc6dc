"""A database without the schema raises ``SchemaMissingError``, whose message names the fix."""

from __future__ import annotations

import pickle
import sqlite3
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from taskrun_center.errors import StorageError
from taskrun_center.storage import migrate
from taskrun_center.storage.engine import Database
from taskrun_center.storage.errors import SchemaMissingError
from taskrun_center.storage.models import TaskRun
from tests.runners.processes import taskrun_argv, taskrun_env
from tests.support.servers import free_port


def test_missing_table_raises_schema_missing(database_url: str) -> None:
    migrate.downgrade(database_url, "base")
    database = Database(database_url)
    try:
        with (
            pytest.raises(SchemaMissingError) as caught,
            database.transaction("reading runs") as session,
        ):
            session.execute(select(TaskRun.id)).all()
    finally:
        database.dispose()

    error = caught.value
    assert isinstance(error, StorageError)
    assert error.table == "task_runs"
    assert error.operation == "reading runs"
    assert "taskrun db upgrade" in str(error)
    assert "taskrun db upgrade" in error.render("zh-CN")
    assert "表结构" in error.render("zh-CN")
    assert error.code == "STORAGE_SCHEMA_MISSING"


def test_schema_missing_survives_pickling() -> None:
    error = SchemaMissingError("reading runs", "task_runs")

    copy = pickle.loads(pickle.dumps(error))

    assert isinstance(copy, SchemaMissingError)
    assert copy.table == "task_runs"
    assert str(copy) == str(error)


def _run(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run ``taskrun ARGS`` in English on an empty SQLite file that was never migrated."""
    path = tmp_path / "empty.db"
    # taskrun opens only an existing SQLite file, so the empty file is made here.
    sqlite3.connect(path).close()
    url = f"sqlite:///{path}"
    env = taskrun_env(url, TASKRUN_LANGUAGE="en", TASKRUN_TASK_MODULES="")
    return subprocess.run(taskrun_argv(*arguments), capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120, check=False)


@pytest.mark.parametrize(
    ("arguments", "table"),
    [
        (("runs", "list"), "task_runs"),
        (("exec", "--task-key", "nightly_backup", "--", "true"), "task_runs"),
        (("serve", "--no-scheduler", "--host", "127.0.0.1", "--port", "{port}"), "users"),
    ],
    ids=["runs-list", "exec", "serve"],
)
def test_cli_without_schema_says_upgrade(tmp_path: Path, arguments: tuple[str, ...],
                                         table: str) -> None:
    port = str(free_port())
    completed = _run(tmp_path, *(argument.format(port=port) for argument in arguments))

    assert completed.returncode == 1, completed.stderr
    assert f"no table {table}" in completed.stderr
    assert "run taskrun db upgrade" in completed.stderr
    assert "Traceback" not in completed.stderr
