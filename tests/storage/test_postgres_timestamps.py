"""PostgreSQL timestamps that Python's ``datetime`` cannot hold read as None, never as an error.

timestamptz accepts 'infinity', '-infinity' and years from 4713 BC to 294276 AD, which psycopg's
own loader rejects, failing the whole query. The rows are changed with plain SQL, as an operator
editing the database by hand would.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import structlog.testing
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from taskrun_center.lifecycle.read_service import TaskRunsReadService
from taskrun_center.log_throttle import LogThrottle
from taskrun_center.maintenance.audit import audit_runs
from taskrun_center.states import ItemStatus, RunStatus
from taskrun_center.storage import types
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRunItem
from tests.factories import make_run
from tests.runners.processes import run_taskrun, taskrun_env
from tests.support.api_clients import viewer_client

pytestmark = pytest.mark.postgres

RUN_COLUMNS = ("started_at", "completed_at", "heartbeat_at", "created_at", "updated_at")
ITEM_COLUMNS = ("started_at", "completed_at", "created_at", "updated_at")
INVALID = "row.timestamp_invalid"


@pytest.fixture
def pg_db(postgres_url: str) -> Iterator[Database]:
    database = Database(postgres_url)
    yield database
    database.dispose()


@pytest.fixture
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget the warnings that earlier tests of this process logged."""
    monkeypatch.setattr(types, "_unreadable_warnings", LogThrottle(interval_seconds=60))


def _set(db: Database, table: str, run_id: str, assignments: str) -> None:
    with db.engine.begin() as connection:
        changed = connection.execute(
            text(f"UPDATE {table} SET {assignments} WHERE run_id = :run_id"), {"run_id": run_id}
        ).rowcount
    assert changed > 0, f"the edit changed no row of {table}"


def _infinite_run(db: Database) -> str:
    """Record a failed run with one failed item, then set every timestamp to an infinity."""
    run_id = make_run(db, status=RunStatus.FAILED, items={ItemStatus.FAILED: 1}).run_id
    _set(db, "task_runs", run_id,
         "started_at = '-infinity', completed_at = 'infinity', heartbeat_at = 'infinity', "
         "created_at = '-infinity', updated_at = 'infinity'")
    _set(db, "task_run_items", run_id,
         "started_at = '-infinity', completed_at = 'infinity', created_at = 'infinity', "
         "updated_at = '-infinity'")
    return run_id


def test_infinity_reads_as_none(pg_db: Database) -> None:
    broken = _infinite_run(pg_db)
    healthy = make_run(pg_db, status=RunStatus.COMPLETED).run_id

    with pg_db.session() as session:
        service = TaskRunsReadService(session)
        listed = {run.run_id: run for run in service.list_runs().items}
        detail = service.get_run(broken)
        items = service.list_items(broken).items

    for column in RUN_COLUMNS:
        assert getattr(listed[broken], column) is None, column
        assert getattr(detail, column) is None, column
    for column in ITEM_COLUMNS:
        assert getattr(items[0], column) is None, column
    healthy_start = listed[healthy].started_at
    assert healthy_start is not None
    assert healthy_start.tzinfo is UTC


@pytest.mark.parametrize("stored", [
    "10000-01-01 00:00:00+00",
    "0044-03-15 12:00:00+00 BC",
    "9999-12-31 23:00:00-05",
])
def test_years_beyond_datetime_read_as_none(pg_db: Database, stored: str) -> None:
    run_id = make_run(pg_db, status=RunStatus.COMPLETED).run_id
    _set(pg_db, "task_runs", run_id, f"completed_at = '{stored}'")

    with pg_db.session() as session:
        run = TaskRunsReadService(session).get_run(run_id)

    assert run.completed_at is None
    assert run.started_at is not None


def test_times_read_in_utc_whatever_session_zone(pg_db: Database) -> None:
    expected = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
    run_id = make_run(pg_db, status=RunStatus.COMPLETED, started_at=expected).run_id

    for zone in ("UTC", "Asia/Kathmandu", "America/St_Johns"):
        with pg_db.session() as session:
            session.execute(text(f"SET TimeZone = '{zone}'"))
            started_at = TaskRunsReadService(session).get_run(run_id).started_at
            session.rollback()

        assert started_at == expected, zone
        assert started_at is not None
        assert started_at.tzinfo is UTC, zone


def test_infinity_warning_is_throttled(pg_db: Database, fresh_warnings: None) -> None:
    run_id = _infinite_run(pg_db)

    with structlog.testing.capture_logs() as logs, pg_db.session() as session:
        for _ in range(3):
            TaskRunsReadService(session).list_runs()
            session.scalars(select(TaskRunItem).where(TaskRunItem.run_id == run_id)).all()

    warnings = [line for line in logs if line["event"] == "stored_timestamp_invalid"]
    assert len(warnings) == 1
    assert warnings[0]["log_level"] == "warning"
    assert warnings[0]["held_back"] == 0


def test_audit_names_infinite_timestamps(pg_db: Database) -> None:
    broken = _infinite_run(pg_db)
    far = make_run(pg_db, status=RunStatus.COMPLETED).run_id
    _set(pg_db, "task_runs", far, "heartbeat_at = '10000-06-01 00:00:00+00'")
    edge = make_run(pg_db, status=RunStatus.COMPLETED).run_id
    # Year 1 still fits datetime in UTC, the zone that the test server's sessions use.
    _set(pg_db, "task_runs", edge, "heartbeat_at = '0001-01-01 12:00:00+00'")
    make_run(pg_db, status=RunStatus.COMPLETED)

    result = audit_runs(pg_db)

    found = {(finding.run_id, finding.path) for finding in result.violations
             if finding.rule == INVALID}
    expected = {(broken, column) for column in RUN_COLUMNS}
    expected |= {(broken, f"items[step/0].{column}") for column in ITEM_COLUMNS}
    expected.add((far, "heartbeat_at"))
    assert found == expected
    assert result.counts[INVALID] == len(expected)
    assert "row.timestamp_not_stored_form" not in result.counts
    assert result.scanned == 4


@pytest.fixture
def api_client(pg_db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with viewer_client(pg_db, monkeypatch) as client:
        yield client


def test_api_and_console_serve_infinite_row(pg_db: Database, api_client: TestClient) -> None:
    run_id = _infinite_run(pg_db)
    make_run(pg_db, status=RunStatus.COMPLETED)
    paths = ("/runs", f"/runs/{run_id}", "/tasks", "/metrics", "/api/v1/task-runs",
             f"/api/v1/task-runs/{run_id}", f"/api/v1/task-runs/{run_id}/error-logs",
             "/api/v1/statistics/tasks", "/runs?sort=completed_at&order=desc",
             "/api/v1/task-runs?sort=duration")

    pages = {path: api_client.get(path) for path in paths}

    for path, page in pages.items():
        assert page.status_code == 200, (path, page.text[:300])
        assert not page.history, path
    assert run_id in pages["/runs"].text
    detail = pages[f"/api/v1/task-runs/{run_id}"].json()["data"]
    assert detail["run"]["completed_at"] is None
    assert detail["items"][0]["started_at"] is None


def _taskrun(*arguments: str, database_url: str) -> subprocess.CompletedProcess[str]:
    return run_taskrun(database_url, *arguments,
                       env=taskrun_env(database_url, TASKRUN_LANGUAGE="en"))


def test_cli_lists_and_audits_infinite_row(pg_db: Database, postgres_url: str) -> None:
    run_id = _infinite_run(pg_db)

    listed = _taskrun("runs", "list", "--format", "json", database_url=postgres_url)
    detail = _taskrun("runs", "show", run_id, "--format", "json", database_url=postgres_url)
    audited = _taskrun("audit", database_url=postgres_url)

    assert listed.returncode == 0, listed.stderr
    assert run_id in listed.stdout
    assert detail.returncode == 0, detail.stderr
    assert audited.returncode == 1, audited.stderr
    assert INVALID in audited.stdout
    assert "Traceback" not in audited.stderr
