"""The run's final write waits out a SQLite lock held by another process, within a bound.

The task ``sample_lock_at_end`` starts a second process that holds ``BEGIN IMMEDIATE`` on the
run's SQLite file just before the task returns, so the run's end meets the lock.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import structlog
from typer.testing import CliRunner

from taskrun_center.cli.app import app
from taskrun_center.config import get_settings
from taskrun_center.runners import recording, run_task
from taskrun_center.runners.recording import RunEndNotRecordedError
from taskrun_center.states import RunStatus
from taskrun_center.storage.engine import Database
from tests.runners import lock_tasks
from tests.runners.processes import start_taskrun, taskrun_env, wait_for
from tests.runners.rows import load_run, runs_of

TASK_KEY = "sample_lock_at_end"
BUSY_TIMEOUT_MS = 100


@pytest.fixture(autouse=True)
def _release_lock_holders() -> Iterator[None]:
    yield
    lock_tasks.release_locks()


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make every ``Database`` created in this test wait 100 ms for SQLite's lock."""
    monkeypatch.setenv("TASKRUN_SQLITE_BUSY_TIMEOUT_MS", str(BUSY_TIMEOUT_MS))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _release_after_first_failure(logs: Sequence[Mapping[str, Any]]) -> threading.Thread:
    def release() -> None:
        wait_for(lambda: any(log["event"] == "run_end_write_failed" for log in logs), 60,
                 "the run's end met the lock")
        lock_tasks.release_locks()

    releaser = threading.Thread(target=release, daemon=True)
    releaser.start()
    return releaser


@pytest.mark.parametrize("fail", [False, True], ids=["finish", "fail"])
def test_lock_released_in_time_ends_run(sqlite_url: str, fail: bool) -> None:
    database = Database(sqlite_url, busy_timeout_ms=BUSY_TIMEOUT_MS)
    with structlog.testing.capture_logs() as logs:
        releaser = _release_after_first_failure(logs)
        outcome = run_task(TASK_KEY, database=database, arguments={"items": 3, "fail": fail})
        releaser.join(timeout=60)

    expected = RunStatus.FAILED if fail else RunStatus.COMPLETED
    assert outcome.status == expected
    run = load_run(database, outcome.run_id)
    assert run.status == expected.value
    assert run.progress_completed == 3
    assert any(log["event"] == "run_end_write_failed" for log in logs)
    database.dispose()


@pytest.mark.parametrize(("fail", "expected"), [(False, RunStatus.COMPLETED),
                                                (True, RunStatus.FAILED)], ids=["finish", "fail"])
def test_lock_across_end_keeps_item_batch(sqlite_url: str, fail: bool,
                                          expected: RunStatus) -> None:
    """The item batch in flight on the lock is stored with the run's end, not dropped."""
    database = Database(sqlite_url, busy_timeout_ms=BUSY_TIMEOUT_MS)
    with structlog.testing.capture_logs() as logs:
        releaser = _release_after_first_failure(logs)
        outcome = run_task("sample_lock_before_items", database=database,
                           arguments={"items": 2, "fail": fail})
        releaser.join(timeout=60)

    events = [log["event"] for log in logs]
    assert outcome.status == expected, outcome.error_message
    run = load_run(database, outcome.run_id)
    assert run.status == expected.value
    assert run.progress_completed == 2
    assert "item_batch_write_failed" in events
    assert "item_batch_handed_back" in events
    assert "item_batch_dropped" not in events
    database.dispose()


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh-CN", ["的结束状态未能写入", "TASKRUN_REAP_TIMEOUT_SECONDS", "600 秒"]),
        ("en", ["The end of run", "could not be recorded", "TASKRUN_REAP_TIMEOUT_SECONDS",
                "600 s"]),
    ],
)
def test_lock_held_past_limit_names_run(
    sqlite_url: str, short_busy_timeout: None, monkeypatch: pytest.MonkeyPatch,
    language: str, expected: list[str],
) -> None:
    monkeypatch.setattr(recording, "FINAL_WRITE_RETRY_SECONDS", 1.0)

    result = CliRunner().invoke(
        app, ["run", TASK_KEY, "--database-url", sqlite_url],
        env={"TASKRUN_LANGUAGE": language, "COLUMNS": "1000"},
    )
    lock_tasks.release_locks()

    assert result.exit_code == 1, result.output
    database = Database(sqlite_url)
    [run] = runs_of(database, TASK_KEY)
    assert run.status == "running"
    # Earlier lines are the log; the last one is the message for the user.
    message = result.stderr.strip().splitlines()[-1]
    assert run.run_id in message
    for part in expected:
        assert part in message
    database.dispose()


def test_lock_held_past_limit_raises(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(recording, "FINAL_WRITE_RETRY_SECONDS", 1.0)
    database = Database(sqlite_url, busy_timeout_ms=BUSY_TIMEOUT_MS)

    with pytest.raises(RunEndNotRecordedError) as raised:
        run_task(TASK_KEY, database=database)
    lock_tasks.release_locks()

    error = raised.value
    assert error.task_key == TASK_KEY
    assert error.reap_timeout_seconds == 600
    assert error.__cause__ is not None
    assert load_run(database, error.run_id).status == "running"
    database.dispose()


def test_interrupt_during_wait_exits(sqlite_url: str, tmp_path: Path) -> None:
    """Ctrl-C while the run's end waits for the lock ends ``taskrun run`` with exit code 130."""
    log_path = tmp_path / "run.log"
    env = taskrun_env(sqlite_url, TASKRUN_TASK_MODULES="tests.runners.lock_tasks",
                      TASKRUN_SQLITE_BUSY_TIMEOUT_MS=str(BUSY_TIMEOUT_MS))
    process = start_taskrun(sqlite_url, "run", TASK_KEY, log_path=log_path, env=env)
    try:
        wait_for(lambda: "run_end_write_failed" in log_path.read_text(), 60,
                 "the run's end met the lock")
        process.send_signal(signal.SIGINT)
        returncode = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    output = log_path.read_text()
    assert returncode == 130, output
    assert "run_end_abandoned" in output
    database = Database(sqlite_url)
    [run] = runs_of(database, TASK_KEY)
    assert run.status == "running"
    database.dispose()
