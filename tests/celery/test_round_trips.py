"""Database round trips and log lines of one recorded run, as a Celery worker executes it.

The run goes through ``execute_run`` in the test process, on PostgreSQL, with SQLAlchemy's
engine and pool events counting what the worker sends: SQL statements, transactions, pool
checkouts and pings. The bounds guard the per-run cost of recording against regressions
without timing anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import structlog
from celery import Celery
from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection

from taskrun_center.runners import RunContext, item_writer, task
from taskrun_center.runners.celery.execution import execute_run
from taskrun_center.runners.dispatch import enqueue_run
from taskrun_center.runners.recording import default_database
from taskrun_center.states import RunStatus
from tests.celery.conftest import CapturingDispatcher
from tests.celery.rows import load_items, load_run

STEPS = 5
# Upper bounds for one run of STEPS items on PostgreSQL. The worker sends two transactions.
# The claim is one UPDATE that returns the run. The end stores the items and ends the run: it
# reads the run's state, inserts the items already completed, moves both counters in one
# UPDATE, and then one UPDATE recounts the items and writes the summary. Each transaction
# adds a pool checkout with its ping, BEGIN and COMMIT.
MAX_STATEMENTS = 4
MAX_TRANSACTIONS = 1
MAX_CHECKOUTS = 2
MAX_ROUND_TRIPS = 8


@task(key="celery_five_steps", name_zh="五步示例", name_en="Five steps sample",
      category="sample")
def celery_five_steps(ctx: RunContext) -> None:
    """Record ``STEPS`` items that do no work, as the short tasks of the benchmark do."""
    for index in range(STEPS):
        with ctx.item("step", str(index)):
            pass


@dataclass
class Traffic:
    """What one engine sent to the database while it was watched."""

    statements: list[str] = field(default_factory=list)
    transactions: int = 0
    checkouts: int = 0
    pings: int = 0

    @property
    def round_trips(self) -> int:
        # BEGIN and COMMIT are one round trip each with psycopg, as is every statement
        # (executemany runs in one pipeline) and every ping.
        return len(self.statements) + 2 * self.transactions + self.pings


@contextmanager
def _watch(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Traffic]:
    traffic = Traffic()

    def on_statement(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        traffic.statements.append(" ".join(statement.split()[:3]))

    def on_begin(connection: Connection) -> None:
        # SQLAlchemy begins a transaction on an autocommit connection too, but the driver
        # sends no BEGIN and no COMMIT for it.
        if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            traffic.transactions += 1

    def on_checkout(*_: Any) -> None:
        traffic.checkouts += 1

    original_ping = engine.dialect.do_ping

    def counting_ping(dbapi_connection: Any) -> bool:
        traffic.pings += 1
        return bool(original_ping(dbapi_connection))

    listeners = [
        (engine, "before_cursor_execute", on_statement),
        (engine, "begin", on_begin),
        (engine.pool, "checkout", on_checkout),
    ]
    for target, name, listener in listeners:
        event.listen(target, name, listener)
    monkeypatch.setattr(engine.dialect, "do_ping", counting_ping)
    try:
        yield traffic
    finally:
        for target, name, listener in listeners:
            event.remove(target, name, listener)
        monkeypatch.setattr(engine.dialect, "do_ping", original_ping)


def test_recorded_run_round_trips_within_bound(
    worker_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One run of five items costs the worker a fixed, small number of round trips."""
    # The writer then sends all items in one batch when the run ends, however slow the
    # machine; ending the run cuts the wait short.
    monkeypatch.setattr(item_writer, "LINGER_SECONDS", 60.0)
    database = default_database()
    dispatcher = CapturingDispatcher()
    enqueue_run("celery_five_steps", database=database, dispatcher=dispatcher)
    # A first run warms the pool, so the measured run pays no connect.
    execute_run(Celery(), dispatcher.messages[0])
    enqueue_run("celery_five_steps", database=database, dispatcher=dispatcher)

    with _watch(database.engine, monkeypatch) as traffic, structlog.testing.capture_logs() as logs:
        result = execute_run(Celery(), dispatcher.messages[1])

    run_id = dispatcher.messages[1].run_id
    assert result == {"run_id": run_id, "status": RunStatus.COMPLETED.value}
    run = load_run(database, run_id)
    assert run.progress_completed == STEPS
    assert run.progress_total == STEPS
    assert run.duration_ms is not None
    assert run.summary_json["ext"]["type"] == "celery_five_steps"
    items = load_items(database, run_id)
    assert sorted(item.status for item in items) == ["completed"] * STEPS
    assert all(item.started_at is not None for item in items)
    assert all(item.completed_at is not None for item in items)

    info_lines = [entry["event"] for entry in logs if entry["log_level"] != "debug"]
    assert len(traffic.statements) <= MAX_STATEMENTS, traffic.statements
    assert traffic.transactions <= MAX_TRANSACTIONS
    assert traffic.checkouts <= MAX_CHECKOUTS
    assert traffic.pings == traffic.checkouts
    assert traffic.round_trips <= MAX_ROUND_TRIPS
    # The run's start and end lines; the other lines of a run are debug lines.
    assert info_lines == ["task_started", "task_finished"]
