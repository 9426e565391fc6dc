"""``taskrun run`` ended by SIGTERM or Ctrl-C cancels its run instead of leaving it running."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun
from tests.runners.processes import REPO_ROOT, taskrun_env, wait_for

# A process started in the background by a shell without job control inherits an ignored
# SIGINT, so the command is started with the handler that a terminal session has.
_MAIN_WITH_CTRL_C = (
    "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from taskrun_center.cli.app import main; main()"
)


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)],
                         ids=["sigterm", "ctrl-c"])
def test_signal_cancels_the_run(database_url: str, tmp_path: Path, signum: int,
                                exit_code: int) -> None:
    marker = tmp_path / "started"
    process = subprocess.Popen(
        [sys.executable, "-c", _MAIN_WITH_CTRL_C, "run", "sample_slow",
         "--arg", "count=2000", "--arg", f"marker={marker}"],
        cwd=REPO_ROOT, env=taskrun_env(database_url, TASKRUN_LANGUAGE="zh-CN"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(marker.exists, 60, "the task started")
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)

    assert process.returncode == exit_code, stderr
    assert "已中断。已经开始的运行已标记为已取消。" in stderr
    assert "回收器会在回收超时后将其标记为失败" in stderr
    assert "Traceback" not in stderr
    assert "Aborted" not in stderr
    database = Database(database_url)
    try:
        with database.session() as session:
            run = session.scalars(select(TaskRun)).one()
    finally:
        database.dispose()
    assert run.status == "cancelled", stderr
    assert run.run_id in marker.read_text()


def test_json_output_says_interrupted(sqlite_url: str, tmp_path: Path) -> None:
    marker = tmp_path / "started"
    process = subprocess.Popen(
        [sys.executable, "-c", _MAIN_WITH_CTRL_C, "run", "sample_slow", "--format", "json",
         "--arg", "count=2000", "--arg", f"marker={marker}"],
        cwd=REPO_ROOT, env=taskrun_env(sqlite_url), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        wait_for(marker.exists, 60, "the task started")
        process.send_signal(signal.SIGTERM)
        stdout, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)

    assert process.returncode == 143
    assert json.loads(stdout) == {"interrupted": True, "signal": "SIGTERM"}
