"""Statements sent to the SQLite driver directly fail the way SQLAlchemy's execution fails."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import bindparam, case, func, literal, select

from taskrun_center.errors import StorageError
from taskrun_center.lifecycle.read_service import TaskRunsReadService
from taskrun_center.storage.driver import compiled_for
from taskrun_center.storage.engine import Database
from taskrun_center.storage.errors import DatabaseFileInvalidError, translate_errors
from taskrun_center.storage.models import TaskRun
from tests.maintenance.rows import NOW, add_run


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Database]:
    database = Database(sqlite_url)
    yield database
    database.dispose()


def _add_runs(db: Database, count: int) -> list[int]:
    with db.transaction() as session:
        runs = [add_run(session) for _ in range(count)]
        session.flush()
        return [run.id for run in runs]


def test_rows_convert_like_sqlalchemy(db: Database) -> None:
    _add_runs(db, 3)
    statement = select(TaskRun.id, TaskRun.started_at, TaskRun.summary_json,
                       TaskRun.is_skipped).order_by(TaskRun.id)

    with db.session() as session:
        connection = session.connection()
        direct = compiled_for(statement, connection.dialect).fetch_all(connection, {})
        expected = connection.execute(statement).all()

    assert compiled_for(statement, db.engine.dialect).direct
    assert [tuple(row) for row in direct] == [tuple(row) for row in expected]
    assert direct[0][1].tzinfo is not None
    assert direct[0][3] is False


def test_error_on_a_later_row_is_wrapped(db: Database) -> None:
    """SQLite reads the rows after the first while they are fetched; that error is wrapped."""
    ids = _add_runs(db, 3)
    # json() fails on the last row only, so the error comes from fetching, not executing.
    text = case((TaskRun.id == bindparam("bad_id"), literal("{")), else_=literal("{}"))
    statement = select(TaskRun.id, func.json(text)).order_by(TaskRun.id)

    with pytest.raises(StorageError) as raised, translate_errors("reading runs"), \
            db.session() as session:
        connection = session.connection()
        compiled_for(statement, connection.dialect).fetch_all(connection, {"bad_id": ids[-1]})

    assert isinstance(raised.value.__cause__.__cause__, sqlite3.OperationalError)  # type: ignore[union-attr]


def _damage_newest_run(path: Path, db: Database) -> None:
    """Overwrite the page type of the table page that contains the newest run."""
    _add_runs(db, 5)
    db.dispose()
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = connection.execute("PRAGMA page_count").fetchone()[0]
    page_size = connection.execute("PRAGMA page_size").fetchone()[0]
    connection.close()

    # A summary of most of a page puts the newest run alone on a new table page at the end.
    with db.transaction() as session:
        add_run(session, started_at=NOW.replace(year=NOW.year + 1),
                summary_json={"version": 1, "common": {}, "ext": {"note": "x" * 3000}})
    db.dispose()
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    after = connection.execute("PRAGMA page_count").fetchone()[0]
    connection.close()
    assert after > before

    with path.open("r+b") as handle:
        for page in range(before + 1, after + 1):
            handle.seek((page - 1) * page_size)
            handle.write(b"\xff")


def test_damaged_page_names_the_file(sqlite_url: str, db: Database) -> None:
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    _damage_newest_run(path, db)

    with pytest.raises(DatabaseFileInvalidError) as raised, translate_errors("reading runs"), \
            db.session() as session:
        TaskRunsReadService(session, cursor_secret="test-secret").list_runs(limit=20)

    assert str(path) in raised.value.render("en")
