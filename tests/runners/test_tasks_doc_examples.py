"""The Python examples of docs/tasks.md run as written, in both languages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from taskrun_center.storage.engine import Database
from tests.runners.processes import REPO_ROOT, taskrun_argv, taskrun_env
from tests.runners.rows import runs_of


def _python_block(page: str, heading: str) -> str:
    """Return the first Python code block under ``## heading`` of ``page``."""
    text = (REPO_ROOT / "docs" / page).read_text(encoding="utf-8")
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


@pytest.mark.parametrize(
    ("page", "declare", "run"),
    [
        ("tasks.md", "Declaring a task", "Running tasks from Python"),
        ("tasks.zh-CN.md", "声明任务", "在 Python 中运行任务"),
    ],
)
def test_python_examples_run(tmp_path: Path, page: str, declare: str, run: str) -> None:
    (tmp_path / "sync_accounts.py").write_text(_python_block(page, declare), encoding="utf-8")
    (tmp_path / "run_sync.py").write_text(_python_block(page, run), encoding="utf-8")
    env = taskrun_env("sqlite:///taskrun.db")
    del env["TASKRUN_TASK_MODULES"]

    upgrade = subprocess.run(taskrun_argv("db", "upgrade"), cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120, check=False)
    example = subprocess.run([sys.executable, "run_sync.py"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120, check=False)

    assert upgrade.returncode == 0, upgrade.stderr
    assert example.returncode == 0, example.stderr
    # structlog's default logger writes to stdout too, so the printed outcome is one line of many.
    lines = example.stdout.splitlines()
    assert any(line.endswith(" completed None") for line in lines), example.stdout
    database = Database(f"sqlite:///{tmp_path / 'taskrun.db'}")
    sync_runs = runs_of(database, "sync_accounts")
    assert [run.status for run in sync_runs] == ["completed", "completed"]
    assert {run.created_by for run in sync_runs} == {None, "alice"}
    [imported] = runs_of(database, "nightly_import")
    assert imported.status == "completed"
