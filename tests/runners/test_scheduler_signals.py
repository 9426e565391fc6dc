"""SIGTERM stops ``taskrun scheduler`` and ``taskrun up`` cleanly and releases leadership."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
from pathlib import Path

from taskrun_center.runners.scheduler import read_leader
from taskrun_center.storage.engine import Database
from tests.runners.processes import REPO_ROOT, run_taskrun, taskrun_argv, taskrun_env, wait_for


def _leader_pid(database: Database) -> int | None:
    record = read_leader(database)
    return None if record is None or record.released else record.pid


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _assert_released(database: Database, url: str, pid: int) -> None:
    record = read_leader(database)
    assert record is not None
    assert record.pid == pid
    assert record.released
    status = run_taskrun(url, "scheduler", "status", "--format", "json")
    assert status.returncode == 1
    assert '"alive": false' in status.stdout


def test_sigterm_releases_scheduler_leadership(sqlite_url: str, tmp_path: Path) -> None:
    database = Database(sqlite_url)
    log = (tmp_path / "scheduler.log").open("wb")
    process = subprocess.Popen(
        taskrun_argv("scheduler"),
        cwd=REPO_ROOT,
        env=taskrun_env(sqlite_url),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: _leader_pid(database) == process.pid, 60, "the scheduler leads")
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()

    assert code == 128 + signal.SIGTERM
    _assert_released(database, sqlite_url, process.pid)


def test_sigterm_stops_up_and_releases_leadership(tmp_path: Path) -> None:
    shutil.copytree(REPO_ROOT / "examples", tmp_path / "examples")
    url = f"sqlite:///{tmp_path / 'taskrun.db'}"
    env = taskrun_env(url, TASKRUN_TASK_MODULES="")
    log_path = tmp_path / "up.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        taskrun_argv("up", "--port", str(_free_port())),
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    database = Database(url)
    try:
        wait_for(lambda: b"Uvicorn running" in log_path.read_bytes(), 120, "the console serves")
        assert _leader_pid(database) == process.pid
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()

    assert code == 128 + signal.SIGTERM
    _assert_released(database, url, process.pid)
