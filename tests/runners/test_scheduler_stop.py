"""A signal stops ``taskrun scheduler`` during a long run: the run is cancelled, the lock freed."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskrun_center.runners.scheduler import read_leader
from taskrun_center.storage.engine import Database
from tests.runners.processes import start_taskrun, wait_for
from tests.runners.rows import runs_of

pytestmark = pytest.mark.slow

# Fires every 2 s; one run at a time, so the long run blocks the later ticks.
JOB_FILE = """
[jobs.long]
task = "sample_slow"
interval = "2s"
arguments = {{ count = {count}, seconds = {seconds}, marker = "{marker}" }}
"""


@pytest.fixture
def replica(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """The scheduler process of one test, killed at its end when it is still running."""
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def _start_long_run(
    url: str, tmp_path: Path, processes: list[subprocess.Popen[bytes]], *, count: int,
    seconds: float,
) -> tuple[subprocess.Popen[bytes], Path]:
    marker = tmp_path / "started"
    config = tmp_path / "jobs.toml"
    config.write_text(JOB_FILE.format(count=count, seconds=seconds, marker=marker.as_posix()),
                      encoding="utf-8")
    log_path = tmp_path / "scheduler.log"
    process = start_taskrun(url, "scheduler", "--config", str(config), log_path=log_path)
    processes.append(process)
    wait_for(marker.exists, 60, "the long run starts")
    return process, log_path


def _run_status(database: Database) -> str:
    [run] = runs_of(database, "sample_slow")
    return str(run.status)


def _released(database: Database) -> bool:
    record = read_leader(database)
    return record is not None and record.released


@pytest.mark.parametrize(("stop_signal", "exit_code"), [
    (signal.SIGTERM, 143),
    (signal.SIGINT, 130),
], ids=["sigterm", "sigint"])
def test_signal_cancels_run_and_exits(
    database_url: str, tmp_path: Path, replica: list[subprocess.Popen[bytes]],
    stop_signal: signal.Signals, exit_code: int,
) -> None:
    database = Database(database_url)
    try:
        # About 40 minutes of work, checking for cancellation before each 0.05 s item.
        process, _log = _start_long_run(database_url, tmp_path, replica, count=50_000,
                                        seconds=0.05)
        assert _run_status(database) == "running"

        process.send_signal(stop_signal)
        code = process.wait(timeout=60)

        assert code == exit_code
        assert _run_status(database) == "cancelled"
        assert _released(database)
    finally:
        database.dispose()


def test_second_signal_exits_at_once(
    sqlite_url: str, tmp_path: Path, replica: list[subprocess.Popen[bytes]]
) -> None:
    database = Database(sqlite_url)
    try:
        # One item that sleeps an hour: the task never reaches a cancellation check.
        process, log_path = _start_long_run(sqlite_url, tmp_path, replica, count=1,
                                            seconds=3600)

        process.send_signal(signal.SIGTERM)
        wait_for(lambda: _run_status(database) == "cancelled", 30, "the run is cancelled")
        wait_for(lambda: _released(database), 30, "leadership is released")
        assert process.poll() is None
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)

        assert code == 143
        assert b"scheduler_exit_forced" in log_path.read_bytes()
    finally:
        database.dispose()
