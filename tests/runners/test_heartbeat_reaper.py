"""A task process killed with SIGKILL: heartbeats stop and the reaper ends its run."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from taskrun_center.runners import run_task
from taskrun_center.states import RunStatus
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun, TaskRunItem
from tests.runners import sample_tasks  # noqa: F401 - declares the sample tasks
from tests.runners.processes import start_taskrun, taskrun_env, wait_for
from tests.runners.rows import load_items, load_run


def test_killed_task_is_reaped(database: Database, database_url: str, tmp_path: Path) -> None:
    marker = tmp_path / "started"
    env = taskrun_env(database_url, TASKRUN_HEARTBEAT_INTERVAL_SECONDS="0.2")
    process = start_taskrun(
        database_url,
        "run",
        "sample_slow",
        "--arg",
        "count=10000",
        "--arg",
        "seconds=0.02",
        "--arg",
        f"marker={marker}",
        log_path=tmp_path / "task.log",
        env=env,
    )
    try:
        wait_for(marker.exists, 30, "the task started")
        run_id = marker.read_text().split()[1]
        wait_for(lambda: load_run(database, run_id).heartbeat_at is not None, 15, "a heartbeat")
        first_beat = load_run(database, run_id).heartbeat_at
        wait_for(
            lambda: load_run(database, run_id).heartbeat_at != first_beat, 15, "a second heartbeat"
        )
        wait_for(lambda: load_run(database, run_id).progress_completed > 0, 15, "an item done")
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    killed = load_run(database, run_id)
    assert killed.status == "running"
    done_before_kill = killed.progress_completed
    time.sleep(1.2)
    last_beat = load_run(database, run_id).heartbeat_at
    assert last_beat is not None
    assert last_beat == killed.heartbeat_at
    # The reaper takes a timeout of at least 10 s. Age the heartbeat and the item updates, the
    # signs of life it reads, instead of waiting.
    aged = last_beat - timedelta(seconds=30)
    with database.transaction() as session:
        session.execute(update(TaskRun).where(TaskRun.run_id == run_id).values(heartbeat_at=aged))
        session.execute(update(TaskRunItem).where(TaskRunItem.run_id == run_id)
                        .values(updated_at=aged))

    outcome = run_task("task_runs_reap", database=database, arguments={"timeout_seconds": 10})

    assert outcome.status == RunStatus.COMPLETED
    reaped = load_run(database, run_id)
    assert reaped.status == "failed"
    assert "reaped" in (reaped.error_message or "").lower() or "回收" in (
        reaped.error_message or ""
    )
    items = load_items(database, run_id)
    statuses = {item.status for item in items.values()}
    assert statuses <= {"completed", "failed"}
    assert sum(item.status == "completed" for item in items.values()) == done_before_kill
    reap_run = load_run(database, outcome.run_id)
    assert reap_run.summary_json["ext"]["data"]["running_reaped"] == 1
    assert reap_run.is_skipped is False
