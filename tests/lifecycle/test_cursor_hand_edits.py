"""Cursor paging by duration visits every run once, whatever a hand edit stored in duration_ms.

SQLite keeps text, fractions and blobs written by hand in an INTEGER column and sorts them after
the integers (fractions among them). The rows are edited with Python's sqlite3 module, as an
operator would. PostgreSQL's bigint rejects such values, so only cursors are checked there.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from taskrun_center.errors import InvalidQueryError
from taskrun_center.lifecycle.cursor import RunCursor, cursor_key, decode_cursor, encode_cursor
from taskrun_center.lifecycle.read_service import RunFilter, TaskRunsReadService
from taskrun_center.maintenance.audit import audit_runs
from taskrun_center.states import RunStatus
from taskrun_center.storage.engine import Database
from tests.factories import make_run
from tests.lifecycle.paging import both_pagings
from tests.maintenance.hand_edits import edit_sqlite

# Stored by hand in duration_ms: text, a fraction, a blob, REAL infinity and text that two
# runs share, so that ties on the value are broken by id.
HAND_EDITED: tuple[Any, ...] = ("abc", 12.5, b"\x00\xff", float("inf"), "abc", "z" * 300)
SECRET = "test-secret"


@pytest.fixture
def sqlite_db(sqlite_url: str) -> Iterator[Database]:
    database = Database(sqlite_url)
    yield database
    database.dispose()


def _runs_with_edited_durations(database: Database, url: str) -> list[int]:
    """Record finished and running runs, then store the values of ``HAND_EDITED``."""
    ids = [make_run(database, status=RunStatus.COMPLETED).id for _ in range(9)]
    ids += [make_run(database, status=RunStatus.RUNNING).id for _ in range(3)]
    for run_id, value in zip(ids[1::2], HAND_EDITED, strict=False):
        edit_sqlite(url, "UPDATE task_runs SET duration_ms = :value WHERE id = :id",
                    {"value": value, "id": run_id})
    return ids


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("total_cap", [1000, 2])
def test_cursor_pages_visit_each_run_once(sqlite_db: Database, sqlite_url: str, order: str,
                                          total_cap: int) -> None:
    ids = _runs_with_edited_durations(sqlite_db, sqlite_url)

    with sqlite_db.session() as session:
        service = TaskRunsReadService(session, cursor_secret=SECRET, total_cap=total_cap)
        for limit in (1, 2, 5):
            by_cursor, by_offset, _ = both_pagings(service, RunFilter(), "duration", order,
                                                   limit=limit)

            assert sorted(by_cursor) == sorted(ids), limit
            assert len(by_cursor) == len(set(by_cursor)), limit
            assert by_cursor == by_offset, limit


def test_cursor_pages_keep_sqlite_order(sqlite_db: Database, sqlite_url: str) -> None:
    _runs_with_edited_durations(sqlite_db, sqlite_url)

    with sqlite_db.session() as session:
        service = TaskRunsReadService(session, cursor_secret=SECRET)
        whole = service.list_runs(sort="duration", order="asc", limit=100).items
        by_cursor, _, _ = both_pagings(service, RunFilter(), "duration", "asc", limit=1)

    assert by_cursor == [run.id for run in whole]
    # SQLite's order: numbers (the fraction and infinity among them), text, blobs; then the
    # running run left without a duration.
    kinds = [type(run.duration_ms).__name__ for run in whole]
    assert sorted(kinds[:7]) == ["float"] * 2 + ["int"] * 5
    assert whole[6].duration_ms == float("inf")
    assert kinds[7:] == ["str"] * 3 + ["bytes", "NoneType"]


def test_audit_names_each_edited_duration(sqlite_db: Database, sqlite_url: str) -> None:
    ids = _runs_with_edited_durations(sqlite_db, sqlite_url)
    with sqlite_db.session() as session:
        run_ids = {run.id: run.run_id for run in TaskRunsReadService(session).list_runs(
            sort="duration", limit=100).items}

    result = audit_runs(sqlite_db)

    named = {finding.run_id for finding in result.violations
             if finding.rule == "row.duration_mismatch"}
    assert named == {run_ids[run_id] for run_id in ids[1::2]}
    assert result.counts["row.duration_mismatch"] == len(HAND_EDITED)


def _forged(value: Any, sort: str = "duration") -> str:
    cursor = RunCursor(sort=sort, order="asc", last_value=value, last_id=1,
                       filter_fingerprint=RunFilter().fingerprint(), page=2, limit=5, total=9)
    return encode_cursor(cursor, cursor_key(SECRET))


@pytest.mark.postgres
def test_stored_value_cursor_rejected_on_postgres(postgres_url: str) -> None:
    """A cursor with a value that bigint cannot hold names the cursor, not a server error."""
    database = Database(postgres_url)
    try:
        make_run(database, status=RunStatus.COMPLETED)
        with database.session() as session:
            service = TaskRunsReadService(session, cursor_secret=SECRET)
            second = service.list_runs(sort="duration", order="asc", limit=5, cursor=_forged(7))
            for value in (12.5, float("inf"), "abc", b"\x00"):
                with pytest.raises(InvalidQueryError) as raised:
                    service.list_runs(sort="duration", order="asc", limit=5,
                                      cursor=_forged(value))

                assert raised.value.parameter == "cursor", value
    finally:
        database.dispose()

    assert second.page == 2


def test_cursor_round_trips_stored_values() -> None:
    """Each kind of stored value comes back from the cursor as it went in."""
    for value in (7, 12.5, float("inf"), float("-inf"), "abc", "", b"\x00\xff", "日本"):
        decoded = decode_cursor(_forged(value), cursor_key(SECRET), sort="duration",
                                order="asc", limit=5,
                                filter_fingerprint=RunFilter().fingerprint(), value_kind=int)

        assert decoded.last_value == value
        assert type(decoded.last_value) is type(value)
