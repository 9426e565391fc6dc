"""Reads on a Core connection: the same rows as a session, one snapshot, nothing kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from taskrun_center.lifecycle.read_service import TaskRunsReadService
from taskrun_center.lifecycle.serialize import item_to_dict, run_to_dict
from taskrun_center.states import ItemStatus, RunStatus
from taskrun_center.storage.engine import Database
from taskrun_center.storage.errors import SchemaMissingError
from taskrun_center.storage.models import TaskRun
from taskrun_center.storage.rows import RUN_ROW_COLUMNS
from tests.factories import make_run


def test_list_and_detail_match_a_session(db: Database) -> None:
    runs = [make_run(db, status=RunStatus.FAILED, items={ItemStatus.COMPLETED: 2,
                                                         ItemStatus.FAILED: 1})
            for _ in range(3)]
    run_id = runs[1].run_id

    with db.read_connection() as connection:
        reader = TaskRunsReadService(connection)
        page = reader.list_runs(limit=2)
        following = reader.list_runs(limit=2, cursor=page.next_cursor)
        run = reader.get_run(run_id)
        items = reader.list_items(run_id)
        logs = reader.error_logs(run_id)
    with db.session() as session:
        expected = TaskRunsReadService(session).list_runs(limit=2)
        expected_run = TaskRunsReadService(session).get_run(run_id)
        expected_items = TaskRunsReadService(session).list_items(run_id)

    assert [run_to_dict(row) for row in page.items] == \
        [run_to_dict(row) for row in expected.items]
    assert len(following.items) == 1
    assert {row.run_id for row in page.items + following.items} == {run.run_id for run in runs}
    assert run_to_dict(run) == run_to_dict(expected_run)
    assert [item_to_dict(item) for item in items.items] == \
        [item_to_dict(item) for item in expected_items.items]
    assert logs.error_count == 1


def test_read_connection_keeps_no_writes(db: Database) -> None:
    run_id = make_run(db, status=RunStatus.COMPLETED).run_id

    with db.read_connection() as connection:
        connection.execute(update(TaskRun).values(task_name="changed"))
        seen = connection.scalar(select(TaskRun.task_name).where(TaskRun.run_id == run_id))

    with db.session() as session:
        stored = session.scalar(select(TaskRun.task_name).where(TaskRun.run_id == run_id))
    assert seen == "changed"
    assert stored != "changed"


def test_sqlite_reads_see_one_snapshot(sqlite_url: str) -> None:
    """A run committed by another writer between two reads is not in the second one.

    PostgreSQL reads at READ COMMITTED, on a read connection as in a session, so each of its
    statements reads what was committed before it started.
    """
    db = Database(sqlite_url)
    make_run(db, status=RunStatus.COMPLETED)

    with db.read_connection() as connection:
        before = connection.scalar(select(func.count()).select_from(TaskRun))
        make_run(db, status=RunStatus.COMPLETED)
        after = TaskRunsReadService(connection).count_runs()

    with db.read_connection() as connection:
        later = connection.scalar(select(func.count()).select_from(TaskRun))
    db.dispose()

    assert before == after == 1
    assert later == 2


def test_missing_schema_is_a_storage_error(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with pytest.raises(SchemaMissingError) as raised, \
                database.read_connection("reading runs") as connection:
            TaskRunsReadService(connection).list_runs()
    finally:
        database.dispose()

    assert "reading runs" in str(raised.value)


def test_json_selected_as_bytes_on_sqlite() -> None:
    statement = select(*RUN_ROW_COLUMNS)

    on_sqlite = str(statement.compile(dialect=sqlite.dialect()))
    on_postgresql = str(statement.compile(dialect=postgresql.dialect()))

    assert "CAST(task_runs.summary_json AS BLOB)" in on_sqlite
    assert "CAST" not in on_postgresql
    assert "task_runs.summary_json" in on_postgresql


def test_json_filter_is_not_cast(db: Database) -> None:
    """Only the selected value is read as bytes; conditions compare the stored JSON."""
    make_run(db, status=RunStatus.COMPLETED, summary_json=None)
    condition = (text("json_extract(task_runs.summary_json, '$.version') = 1")
                 if db.is_sqlite else TaskRun.summary_json["version"].as_integer() == 1)

    with db.read_connection() as connection:
        found = connection.scalar(select(func.count()).select_from(TaskRun).where(condition))

    assert found == 1
