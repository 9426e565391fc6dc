"""Reading SQLite's stored text: timestamps in any ISO spelling and JSON beyond orjson's range.

SQLite keeps timestamps and JSON as plain text, and list pages decode them through fast paths.
These rows are written with plain SQL, as an operator or another tool might write them, to show
that the fast paths read every spelling the slower parsers read, with the same values.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from taskrun_center.lifecycle.read_service import TaskRunsReadService
from taskrun_center.states import RunStatus
from taskrun_center.storage.engine import Database
from taskrun_center.storage.types import is_invalid_json, load_json_text
from tests.factories import make_run

EXPECTED = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


@pytest.fixture
def sqlite_db(sqlite_url: str) -> Iterator[Database]:
    database = Database(sqlite_url)
    yield database
    database.dispose()


def _set_column(db: Database, run_id: str, column: str, value: str) -> None:
    with db.transaction() as session:
        session.execute(text(f"UPDATE task_runs SET {column} = :value WHERE run_id = :run_id"),
                        {"value": value, "run_id": run_id})


def _listed(db: Database, run_id: str) -> object:
    with db.session() as session:
        page = TaskRunsReadService(session).list_runs(limit=100)
    return next(run for run in page.items if run.run_id == run_id)


@pytest.mark.parametrize("stored", [
    "2026-03-04 05:06:07.000000",
    "2026-03-04 05:06:07",
    "2026-03-04T05:06:07Z",
    "2026-03-04 07:06:07+02:00",
])
def test_timestamp_spellings_read_as_aware_utc(sqlite_db: Database, stored: str) -> None:
    run_id = make_run(sqlite_db, status=RunStatus.COMPLETED).run_id
    _set_column(sqlite_db, run_id, "started_at", stored)

    started_at = _listed(sqlite_db, run_id).started_at  # type: ignore[attr-defined]

    assert started_at == EXPECTED
    assert started_at.utcoffset().total_seconds() == 0


def test_json_beyond_orjson_reads_like_json_module(sqlite_db: Database) -> None:
    """NaN and a 30-digit integer are JSON that Python's json reads; the row reads the same."""
    run_id = make_run(sqlite_db, status=RunStatus.COMPLETED).run_id
    stored = '{"version": 1, "ratio": NaN, "big": 123456789012345678901234567890}'
    _set_column(sqlite_db, run_id, "summary_json", stored)

    summary = _listed(sqlite_db, run_id).summary_json  # type: ignore[attr-defined]

    assert not is_invalid_json(summary)
    assert summary["big"] == 123456789012345678901234567890
    assert summary["ratio"] != summary["ratio"]  # NaN is the only value unequal to itself


def test_json_text_decoders_agree() -> None:
    for stored in ['{"a": [1, 2.5, "x", null, true]}', "1e400", "[]"]:
        assert repr(load_json_text(stored)) == repr(json.loads(stored))
    assert load_json_text(None) is None
    with pytest.raises(ValueError):
        load_json_text("{not json")
    # A lone surrogate decodes, but no UTF-8 response can carry it.
    with pytest.raises(ValueError):
        load_json_text('"\\ud800"')


def test_date_only_timestamp_reads_as_utc_midnight(sqlite_db: Database) -> None:
    run_id = make_run(sqlite_db, status=RunStatus.COMPLETED).run_id
    _set_column(sqlite_db, run_id, "started_at", "2026-03-04")

    started_at = _listed(sqlite_db, run_id).started_at  # type: ignore[attr-defined]

    assert started_at == datetime(2026, 3, 4, tzinfo=UTC)
    assert started_at.tzinfo is not None


def test_number_in_timestamp_reads_as_none(sqlite_db: Database) -> None:
    run_id = make_run(sqlite_db, status=RunStatus.COMPLETED).run_id
    with sqlite_db.transaction() as session:
        session.execute(text("UPDATE task_runs SET started_at = 1700000000 WHERE run_id = :id"),
                        {"id": run_id})

    assert _listed(sqlite_db, run_id).started_at is None  # type: ignore[attr-defined]


def test_number_as_summary_is_listed_and_audited(sqlite_db: Database) -> None:
    from taskrun_center.maintenance.audit import audit_runs

    run_id = make_run(sqlite_db, status=RunStatus.COMPLETED).run_id
    with sqlite_db.transaction() as session:
        session.execute(text("UPDATE task_runs SET summary_json = 5 WHERE run_id = :id"),
                        {"id": run_id})

    summary = _listed(sqlite_db, run_id).summary_json  # type: ignore[attr-defined]
    result = audit_runs(sqlite_db)

    assert summary == 5
    assert run_id in {finding.run_id for finding in result.violations}


@pytest.mark.parametrize("stored", [
    "9999-12-31 23:59:59-01:00",
    "0001-01-01 00:00:00+01:00",
])
def test_offset_past_year_range_reads_as_none(sqlite_db: Database, stored: str) -> None:
    from taskrun_center.maintenance.audit import audit_runs

    run_id = make_run(sqlite_db, status=RunStatus.COMPLETED).run_id
    _set_column(sqlite_db, run_id, "completed_at", stored)

    listed = _listed(sqlite_db, run_id)
    with sqlite_db.session() as session:
        detail = TaskRunsReadService(session).get_run(run_id)
    result = audit_runs(sqlite_db)

    assert listed.completed_at is None  # type: ignore[attr-defined]
    assert detail.completed_at is None
    assert result.counts.get("row.timestamp_invalid") == 1


def test_deeply_nested_summary_reads_as_marker(sqlite_db: Database) -> None:
    from taskrun_center.maintenance.audit import audit_runs

    run_id = make_run(sqlite_db, status=RunStatus.COMPLETED).run_id
    _set_column(sqlite_db, run_id, "summary_json", "[" * 2000 + "]" * 2000)

    summary = _listed(sqlite_db, run_id).summary_json  # type: ignore[attr-defined]
    result = audit_runs(sqlite_db)

    assert is_invalid_json(summary)
    assert result.counts.get("row.json_invalid") == 1


def test_purge_plans_past_unreadable_finish_time(sqlite_db: Database) -> None:
    from datetime import timedelta

    from taskrun_center.maintenance.purge import purge_runs

    run_id = make_run(sqlite_db, status=RunStatus.COMPLETED).run_id
    _set_column(sqlite_db, run_id, "completed_at", "9999-12-31T23:00:00-05:00")

    planned = purge_runs(sqlite_db, older_than=timedelta(days=1), dry_run=True)
    purged = purge_runs(sqlite_db, older_than=timedelta(days=1))

    assert planned.runs == purged.runs == 0
