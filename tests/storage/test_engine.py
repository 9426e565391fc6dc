"""Engine settings, the unit of work, and database faults turned into StorageError."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import delete, func, insert, select, text

from taskrun_center.errors import StorageError
from taskrun_center.storage.engine import Database
from taskrun_center.storage.errors import ConnectionLostError, DatabaseLockedError
from taskrun_center.storage.models import TaskRun, TaskRunItem
from tests.factories import item_row, run_row
from tests.support.servers import PostgresServer


def count_runs(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(TaskRun)) or 0)


def test_sqlite_connection_settings(sqlite_url: str) -> None:
    db = Database(sqlite_url, busy_timeout_ms=1234)
    with db.session() as session:
        journal_mode = session.execute(text("PRAGMA journal_mode")).scalar()
        foreign_keys = session.execute(text("PRAGMA foreign_keys")).scalar()
        busy_timeout = session.execute(text("PRAGMA busy_timeout")).scalar()
    db.dispose()

    assert journal_mode == "wal"
    assert foreign_keys == 1
    assert busy_timeout == 1234


def test_default_url_comes_from_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from taskrun_center.config import get_settings

    url = f"sqlite:///{tmp_path / 'from-env.db'}"
    monkeypatch.setenv("TASKRUN_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        db = Database()
    finally:
        get_settings.cache_clear()

    assert db.url == url
    assert db.is_sqlite is True


def test_transaction_commits_on_success(db: Database) -> None:
    with db.transaction() as session:
        session.execute(insert(TaskRun), [run_row()])

    assert count_runs(db) == 1


def test_transaction_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction() as session:
        session.execute(insert(TaskRun), [run_row()])
        raise RuntimeError("stop here")

    assert count_runs(db) == 0


def test_constraint_violation_becomes_storage_error(db: Database) -> None:
    with pytest.raises(StorageError) as raised, db.transaction() as session:
        session.execute(insert(TaskRun), [run_row(status="finished")])

    assert raised.value.__cause__ is not None
    assert "finished" not in str(raised.value)
    assert count_runs(db) == 0


def test_failed_statement_hides_its_parameters(db: Database) -> None:
    with pytest.raises(StorageError) as raised, db.transaction() as session:
        session.execute(insert(TaskRun), [run_row(status="finished", task_name="hash-abc123")])

    # PostgreSQL's own DETAIL line may still quote the failing row. The bound parameters,
    # which SQLAlchemy would add to the message, are left out on both databases.
    cause = raised.value.__cause__
    assert cause is not None
    assert "SQL parameters hidden" in str(cause)
    assert "hash-abc123" not in str(raised.value)


def test_deleting_run_deletes_its_items(db: Database) -> None:
    row = run_row()
    with db.transaction() as session:
        session.execute(insert(TaskRun), [row])
        items = [item_row(row["run_id"], "a"), item_row(row["run_id"], "b")]
        session.execute(insert(TaskRunItem), items)

    with db.transaction() as session:
        session.execute(delete(TaskRun).where(TaskRun.run_id == row["run_id"]))

    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(TaskRunItem)) == 0


def test_item_of_unknown_run_rejected(db: Database) -> None:
    with pytest.raises(StorageError), db.transaction() as session:
        session.execute(insert(TaskRunItem), [item_row("no-such-run", "a")])


def _sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


def _lock_holder(url: str) -> sqlite3.Connection:
    return sqlite3.connect(_sqlite_path(url), isolation_level=None, check_same_thread=False)


def terminate_backend(server: PostgresServer, backend_pid: int) -> None:
    admin_url = server.admin_url.replace("+psycopg", "")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (backend_pid,))


def test_sqlite_locked_beyond_timeout_raises(sqlite_url: str) -> None:
    holder = sqlite3.connect(_sqlite_path(sqlite_url), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    db = Database(sqlite_url, busy_timeout_ms=100)
    try:
        with pytest.raises(DatabaseLockedError) as raised:  # noqa: SIM117 - separate for clarity
            with db.transaction("insert a run") as session:
                session.execute(insert(TaskRun), [run_row()])
    finally:
        holder.rollback()
        holder.close()

    assert raised.value.busy_timeout_ms == 100
    assert "insert a run" in str(raised.value)
    assert raised.value.__cause__ is not None
    assert count_runs(db) == 0
    db.dispose()


def test_sqlite_lock_released_within_timeout_waits(sqlite_url: str) -> None:
    holder = _lock_holder(sqlite_url)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO users (username, password_hash, role, is_active, created_at, "
                   "updated_at) VALUES ('held', 'x', 'viewer', 1, '2026-01-01', '2026-01-01')")
    release = threading.Timer(0.2, holder.commit)
    release.start()
    db = Database(sqlite_url, busy_timeout_ms=10_000)
    try:
        with db.transaction() as session:
            session.execute(insert(TaskRun), [run_row()])
    finally:
        release.join()
        holder.close()

    assert count_runs(db) == 1
    db.dispose()


def test_sqlite_read_then_write_waits_for_writer(sqlite_url: str) -> None:
    """A write transaction that reads first still waits for the lock instead of failing."""
    db = Database(sqlite_url, busy_timeout_ms=10_000)
    holder = _lock_holder(sqlite_url)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.2, holder.commit)
    release.start()
    try:
        with db.transaction() as session:
            session.execute(select(func.count()).select_from(TaskRun)).scalar()
            session.execute(insert(TaskRun), [run_row()])
    finally:
        release.join()
        holder.close()

    assert count_runs(db) == 1
    db.dispose()


@pytest.mark.postgres
def test_postgres_lost_connection_then_reconnects(
    postgres_url: str, postgres_server: PostgresServer
) -> None:
    db = Database(postgres_url)

    with pytest.raises(ConnectionLostError) as raised, db.transaction("insert a run") as session:
        session.execute(insert(TaskRun), [run_row()])
        backend_pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        terminate_backend(postgres_server, backend_pid)
        session.execute(insert(TaskRun), [run_row()])

    assert isinstance(raised.value, StorageError)
    assert raised.value.__cause__ is not None
    with db.transaction() as session:
        session.execute(insert(TaskRun), [run_row()])
    assert count_runs(db) == 1
    db.dispose()


@pytest.mark.postgres
def test_postgres_connection_dropped_while_idle_is_replaced(
    postgres_url: str, postgres_server: PostgresServer
) -> None:
    db = Database(postgres_url)
    with db.session() as session:
        backend_pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    terminate_backend(postgres_server, backend_pid)

    with db.transaction() as session:
        session.execute(insert(TaskRun), [run_row()])

    assert count_runs(db) == 1
    db.dispose()
