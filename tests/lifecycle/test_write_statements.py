"""Statements per operation: constant whatever the number of items in the run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from taskrun_center.lifecycle.write_service import ItemSpec, TaskRunsWriteService
from taskrun_center.storage.engine import Database
from tests.factories import make_run

SMALL = 10
LARGE = 3000


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@contextmanager
def counted_statements(db: Database) -> Iterator[list[str]]:
    """Collect the SQL of every statement sent to the database, minus transaction control.

    SQLAlchemy's events see what it executes, an executemany as one statement. On SQLite the
    item operations also run statements on the driver, past those events, so the driver's trace
    reports the statements that arrive while SQLAlchemy executes none.
    """
    statements: list[str] = []
    executing: list[bool] = []

    def record(sql: str) -> None:
        if not sql.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT",
                                                "RELEASE")):
            statements.append(sql)

    def before(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        record(sql)
        executing.append(True)

    def after(*_args: Any) -> None:
        executing.pop()

    traced: list[Any] = []

    def trace(driver: Any, _record: Any, _proxy: Any) -> None:
        driver.set_trace_callback(lambda sql: None if executing else record(sql))
        traced.append(driver)

    hooks = [(db.engine, "before_cursor_execute", before),
             (db.engine, "after_cursor_execute", after)]
    if db.is_sqlite:
        hooks.append((db.engine.pool, "checkout", trace))
    for target, name, hook in hooks:
        event.listen(target, name, hook)
    try:
        yield statements
    finally:
        for target, name, hook in hooks:
            event.remove(target, name, hook)
        for driver in traced:
            driver.set_trace_callback(None)


def run_with_items(db: Database, count: int) -> str:
    run_id = make_run(db).run_id
    with db.transaction() as session:
        specs = [ItemSpec("step", str(index)) for index in range(count)]
        TaskRunsWriteService(session).init_items(run_id, specs)
    return run_id


def statements_for(db: Database, count: int, operation: Callable[..., Any]) -> int:
    run_id = run_with_items(db, count)
    with counted_statements(db) as statements, db.transaction() as session:
        operation(TaskRunsWriteService(session), run_id)
    return len(statements)


OPERATIONS: dict[str, Callable[[TaskRunsWriteService, str], Any]] = {
    "start_item": lambda service, run_id: service.start_item(run_id, "step", "1"),
    "complete_item": lambda service, run_id: service.complete_item(
        run_id, "step", "1", metrics={"rows": 1}, details={"ok": True}
    ),
    "fail_item": lambda service, run_id: service.fail_item(
        run_id, "step", "1", error_message="boom"
    ),
    "cancel_item": lambda service, run_id: service.cancel_item(run_id, "step", "1"),
    "finalize_run": lambda service, run_id: service.finalize_run(run_id),
    "cancel_run": lambda service, run_id: service.cancel_run(run_id),
    "mark_run_failed": lambda service, run_id: service.mark_run_failed(run_id, "lost"),
    "heartbeat": lambda service, run_id: service.heartbeat(run_id),
}


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_statement_count_independent_of_items(db: Database, name: str) -> None:
    operation = OPERATIONS[name]

    small = statements_for(db, SMALL, operation)
    large = statements_for(db, LARGE, operation)

    assert small == large


@pytest.mark.parametrize("name", ["start_item", "complete_item", "fail_item", "cancel_item"])
def test_item_operation_costs_at_most_two_statements(db: Database, name: str) -> None:
    assert 1 <= statements_for(db, SMALL, OPERATIONS[name]) <= 2


def test_init_items_inserts_in_batches(db: Database) -> None:
    run_id = make_run(db).run_id
    specs = [ItemSpec("step", str(index)) for index in range(LARGE)]

    with counted_statements(db) as statements, db.transaction() as session:
        TaskRunsWriteService(session).init_items(run_id, specs)

    inserts = [sql for sql in statements if sql.lstrip().upper().startswith("INSERT")]
    assert 1 <= len(inserts) <= LARGE // 100
