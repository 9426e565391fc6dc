"""The reaper on SQLite rows edited by hand: a timestamp that is no stored time counts as missing.

SQLite compares timestamp columns as text, and text such as ``'yesterday'`` sorts after every
stored time. The rows are written through the ORM and then edited with Python's sqlite3 module.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from taskrun_center.maintenance.reaper import reap_runs
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun
from tests.maintenance.hand_edits import edit_sqlite
from tests.maintenance.rows import NOW, add_items, add_run

TEN_MINUTES = timedelta(minutes=10)
FIVE_DAYS = timedelta(days=5)


@pytest.fixture
def sqlite_db(sqlite_url: str) -> Iterator[Database]:
    database = Database(sqlite_url)
    yield database
    database.dispose()


def _run(database: Database, run_id: str) -> TaskRun:
    with database.session() as session:
        run = session.scalars(select(TaskRun).where(TaskRun.run_id == run_id)).one()
        session.expunge(run)
        return run


@pytest.mark.parametrize("heartbeat", [
    "yesterday",
    "now",
    "2026-05-31 24:00:00.000000",
    "2026-02-30 00:00:00.000000",
])
def test_unreadable_heartbeat_falls_back_to_start(sqlite_db: Database, sqlite_url: str,
                                                  heartbeat: str) -> None:
    started = NOW - FIVE_DAYS
    with sqlite_db.transaction() as session:
        run_id = add_run(session, status="running", started_at=started).run_id
    edit_sqlite(sqlite_url, "UPDATE task_runs SET heartbeat_at = :value WHERE run_id = :run_id",
                {"value": heartbeat, "run_id": run_id})

    dry = reap_runs(sqlite_db, timeout=TEN_MINUTES, now=NOW, dry_run=True)
    result = reap_runs(sqlite_db, timeout=TEN_MINUTES, now=NOW)

    reaped = _run(sqlite_db, run_id)
    assert dry.run_ids == [run_id]
    assert result.run_ids == [run_id]
    assert reaped.status == "failed"
    assert reaped.completed_at == started


def test_unreadable_start_falls_back_to_creation(sqlite_db: Database, sqlite_url: str) -> None:
    created = NOW - FIVE_DAYS
    with sqlite_db.transaction() as session:
        run_id = add_run(session, status="running", started_at=NOW - timedelta(minutes=1),
                         created_at=created).run_id
    edit_sqlite(sqlite_url, "UPDATE task_runs SET started_at = 'soon' WHERE run_id = :run_id",
                {"run_id": run_id})

    result = reap_runs(sqlite_db, timeout=TEN_MINUTES, now=NOW)

    assert result.run_ids == [run_id]
    assert _run(sqlite_db, run_id).completed_at == created


def test_unreadable_item_update_hides_no_activity(sqlite_db: Database,
                                                  sqlite_url: str) -> None:
    """Text in one item's ``updated_at`` would be the text maximum and hide the other items."""
    with sqlite_db.transaction() as session:
        run = add_run(session, status="running", started_at=NOW - FIVE_DAYS)
        recent, edited = add_items(session, run, ["running", "running"])
        recent.updated_at = NOW - timedelta(minutes=1)
        edited.updated_at = NOW - FIVE_DAYS
    edit_sqlite(sqlite_url, "UPDATE task_run_items SET updated_at = 'zzz' WHERE id = :id",
                {"id": edited.id})

    result = reap_runs(sqlite_db, timeout=TEN_MINUTES, now=NOW)

    assert result.total == 0
    assert _run(sqlite_db, run.run_id).status == "running"


def test_stored_heartbeat_keeps_microseconds(sqlite_db: Database) -> None:
    heartbeat = datetime(2026, 6, 1, 11, 30, 15, 123456, tzinfo=UTC)
    with sqlite_db.transaction() as session:
        run_id = add_run(session, status="running", started_at=NOW - FIVE_DAYS,
                         heartbeat_at=heartbeat).run_id

    result = reap_runs(sqlite_db, timeout=TEN_MINUTES, now=NOW)

    reaped = _run(sqlite_db, run_id)
    assert result.run_ids == [run_id]
    assert reaped.completed_at == heartbeat
    assert reaped.duration_ms == int((heartbeat - (NOW - FIVE_DAYS)).total_seconds() * 1000)
