"""The shared heartbeat thread beats for runs started after earlier runs ended."""

from __future__ import annotations

import time

from sqlalchemy import select

from taskrun_center.lifecycle.write_service import TaskRunsWriteService
from taskrun_center.runners.heartbeat import Heartbeat
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun
from tests.factories import load_run


def _start_run(database: Database) -> str:
    with database.transaction() as session:
        return TaskRunsWriteService(session).start_run(task_key="heartbeat_monitor").run_id


def _wait_for_heartbeat(database: Database, run_id: str, timeout_seconds: float) -> bool:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if load_run(database, run_id).heartbeat_at is not None:
            return True
        time.sleep(0.02)
    return False


def test_run_after_ended_runs_gets_heartbeat(sqlite_database: Database) -> None:
    # Short runs that end before their first beat leave the thread asleep until a stale time.
    for _ in range(3):
        ended = Heartbeat(sqlite_database, _start_run(sqlite_database), "t", 0.2).start()
        ended.stop()
    run_id = _start_run(sqlite_database)
    heartbeat = Heartbeat(sqlite_database, run_id, "t", 0.2).start()
    try:
        assert _wait_for_heartbeat(sqlite_database, run_id, timeout_seconds=10)
    finally:
        heartbeat.stop()


def test_shorter_interval_beats_before_longer_one(sqlite_database: Database) -> None:
    slow_run = _start_run(sqlite_database)
    slow = Heartbeat(sqlite_database, slow_run, "t", 3600).start()
    fast_run = _start_run(sqlite_database)
    fast = Heartbeat(sqlite_database, fast_run, "t", 0.2).start()
    try:
        assert _wait_for_heartbeat(sqlite_database, fast_run, timeout_seconds=10)
        assert load_run(sqlite_database, slow_run).heartbeat_at is None
    finally:
        slow.stop()
        fast.stop()


def test_locked_run_does_not_hold_other_heartbeats(postgres_url: str) -> None:
    """A row locked by another session (SELECT … FOR UPDATE) delays only its own run's beat."""
    database = Database(postgres_url)
    locked_run, free_run = _start_run(database), _start_run(database)
    holder = database.engine.connect()
    transaction = holder.begin()
    holder.execute(select(TaskRun.id).where(TaskRun.run_id == locked_run).with_for_update())
    locked = Heartbeat(database, locked_run, "t", 0.2).start()
    free = Heartbeat(database, free_run, "t", 0.2).start()
    try:
        # Without a lock timeout the shared thread waited for the locked row for good.
        assert _wait_for_heartbeat(database, free_run, timeout_seconds=30)
    finally:
        locked.stop()
        free.stop()
        transaction.rollback()
        holder.close()
        database.dispose()
