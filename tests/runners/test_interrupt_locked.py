"""Ctrl-C on ``taskrun run`` while another process holds SQLite's write lock.

The task records items all along, so the item writer is retrying a batch on the locked file
when SIGINT arrives. The run's cancellation then carries the queued item events and waits for
the lock within the final write's budget.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskrun_center.storage.engine import Database
from tests.runners import lock_tasks
from tests.runners.processes import start_taskrun, taskrun_env, wait_for
from tests.runners.rows import load_run, runs_of

BUSY_TIMEOUT_MS = 200


@pytest.fixture(autouse=True)
def _release_lock_holders() -> Iterator[None]:
    yield
    lock_tasks.release_locks()


def _start_slow_run(url: str, tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    marker = tmp_path / "started"
    log_path = tmp_path / "run.log"
    env = taskrun_env(url, TASKRUN_SQLITE_BUSY_TIMEOUT_MS=str(BUSY_TIMEOUT_MS))
    process = start_taskrun(url, "run", "sample_slow", "--arg", "count=100000",
                            "--arg", "seconds=0.01", "--arg", f"marker={marker}",
                            log_path=log_path, env=env)
    wait_for(marker.exists, 30, "the task started")
    return process, log_path


def _lock_and_interrupt(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    lock_tasks.hold_write_lock(url)
    wait_for(lambda: '"item_batch_write_failed"' in log_path.read_text(), 30,
             "the item writer met the lock")
    process.send_signal(signal.SIGINT)


def _events(log_path: Path, name: str) -> list[dict[str, object]]:
    lines = [line for line in log_path.read_text().splitlines() if line.startswith("{")]
    return [event for event in map(json.loads, lines) if event["event"] == name]


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()


def test_lock_released_after_interrupt_cancels_run(sqlite_url: str, tmp_path: Path) -> None:
    process, log_path = _start_slow_run(sqlite_url, tmp_path)
    try:
        _lock_and_interrupt(process, sqlite_url, log_path)
        wait_for(lambda: '"run_end_write_failed"' in log_path.read_text(), 60,
                 "the cancellation met the lock")
        lock_tasks.release_locks()
        returncode = process.wait(timeout=60)
    finally:
        _stop(process)

    output = log_path.read_text()
    assert returncode == 128 + signal.SIGINT, output
    database = Database(sqlite_url)
    [run] = runs_of(database, "sample_slow")
    assert run.status == "cancelled", output
    [interrupted] = _events(log_path, "run_interrupted")
    assert interrupted["run_id"] == run.run_id
    # Every item the task finished before Ctrl-C is stored, including the batch that the
    # writer was retrying on the lock.
    assert load_run(database, run.run_id).progress_completed == interrupted["items_completed"]
    assert _events(log_path, "item_batch_dropped") == []
    database.dispose()


def test_second_interrupt_logs_run_left_running(sqlite_url: str, tmp_path: Path) -> None:
    process, log_path = _start_slow_run(sqlite_url, tmp_path)
    try:
        _lock_and_interrupt(process, sqlite_url, log_path)
        wait_for(lambda: '"item_batch_handed_back"' in log_path.read_text()
                 or '"run_end_write_failed"' in log_path.read_text(), 60,
                 "the interrupted run waited for the lock")
        process.send_signal(signal.SIGINT)
        returncode = process.wait(timeout=60)
    finally:
        _stop(process)

    output = log_path.read_text()
    assert returncode == 128 + signal.SIGINT, output
    database = Database(sqlite_url)
    [run] = runs_of(database, "sample_slow")
    assert run.status == "running", output
    [not_recorded] = _events(log_path, "run_interrupt_not_recorded")
    assert not_recorded["run_id"] == run.run_id
    assert not_recorded["reap_timeout_seconds"] == 600
    database.dispose()
