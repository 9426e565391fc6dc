"""The reaper on SQLite and PostgreSQL: abandoned runs end as failed, live runs stay."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from taskrun_center.errors import ConfigurationError
from taskrun_center.maintenance.reaper import reap_runs
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun, TaskRunItem
from taskrun_center.storage.types import utcnow
from tests.maintenance.rows import NOW, add_items, add_run

TEN_MINUTES = timedelta(minutes=10)
ONE_HOUR = timedelta(hours=1)


def _status(database: Database, run_id: str) -> str:
    with database.session() as session:
        return str(session.scalar(select(TaskRun.status).where(TaskRun.run_id == run_id)))


def _item_statuses(database: Database, run_id: str) -> list[str]:
    with database.session() as session:
        return list(session.scalars(
            select(TaskRunItem.status).where(TaskRunItem.run_id == run_id)
            .order_by(TaskRunItem.id)
        ))


def test_silent_running_run_is_failed(database: Database) -> None:
    with database.transaction() as session:
        run = add_run(session, status="running", started_at=NOW - ONE_HOUR,
                      heartbeat_at=NOW - timedelta(minutes=11))
        items = add_items(session, run, ["completed", "running", "pending", "cancelled"])
        _touch(items, NOW - timedelta(minutes=12))

    result = reap_runs(database, timeout=TEN_MINUTES, pending_timeout=ONE_HOUR, now=NOW)

    assert result.running == 1
    assert result.run_ids == [run.run_id]
    assert _status(database, run.run_id) == "failed"
    assert _item_statuses(database, run.run_id) == ["completed", "failed", "failed", "cancelled"]


def _touch(items: list[TaskRunItem], at: datetime) -> None:
    """Set the items' ``updated_at`` as if they last changed ``at``."""
    for item in items:
        item.updated_at = at


def _run_row(database: Database, run_id: str) -> TaskRun:
    with database.session() as session:
        run = session.scalar(select(TaskRun).where(TaskRun.run_id == run_id))
        assert run is not None
        session.expunge(run)
        return run


def test_reap_ends_run_at_last_item_update(database: Database) -> None:
    started = NOW - ONE_HOUR
    with database.transaction() as session:
        run = add_run(session, status="running", started_at=started,
                      heartbeat_at=NOW - timedelta(minutes=40))
        first, second = add_items(session, run, ["completed", "running"])
        _touch([first], NOW - timedelta(minutes=30))
        _touch([second], NOW - timedelta(minutes=20))

    reap_runs(database, timeout=TEN_MINUTES, now=NOW)

    reaped = _run_row(database, run.run_id)
    last_activity = NOW - timedelta(minutes=20)
    assert reaped.status == "failed"
    assert reaped.completed_at == last_activity
    assert reaped.duration_ms == 40 * 60 * 1000
    assert last_activity.isoformat(timespec="seconds") in (reaped.error_message or "")


def test_recent_item_update_keeps_run(database: Database) -> None:
    with database.transaction() as session:
        run = add_run(session, status="running", started_at=NOW - ONE_HOUR,
                      heartbeat_at=NOW - timedelta(minutes=40))
        items = add_items(session, run, ["running"])
        _touch(items, NOW - timedelta(minutes=5))

    dry = reap_runs(database, timeout=TEN_MINUTES, now=NOW, dry_run=True)
    result = reap_runs(database, timeout=TEN_MINUTES, now=NOW)

    assert dry.total == 0
    assert result.total == 0
    assert _status(database, run.run_id) == "running"


def test_reap_reason_names_silence(database: Database) -> None:
    with database.transaction() as session:
        run = add_run(session, status="running", started_at=NOW - ONE_HOUR,
                      heartbeat_at=NOW - timedelta(minutes=11))

    reap_runs(database, timeout=TEN_MINUTES, now=NOW)

    with database.session() as session:
        message = session.scalar(select(TaskRun.error_message)
                                 .where(TaskRun.run_id == run.run_id))
    assert message is not None
    assert "10m" in message


def test_recent_heartbeat_keeps_run(database: Database) -> None:
    with database.transaction() as session:
        run = add_run(session, status="running", started_at=NOW - ONE_HOUR,
                      heartbeat_at=NOW - timedelta(minutes=9))

    result = reap_runs(database, timeout=TEN_MINUTES, now=NOW)

    assert result.total == 0
    assert _status(database, run.run_id) == "running"


def test_start_counts_without_heartbeat(database: Database) -> None:
    with database.transaction() as session:
        stale = add_run(session, status="running", started_at=NOW - timedelta(minutes=11))
        fresh = add_run(session, status="running", started_at=NOW - timedelta(minutes=1))

    result = reap_runs(database, timeout=TEN_MINUTES, now=NOW)

    assert result.running == 1
    assert _status(database, stale.run_id) == "failed"
    assert _status(database, fresh.run_id) == "running"


def test_pending_run_uses_own_timeout(database: Database) -> None:
    with database.transaction() as session:
        forgotten = add_run(session, status="pending", started_at=None,
                            created_at=NOW - timedelta(minutes=61))
        queued = add_run(session, status="pending", started_at=None,
                         created_at=NOW - timedelta(minutes=30))

    result = reap_runs(database, timeout=TEN_MINUTES, pending_timeout=ONE_HOUR, now=NOW)

    assert result.pending == 1
    assert result.running == 0
    assert _status(database, forgotten.run_id) == "failed"
    assert _status(database, queued.run_id) == "pending"


def test_finished_runs_are_not_reaped(database: Database) -> None:
    with database.transaction() as session:
        done = add_run(session, status="completed", started_at=NOW - timedelta(days=3))

    result = reap_runs(database, timeout=TEN_MINUTES, now=NOW)

    assert result.total == 0
    assert _status(database, done.run_id) == "completed"


def test_reap_dry_run_changes_nothing(database: Database) -> None:
    with database.transaction() as session:
        run = add_run(session, status="running", started_at=NOW - ONE_HOUR)

    result = reap_runs(database, timeout=TEN_MINUTES, dry_run=True, now=NOW)

    assert result.running == 1
    assert result.dry_run is True
    assert _status(database, run.run_id) == "running"


def test_zero_timeout_is_rejected(database: Database) -> None:
    with pytest.raises(ConfigurationError):
        reap_runs(database, timeout=timedelta(seconds=-1))


_WORKER = textwrap.dedent("""
    import sys, time
    from taskrun_center.lifecycle.write_service import ItemSpec, TaskRunsWriteService
    from taskrun_center.storage.engine import Database

    database = Database(sys.argv[1])
    with database.transaction() as session:
        service = TaskRunsWriteService(session)
        run = service.start_run(task_key="killed_worker", task_name="Killed worker")
        service.init_items(run.run_id, [ItemSpec("step", "one"), ItemSpec("step", "two")])
        service.start_item(run.run_id, "step", "one")
    with database.transaction() as session:
        TaskRunsWriteService(session).heartbeat(run.run_id)
    print("RUN_ID=" + run.run_id, flush=True)
    time.sleep(600)
""")


def test_reaper_ends_run_of_killed_worker(database: Database, database_url: str) -> None:
    worker = subprocess.Popen([sys.executable, "-c", _WORKER, database_url],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout is not None
        # Unconfigured structlog also prints to stdout, so look for the marked line.
        lines = (line.strip() for line in worker.stdout)
        run_id = next(line for line in lines if line.startswith("RUN_ID=")).removeprefix("RUN_ID=")
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)

    # Reaping "eleven minutes later" proves the rule without waiting for the timeout.
    result = reap_runs(database, timeout=TEN_MINUTES, now=utcnow() + timedelta(minutes=11))

    assert worker.returncode == -signal.SIGKILL
    assert result.run_ids == [run_id]
    assert _status(database, run_id) == "failed"
    assert _item_statuses(database, run_id) == ["failed", "failed"]
