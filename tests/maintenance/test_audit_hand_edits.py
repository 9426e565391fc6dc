"""The audit names rows edited by hand in the SQLite file, and only those.

Runs are recorded through the write service, then changed with Python's sqlite3 module
(``hand_edits.edit_sqlite``). PostgreSQL's typed columns and enforced CHECK constraints reject
these values, so these tests run on SQLite only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import literal, select
from sqlalchemy.types import NullType

from taskrun_center.maintenance.audit import AuditResult, audit_runs
from taskrun_center.maintenance.audit_timestamps import in_stored_form
from taskrun_center.states import ItemStatus, RunStatus
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun
from tests.factories import make_run
from tests.maintenance.hand_edits import edit_sqlite

INVALID = "row.timestamp_invalid"
NOT_STORED_FORM = "row.timestamp_not_stored_form"

Finding = tuple[str, str, str]


@pytest.fixture
def sqlite_db(sqlite_url: str) -> Iterator[Database]:
    database = Database(sqlite_url)
    yield database
    database.dispose()


def _completed_run(database: Database, items: int = 1) -> str:
    items_by_status = {ItemStatus.COMPLETED: items} if items else None
    return make_run(database, status=RunStatus.COMPLETED, items=items_by_status).run_id


def _set_run(url: str, run_id: str, column: str, value: Any, *,
             ignore_checks: bool = False) -> None:
    edit_sqlite(url, f"UPDATE task_runs SET {column} = :value WHERE run_id = :run_id",
                {"value": value, "run_id": run_id}, ignore_checks=ignore_checks)


def _set_item(url: str, run_id: str, column: str, value: Any, *,
              ignore_checks: bool = False) -> None:
    edit_sqlite(url, f"UPDATE task_run_items SET {column} = :value "
                     "WHERE run_id = :run_id AND item_key = '0'",
                {"value": value, "run_id": run_id}, ignore_checks=ignore_checks)


def _findings(result: AuditResult) -> set[Finding]:
    return {(finding.run_id, finding.rule, finding.path) for finding in result.violations}


def _assert_exactly(result: AuditResult, expected: set[Finding]) -> None:
    assert _findings(result) == expected
    assert result.counts == dict(Counter(rule for _, rule, _ in expected))


def test_service_runs_audit_clean(sqlite_db: Database) -> None:
    """The baseline of the tests below: runs as the service writes them break no rule."""
    for items in (0, 1, 3):
        _completed_run(sqlite_db, items)
    make_run(sqlite_db, status=RunStatus.RUNNING, items={ItemStatus.RUNNING: 1})

    result = audit_runs(sqlite_db)

    assert result.counts == {}
    assert result.scanned == 4


def test_timestamps_not_in_stored_form(sqlite_db: Database, sqlite_url: str) -> None:
    clean = _completed_run(sqlite_db)
    iso_start = _completed_run(sqlite_db)
    zulu = _completed_run(sqlite_db)
    offset = _completed_run(sqlite_db)
    number = _completed_run(sqlite_db)
    garbage = _completed_run(sqlite_db)
    impossible = _completed_run(sqlite_db)
    items = _completed_run(sqlite_db)
    stored_by_hand = _completed_run(sqlite_db)

    # The same instant with a "T" and a "Z": it reads unchanged, so the duration still matches.
    edit_sqlite(sqlite_url, "UPDATE task_runs SET started_at = replace(started_at, ' ', 'T') "
                            "|| 'Z' WHERE run_id = :run_id", {"run_id": iso_start})
    _set_run(sqlite_url, zulu, "heartbeat_at", "2026-11-30T23:59:50Z")
    _set_run(sqlite_url, offset, "created_at", "2026-11-30 23:58:20.000000+08:00")
    _set_run(sqlite_url, number, "updated_at", 1764547180)
    _set_run(sqlite_url, garbage, "heartbeat_at", "garbage")
    _set_run(sqlite_url, impossible, "completed_at", "2026-02-30 00:00:00")
    _set_item(sqlite_url, items, "started_at", "2026-11-30T23:59:50Z")
    # The stored form's spelling, but April has 30 days.
    _set_item(sqlite_url, items, "completed_at", "2026-04-31 00:00:00.000000")
    _set_run(sqlite_url, stored_by_hand, "heartbeat_at", "2026-11-30 23:59:50.000000")

    with sqlite_db.session() as session:
        number_read = session.scalar(select(TaskRun.updated_at)
                                     .where(TaskRun.run_id == number))
    result = audit_runs(sqlite_db)

    # An integer is not in the stored form; its rule follows whether the app reads it as a time.
    number_rule = NOT_STORED_FORM if number_read is not None else INVALID
    _assert_exactly(result, {
        (iso_start, NOT_STORED_FORM, "started_at"),
        (zulu, NOT_STORED_FORM, "heartbeat_at"),
        (offset, NOT_STORED_FORM, "created_at"),
        (number, number_rule, "updated_at"),
        (garbage, INVALID, "heartbeat_at"),
        # completed_at reads as empty, so duration_ms no longer matches the times either.
        (impossible, INVALID, "completed_at"),
        (impossible, "row.duration_mismatch", "duration_ms"),
        (items, NOT_STORED_FORM, "items[step/0].started_at"),
        (items, INVALID, "items[step/0].completed_at"),
    })
    assert clean not in {finding.run_id for finding in result.violations}
    assert stored_by_hand not in {finding.run_id for finding in result.violations}


def test_values_breaking_check_constraints(sqlite_db: Database, sqlite_url: str) -> None:
    clean = _completed_run(sqlite_db, items=3)
    zombie = _completed_run(sqlite_db)
    robot = _completed_run(sqlite_db)
    negative = _completed_run(sqlite_db, items=2)
    over_total = _completed_run(sqlite_db, items=3)
    text_counter = _completed_run(sqlite_db)
    lost_item = _completed_run(sqlite_db, items=2)

    # duration_ms is set, which a known unfinished status would make a duration mismatch.
    _set_run(sqlite_url, zombie, "status", "zombie", ignore_checks=True)
    _set_run(sqlite_url, robot, "trigger_source", "robot", ignore_checks=True)
    _set_run(sqlite_url, negative, "progress_total", -1, ignore_checks=True)
    _set_run(sqlite_url, over_total, "progress_completed", 99)
    _set_run(sqlite_url, text_counter, "progress_failed", "many")
    _set_item(sqlite_url, lost_item, "status", "lost", ignore_checks=True)

    result = audit_runs(sqlite_db)

    _assert_exactly(result, {
        (zombie, "row.status_invalid", "status"),
        (robot, "row.trigger_source_invalid", "trigger_source"),
        # Reported as negative only, although 2 completed also exceed a total of -1.
        (negative, "row.progress_invalid", "progress_total"),
        (over_total, "row.progress_invalid", "progress_total"),
        (text_counter, "row.progress_invalid", "progress_failed"),
        (lost_item, "item.status_invalid", "items[step/0].status"),
    })
    assert clean not in {finding.run_id for finding in result.violations}


def test_progress_within_total_passes(sqlite_db: Database, sqlite_url: str) -> None:
    """A total above completed + failed is valid: items may still be pending."""
    run_id = _completed_run(sqlite_db, items=3)
    _set_run(sqlite_url, run_id, "progress_completed", 1)

    result = audit_runs(sqlite_db)

    assert result.counts == {}


@pytest.mark.parametrize(("stored", "expected"), [
    ("2026-06-01 12:00:00.123456", True),
    ("2026-12-31 23:59:59.999999", True),
    ("2024-02-29 00:00:00.000000", True),
    ("0001-01-01 00:00:00.000000", True),
    ("2026-06-01 12:00:00", False),
    ("2026-06-01T12:00:00.123456", False),
    ("2026-06-01 12:00:00.12345Z", False),
    ("2026-06-01 12:00:00.1234567", False),
    (" 2026-06-01 12:00:00.12345", False),
    ("2026-02-29 00:00:00.000000", False),
    ("2026-04-31 00:00:00.000000", False),
    ("2026-06-01 24:00:00.000000", False),
    ("2026-06-01 23:59:60.000000", False),
    ("0000-01-01 00:00:00.000000", False),
    ("now", False),
    (1764547180, False),
    (b"2026-06-01 12:00:00.123456", False),
])
def test_stored_form_condition_cases(sqlite_db: Database, stored: Any, expected: bool) -> None:
    # NullType binds the value as it is: text, integer or blob.
    value = literal(stored, NullType())
    with sqlite_db.session() as session:
        matched = session.scalar(select(in_stored_form(value)))

    assert bool(matched) is expected
