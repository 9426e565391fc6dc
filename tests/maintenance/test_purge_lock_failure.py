"""A purge batch that fails on a lock reports the time it waited, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from taskrun_center.maintenance.purge import PurgeError, purge_runs
from taskrun_center.storage.engine import Database
from tests.maintenance.bulk_rows import add_runs, count_rows, run_ids_in_order

LOCK_WAIT_SECONDS = 0.3


@contextmanager
def _locked_database(database_url: str) -> Iterator[Database]:
    """Yield a Database whose writes wait at most ``LOCK_WAIT_SECONDS`` for a lock held here.

    SQLite: another connection holds the write lock. PostgreSQL: another connection locks the
    first run, and the purge's connections give up after ``lock_timeout``.
    """
    if make_url(database_url).get_backend_name() == "sqlite":
        writer = sqlite3.connect(make_url(database_url).database or "", isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        database = Database(database_url, busy_timeout_ms=int(LOCK_WAIT_SECONDS * 1000))
        try:
            yield database
        finally:
            database.dispose()
            writer.rollback()
            writer.close()
        return

    first_run = run_ids_in_order(database_url)[0]
    locking = Database(database_url)
    timeout_ms = int(LOCK_WAIT_SECONDS * 1000)
    database = Database(f"{database_url}?options=-c%20lock_timeout%3D{timeout_ms}")
    try:
        with locking.engine.connect() as holder:
            holder.execute(text("SELECT id FROM task_runs WHERE run_id = :run_id FOR UPDATE"),
                           {"run_id": first_run})
            yield database
            holder.rollback()
    finally:
        database.dispose()
        locking.dispose()


def test_failed_batch_reports_time_waited(database_url: str) -> None:
    add_runs(database_url, 5)

    with _locked_database(database_url) as database, pytest.raises(PurgeError) as raised:
        purge_runs(database, older_than=timedelta(days=30), keep_last=0)

    result = raised.value.result
    assert raised.value.batch == 1
    assert result.runs == 0
    assert result.duration_seconds >= LOCK_WAIT_SECONDS
    assert result.to_dict()["duration_seconds"] >= LOCK_WAIT_SECONDS
    assert count_rows(database_url) == (5, 5)
