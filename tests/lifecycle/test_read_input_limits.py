"""Inputs the read service rejects before they reach the database, on SQLite and PostgreSQL.

Times outside what ``datetime`` can hold in UTC, numbers given as times, page numbers past the
cap, NUL characters in filter values, and run ids that no run can have.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import String
from sqlalchemy.orm import Session

from taskrun_center.errors import InvalidQueryError, RunNotFoundError
from taskrun_center.lifecycle.read_service import (
    MAX_PAGE,
    RUN_ID_MAX_CHARS,
    RunFilter,
    TaskRunsReadService,
    is_possible_run_id,
)
from taskrun_center.storage.models import TaskRun
from tests.maintenance.rows import add_items, add_run

OUT_OF_RANGE_TIMES = ("9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00")


@pytest.mark.parametrize("parameter", ["started_from", "started_to"])
@pytest.mark.parametrize("value", OUT_OF_RANGE_TIMES)
def test_time_outside_utc_range_rejected(parameter: str, value: str) -> None:
    with pytest.raises(InvalidQueryError) as caught:
        RunFilter.from_params(**{parameter: value})

    assert caught.value.parameter == parameter
    assert value in caught.value.reason_text.en
    assert "once converted to UTC" in caught.value.reason_text.en
    assert "换算成 UTC" in caught.value.reason_text.zh


def test_aware_datetime_outside_utc_range_rejected() -> None:
    late = datetime.fromisoformat("9999-12-31T23:59:59-01:00")

    with pytest.raises(InvalidQueryError) as caught:
        RunFilter.from_params(started_from=late)

    assert caught.value.parameter == "started_from"


def test_time_at_edge_of_utc_range_accepted() -> None:
    run_filter = RunFilter.from_params(started_from="9999-12-31T23:59:59+01:00",
                                       started_to="0001-01-01T00:00:00-01:00")

    assert run_filter.started_from == datetime(9999, 12, 31, 22, 59, 59, tzinfo=UTC)
    assert run_filter.started_to == datetime(1, 1, 1, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize("value", ["20261206", " 20261206 ", "1764921600.5", "-5", "1e9",
                                   20261206, 1764921600.5])
def test_number_as_time_rejected(value: object) -> None:
    with pytest.raises(InvalidQueryError) as caught:
        RunFilter.from_params(started_to=value)

    assert caught.value.parameter == "started_to"
    assert "2026-12-06T08:00:00Z" in caught.value.reason_text.en
    assert "2026-12-06T08:00:00Z" in caught.value.reason_text.zh
    assert "is a number" in caught.value.reason_text.en


def test_text_that_is_no_time_shows_expected_form() -> None:
    with pytest.raises(InvalidQueryError) as caught:
        RunFilter.from_params(started_from="next tuesday")

    assert caught.value.parameter == "started_from"
    assert "2026-12-06 or 2026-12-06T08:00:00Z" in caught.value.reason_text.en


@pytest.mark.parametrize("text", ["2026-12-06", "2026-12-06T08:00:00Z", "2026-12-06T16:00+08:00"])
def test_iso_times_still_accepted(text: str) -> None:
    run_filter = RunFilter.from_params(started_from=text)

    assert run_filter.started_from is not None
    assert run_filter.started_from.date() == datetime(2026, 12, 6).date()
    assert run_filter.started_from.tzinfo is UTC


@pytest.mark.parametrize("page", [MAX_PAGE + 1, 99_999_999_999_999_999_999])
def test_page_over_cap_rejected(service: TaskRunsReadService, page: int) -> None:
    with pytest.raises(InvalidQueryError) as caught:
        service.list_runs(page=page)

    assert caught.value.parameter == "page"
    assert "1,000,000" in caught.value.reason_text.en
    assert "1,000,000" in caught.value.reason_text.zh


def test_page_at_cap_is_empty(session: Session, service: TaskRunsReadService) -> None:
    add_run(session)
    session.commit()

    page = service.list_runs(page=MAX_PAGE, limit=100)

    assert page.items == []
    assert page.total == 1


def test_item_page_over_cap_rejected(session: Session, service: TaskRunsReadService) -> None:
    run = add_run(session)
    session.commit()

    with pytest.raises(InvalidQueryError) as caught:
        service.list_items(run.run_id, page=99_999_999_999_999_999_999)

    assert caught.value.parameter == "page"


@pytest.mark.parametrize("field", ["task_key", "task_category", "trigger_source", "status",
                                   "search"])
def test_nul_in_filter_value_rejected(service: TaskRunsReadService, field: str) -> None:
    run_filter = RunFilter.from_params(**{field: "ab\x00c"})

    with pytest.raises(InvalidQueryError) as caught:
        service.list_runs(run_filter)

    assert caught.value.parameter == field
    assert "NUL" in caught.value.reason_text.en
    assert "NUL" in caught.value.reason_text.zh


def test_nul_in_second_value_rejected(service: TaskRunsReadService) -> None:
    run_filter = RunFilter.from_params(task_key=["sync_accounts", "backup\x00db"])

    with pytest.raises(InvalidQueryError) as caught:
        service.count_runs(run_filter)

    assert caught.value.parameter == "task_key"


def test_nul_search_rejected_not_truncated(
    session: Session, service: TaskRunsReadService
) -> None:
    # Before NUL was rejected, SQLite cut the pattern at the NUL and "a\x00b" matched "Alpha".
    add_run(session, task_name="Alpha")
    session.commit()

    with pytest.raises(InvalidQueryError):
        service.list_runs(RunFilter(search="a\x00b"))


@pytest.mark.parametrize("run_id", ["ab\x00c", "x" * (RUN_ID_MAX_CHARS + 1), "a" * 100_000])
def test_impossible_run_id_is_not_found(
    session: Session, service: TaskRunsReadService, run_id: str
) -> None:
    run = add_run(session)
    add_items(session, run, ["failed"])
    session.commit()

    with pytest.raises(RunNotFoundError):
        service.get_run(run_id)
    with pytest.raises(RunNotFoundError):
        service.list_items(run_id)
    with pytest.raises(RunNotFoundError):
        service.error_logs(run_id)
    # The session is still usable: no statement failed on the way.
    assert service.get_run(run.run_id).run_id == run.run_id


def test_run_id_limit_matches_column() -> None:
    column_type = TaskRun.__table__.c.run_id.type

    assert isinstance(column_type, String)
    assert column_type.length == RUN_ID_MAX_CHARS


def test_possible_run_id_checks() -> None:
    assert is_possible_run_id("0b8a3c55-2f7e-4d7c-9a51-6f0e8d3b2a11")
    assert not is_possible_run_id("ab\x00c")
    assert not is_possible_run_id("x" * (RUN_ID_MAX_CHARS + 1))
    assert not is_possible_run_id(42)
