"""The read service on SQLite and PostgreSQL: filters, sorting, paging, cursors, detail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from taskrun_center.errors import InvalidQueryError, RunNotFoundError
from taskrun_center.lifecycle.read_service import (
    SORT_FIELDS,
    RunFilter,
    TaskRunsReadService,
)
from taskrun_center.storage.models import TaskRun
from tests.lifecycle.paging import both_pagings
from tests.maintenance.rows import NOW, add_items, add_run


def _mixed_runs(session: Session) -> list[TaskRun]:
    """Add 13 runs: finished ones with tied start times and durations, running and pending."""
    runs = []
    for index in range(9):
        runs.append(add_run(
            session,
            task_key=("sync_accounts", "backup_db", "audit_rules")[index % 3],
            status=("completed", "failed", "cancelled")[index % 3],
            # Pairs of runs share a start time and a duration, so ties need the id rule.
            started_at=NOW - timedelta(minutes=index // 2),
            duration=timedelta(seconds=index // 2),
        ))
    runs.append(add_run(session, status="running", started_at=NOW - timedelta(minutes=30)))
    runs.append(add_run(session, status="running", started_at=NOW - timedelta(minutes=30)))
    runs.append(add_run(session, status="pending", started_at=None))
    runs.append(add_run(session, status="pending", started_at=None))
    session.commit()
    return runs


def _expected_order(runs: list[TaskRun], column: str, descending: bool) -> list[int]:
    with_value = [run for run in runs if getattr(run, column) is not None]
    without = [run for run in runs if getattr(run, column) is None]
    with_value.sort(key=lambda run: (getattr(run, column), run.id), reverse=descending)
    without.sort(key=lambda run: run.id, reverse=descending)
    return [run.id for run in with_value + without]


_COLUMN_OF = {"duration": "duration_ms"}


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("sort", SORT_FIELDS)
def test_offset_pages_follow_sort_with_nulls_last(session: Session,
                                                  service: TaskRunsReadService,
                                                  sort: str, order: str) -> None:
    runs = _mixed_runs(session)
    expected = _expected_order(runs, _COLUMN_OF.get(sort, sort), order == "desc")

    seen: list[int] = []
    for page in range(1, 6):
        result = service.list_runs(sort=sort, order=order, page=page, limit=3)
        seen.extend(run.id for run in result.items)

    assert seen == expected


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("sort", SORT_FIELDS)
def test_cursor_pages_match_offset_pages(session: Session, service: TaskRunsReadService,
                                         sort: str, order: str) -> None:
    runs = _mixed_runs(session)
    expected = _expected_order(runs, _COLUMN_OF.get(sort, sort), order == "desc")

    page = service.list_runs(sort=sort, order=order, limit=2)
    seen = [run.id for run in page.items]
    page_numbers = [page.page]
    while page.next_cursor:
        page = service.list_runs(sort=sort, order=order, limit=2, cursor=page.next_cursor)
        seen.extend(run.id for run in page.items)
        page_numbers.append(page.page)

    assert seen == expected
    assert page_numbers == list(range(1, 8))
    assert page.total == 13


# Filters that match more runs than a cap of 2 and fewer than 1,000, each with its rule.
_MANY_MATCH_FILTERS = {
    "statuses": (RunFilter(status=["completed", "failed", "running"]),
                 lambda run: run.status in ("completed", "failed", "running")),
    "one task key": (RunFilter(task_key=["sync_accounts"],
                               trigger_source=["scheduled", "manual"]),
                     lambda run: run.task_key == "sync_accounts"),
}


@pytest.mark.parametrize("cap", [2, 1000])
@pytest.mark.parametrize("case", list(_MANY_MATCH_FILTERS))
@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("sort", SORT_FIELDS)
def test_filtered_pages_keep_sort_order(session: Session, sort: str, order: str,
                                        case: str, cap: int) -> None:
    """Beyond the cap a page walks a sort index, within it sorts the matches: same rows."""
    runs = _mixed_runs(session)
    service = TaskRunsReadService(session, cursor_secret="test-secret", total_cap=cap)
    run_filter, matches = _MANY_MATCH_FILTERS[case]
    matching = [run for run in runs if matches(run)]
    expected = _expected_order(matching, _COLUMN_OF.get(sort, sort), order == "desc")

    seen, by_offset, total_exact = both_pagings(service, run_filter, sort, order, limit=2)

    assert len(expected) >= 7
    assert total_exact is (cap > len(expected))
    assert seen == expected
    assert by_offset == expected


def _task_blocks(session: Session) -> list[TaskRun]:
    """Add 40 runs of eight tasks; each task has one status, and two tasks share a category.

    The tasks sorted first have none of the statuses and categories that the filters below
    ask for, as on a real list where a status belongs to a few tasks.
    """
    runs = []
    for index in range(40):
        task = index % 8
        runs.append(add_run(
            session,
            task_key=f"task_{task}",
            task_category=f"cat_{task // 2}",
            status=("completed", "completed", "completed", "completed", "failed",
                    "completed_with_errors", "cancelled", "failed")[task],
            trigger_source=("scheduled", "manual")[index % 2],
            started_at=NOW - timedelta(minutes=index // 3),
            # Durations repeat, so ties need the id rule there too.
            duration=timedelta(seconds=index * 7 % 11),
        ))
    session.commit()
    return runs


_BRANCHED_FILTERS = {
    "statuses": (RunFilter(status=["failed", "completed_with_errors"]),
                 lambda run: run.status in ("failed", "completed_with_errors")),
    "categories": (RunFilter(task_category=["cat_3", "cat_2"]),
                   lambda run: run.task_category in ("cat_2", "cat_3")),
    "statuses and categories": (
        RunFilter(status=["failed", "cancelled"], task_category=["cat_2", "cat_3"]),
        lambda run: run.status in ("failed", "cancelled")
        and run.task_category in ("cat_2", "cat_3")),
    "statuses and trigger": (
        RunFilter(status=["failed", "completed_with_errors"], trigger_source=["manual"]),
        lambda run: run.status in ("failed", "completed_with_errors")
        and run.trigger_source == "manual"),
    "no match": (RunFilter(status=["pending", "running"]), lambda run: False),
    "one status": (RunFilter(status=["failed"]), lambda run: run.status == "failed"),
    "one status and trigger": (
        RunFilter(status=["failed"], trigger_source=["manual"]),
        lambda run: run.status == "failed" and run.trigger_source == "manual"),
    "triggers": (RunFilter(trigger_source=["manual", "scheduled"]), lambda run: True),
    "one trigger": (RunFilter(trigger_source=["manual"]),
                    lambda run: run.trigger_source == "manual"),
    "triggers and status": (
        RunFilter(trigger_source=["manual", "scheduled"], status=["failed"]),
        lambda run: run.status == "failed"),
}


@pytest.mark.parametrize("cap", [2, 1000])
@pytest.mark.parametrize("case", list(_BRANCHED_FILTERS))
@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("sort", ["task_key", "duration", "status"])
def test_several_values_keep_order(session: Session, sort: str, order: str, case: str,
                                   cap: int) -> None:
    """Several values of a filter, read one branch per value or walked: the same rows."""
    runs = _task_blocks(session)
    service = TaskRunsReadService(session, cursor_secret="test-secret", total_cap=cap)
    run_filter, matches = _BRANCHED_FILTERS[case]
    expected = _expected_order([run for run in runs if matches(run)],
                               _COLUMN_OF.get(sort, sort), order == "desc")

    for limit in (1, 3, 100):
        seen, by_offset, _ = both_pagings(service, run_filter, sort, order, limit=limit)

        assert seen == expected
        assert by_offset == expected


@pytest.mark.parametrize(("run_filter", "index"), [
    (RunFilter(status=["failed", "completed_with_errors"]), "ix_task_runs_status_task_key_id"),
    (RunFilter(status=["failed", "cancelled"], trigger_source=["manual", "api"]),
     "ix_task_runs_status_task_key_id"),
    (RunFilter(task_category=["cat_1", "cat_2", "cat_3"]), "ix_task_runs_category_task_key_id"),
], ids=["statuses", "statuses and triggers", "categories"])
def test_several_values_by_task_key_seek_each(sqlite_url: str, run_filter: RunFilter,
                                              index: str) -> None:
    """Each value seeks in its own index range instead of walking every task's runs."""
    plan = _sqlite_page_plan(sqlite_url, run_filter, "task_key", many=True)

    values = len(run_filter.status or run_filter.task_category)
    assert plan.count(f"USING INDEX {index}") + plan.count(f"USING COVERING INDEX {index}") \
        == values
    assert "ix_task_runs_task_key_id" not in plan


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("sort", ["started_at", "completed_at", "duration"])
def test_in_progress_edited_values_order(session: Session, sort: str,
                                                        order: str) -> None:
    """Running and pending runs have no finish time; one edited by hand to have it still lists."""
    runs = [add_run(session, status="running", started_at=NOW - timedelta(minutes=minutes))
            for minutes in range(4)]
    runs += [add_run(session, status="pending", started_at=None) for _ in range(3)]
    edited = add_run(session, status="running", started_at=NOW - timedelta(hours=1),
                     completed_at=NOW - timedelta(minutes=50))
    edited.duration_ms = 600_000
    runs.append(edited)
    add_run(session, status="completed")
    session.commit()
    service = TaskRunsReadService(session, cursor_secret="test-secret", total_cap=2)
    run_filter = RunFilter(status=["running", "pending"])
    expected = _expected_order(runs, _COLUMN_OF.get(sort, sort), order == "desc")

    seen, by_offset, total_exact = both_pagings(service, run_filter, sort, order, limit=3)

    assert total_exact is False
    assert seen == expected
    assert by_offset == expected


def _sqlite_page_plan(sqlite_url: str, run_filter: RunFilter, sort: str, *, many: bool,
                      with_value: bool = True) -> str:
    """Return SQLite's query plan of a keyset page of ``run_filter`` on a migrated database."""
    from sqlalchemy import create_engine, text

    from taskrun_center.lifecycle import run_order
    from taskrun_center.lifecycle.run_filter import bind_filter

    bound = bind_filter(run_filter)
    spec = run_order.resolve_sort(sort, "desc")
    statement = run_order._page_statements(bound, spec, many)(with_value=with_value,
                                                                    after=True)
    engine = create_engine(sqlite_url)
    params = {**bound.params, "after_value": None, "after_id": 0, "limit": 21}
    sql = statement.params(**params).compile(dialect=engine.dialect,
                                             compile_kwargs={"literal_binds": True})
    with engine.connect() as connection:
        plan = " ".join(str(row[-1]) for row
                        in connection.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    engine.dispose()
    return plan


def test_several_statuses_by_duration_seek_each(sqlite_url: str) -> None:
    """Each status seeks the longest runs in its own range of (status, duration_ms, id)."""
    run_filter = RunFilter(status=["failed", "completed_with_errors"])

    plan = _sqlite_page_plan(sqlite_url, run_filter, "duration", many=True)
    without = _sqlite_page_plan(sqlite_url, run_filter, "duration", many=True,
                                with_value=False)

    for part in (plan, without):
        assert part.count("ix_task_runs_status_duration_ms_id") == 2
        assert "ix_task_runs_duration_ms_id" not in part


@pytest.mark.parametrize(("sort", "index"), [
    ("task_key", "ix_task_runs_trigger_task_key_id"),
    ("status", "ix_task_runs_trigger_status_id"),
])
def test_several_triggers_seek_each(sqlite_url: str, sort: str, index: str) -> None:
    """Each trigger source seeks its own range instead of passing whole tasks without one."""
    run_filter = RunFilter(trigger_source=["manual", "api"])

    plan = _sqlite_page_plan(sqlite_url, run_filter, sort, many=True)

    assert plan.count(index) == 2


@pytest.mark.parametrize(("sort", "index"), [
    ("task_key", "ix_task_runs_trigger_task_key_id"),
    ("status", "ix_task_runs_trigger_status_id"),
])
def test_one_trigger_walks_trigger_index(sqlite_url: str, sort: str, index: str) -> None:
    """The runs people started, by task key or status, start at the first such run."""
    plan = _sqlite_page_plan(sqlite_url, RunFilter(trigger_source=["manual"]), sort, many=True)

    assert index in plan
    assert "TEMP B-TREE" not in plan


def test_status_filter_beats_trigger_index(sqlite_url: str) -> None:
    """With a status filter the status index seeks the statuses, so the trigger is hidden."""
    run_filter = RunFilter(trigger_source=["manual"], status=["failed", "running"])

    plan = _sqlite_page_plan(sqlite_url, run_filter, "status", many=True)

    assert "ix_task_runs_trigger_status_id" not in plan
    assert "ix_task_runs_status_id" in plan


@pytest.mark.parametrize(("run_filter", "index"), [
    (RunFilter(trigger_source=["manual"]), "ix_task_runs_trigger_duration_ms_id"),
    (RunFilter(task_category=["cat_1"]), "ix_task_runs_duration_ms_id"),
    (RunFilter(task_category=["cat_1"], trigger_source=["manual"]),
     "ix_task_runs_duration_ms_id"),
], ids=["trigger", "category", "category and trigger"])
def test_one_value_duration_walk(sqlite_url: str, run_filter: RunFilter, index: str) -> None:
    """A trigger source's longest runs start in its own index; a category walks durations."""
    plan = _sqlite_page_plan(sqlite_url, run_filter, "duration", many=True)

    assert index in plan
    assert "TEMP B-TREE" not in plan


def test_several_triggers_by_duration_seek_each(sqlite_url: str) -> None:
    run_filter = RunFilter(trigger_source=["manual", "api"])

    plan = _sqlite_page_plan(sqlite_url, run_filter, "duration", many=True)

    assert plan.count("ix_task_runs_trigger_duration_ms_id") == 2


def test_statuses_with_triggers_walk_duration(sqlite_url: str) -> None:
    """A branch would read every run of a status that the other filter rejects, so none."""
    run_filter = RunFilter(status=["failed", "completed_with_errors"],
                           trigger_source=["manual", "api"])

    plan = _sqlite_page_plan(sqlite_url, run_filter, "duration", many=True)

    assert "UNION ALL" not in plan
    assert "ix_task_runs_duration_ms_id" in plan


@pytest.mark.parametrize("trigger", [None, ["manual", "api"]])
def test_one_status_duration_walk(sqlite_url: str, trigger: list[str] | None) -> None:
    """The longest failed runs start at the status's longest run, not the longest of all."""
    run_filter = RunFilter(status=["failed"], trigger_source=trigger)

    plan = _sqlite_page_plan(sqlite_url, run_filter, "duration", many=True)

    assert "ix_task_runs_status_duration_ms_id" in plan
    assert "TEMP B-TREE" not in plan


@pytest.mark.parametrize("sort", ["completed_at", "duration", "status"])
def test_one_task_key_uses_task_index(sqlite_url: str, sort: str) -> None:
    """With many matches SQLite serves one task key and the sort from one task index."""
    run_filter = RunFilter(task_key=["sync_accounts"], status=["failed", "completed"],
                           trigger_source=["manual", "api"])

    plan = _sqlite_page_plan(sqlite_url, run_filter, sort, many=True)

    column = "duration_ms" if sort == "duration" else sort
    assert f"ix_task_runs_task_key_{column}_id" in plan
    assert "TEMP B-TREE" not in plan


@pytest.mark.parametrize("sort", ["started_at", "completed_at", "duration", "status"])
def test_few_matches_are_found_by_filter_then_sorted(sqlite_url: str, sort: str) -> None:
    """Up to the count cap, a task's runs in one status come from (task_key, status, id).

    Walking a sort index instead read every run of the task when none had that status.
    """
    run_filter = RunFilter(task_key=["sync_accounts"], status=["failed"])

    few = _sqlite_page_plan(sqlite_url, run_filter, sort, many=False)
    many = _sqlite_page_plan(sqlite_url, run_filter, sort, many=True)

    # (task_key, status, id), (task_key, status, started_at, id) or (status, task_key, id):
    # each contains just the matches.
    assert "(task_key=? AND status=?)" in few or "(status=? AND task_key=?)" in few
    assert "TEMP B-TREE FOR ORDER BY" in few
    if sort == "started_at":
        assert "ix_task_runs_task_key_started_at" in many
        assert "TEMP B-TREE" not in many


@pytest.mark.parametrize("sort", ["started_at", "completed_at", "duration", "status",
                                  "task_key"])
def test_category_status_few_matches_plan(sqlite_url: str,
                                                               sort: str) -> None:
    """A category's runs in a status come from one index, not from every run in the status."""
    run_filter = RunFilter(task_category=["sync"], status=["failed", "running"])

    plan = _sqlite_page_plan(sqlite_url, run_filter, sort, many=False)

    assert "ix_task_runs_category_status_started_at" in plan
    assert "ix_task_runs_status" not in plan


@pytest.mark.parametrize("trigger", [None, ["manual", "api"]])
def test_one_status_by_task_key_walks_status_index(sqlite_url: str,
                                                   trigger: list[str] | None) -> None:
    """Many runs of one status sorted by task key start at the first match."""
    run_filter = RunFilter(status=["failed"], trigger_source=trigger)

    plan = _sqlite_page_plan(sqlite_url, run_filter, "task_key", many=True)

    assert "ix_task_runs_status_task_key_id" in plan
    assert "TEMP B-TREE" not in plan


@pytest.mark.parametrize(("sort", "walked"), [
    ("completed_at", "ix_task_runs_completed_at_id"),
    ("duration", "ix_task_runs_duration_ms_id"),
])
def test_in_progress_runs_with_value_found_by_status(sqlite_url: str, sort: str,
                                                     walked: str) -> None:
    """Running runs have no finish time: the sort's index is not walked to look for one."""
    run_filter = RunFilter(status=["running", "pending"], task_category=["sync"])

    with_value = _sqlite_page_plan(sqlite_url, run_filter, sort, many=True)
    without = _sqlite_page_plan(sqlite_url, run_filter, sort, many=True, with_value=False)

    column = "duration_ms" if sort == "duration" else sort
    assert f"ix_task_runs_{column}_id" not in with_value
    assert "status" in with_value
    assert walked in without


@pytest.mark.parametrize("sort", ["started_at", "completed_at", "duration", "status",
                                  "task_key"])
def test_few_skipped_runs_come_from_partial_index(sqlite_url: str, sort: str) -> None:
    """Skipped runs are read from their own index, not found among every run."""
    plan = _sqlite_page_plan(sqlite_url, RunFilter(skipped=True), sort, many=False)

    assert "ix_task_runs_skipped_started_at" in plan


@pytest.mark.parametrize("status", [None, ["failed", "completed"]])
def test_one_category_by_task_key_walks_category_index(sqlite_url: str,
                                                       status: list[str] | None) -> None:
    """Many runs of one category sorted by task key start at the category's first run."""
    run_filter = RunFilter(task_category=["sync"], status=status)

    plan = _sqlite_page_plan(sqlite_url, run_filter, "task_key", many=True)

    assert "ix_task_runs_category_task_key_id" in plan
    assert "TEMP B-TREE" not in plan


@pytest.mark.parametrize("sort", ["started_at", "completed_at", "status"])
def test_task_status_and_time_range_use_one_index(sqlite_url: str, sort: str) -> None:
    """A task's runs in a status within a time range come from one index, whatever the sort."""
    run_filter = RunFilter(task_key=["sync_accounts"], status=["failed"],
                           started_from=NOW - timedelta(days=7))

    plan = _sqlite_page_plan(sqlite_url, run_filter, sort, many=False)

    assert "ix_task_runs_task_key_status_started_at" in plan
    assert "started_at>" in plan


@pytest.mark.parametrize("sort", ["started_at", "completed_at", "duration"])
def test_runs_without_value_come_from_task_index(sqlite_url: str, sort: str) -> None:
    """A task's runs without a sort value are found by (task_key, column, id), not by status."""
    run_filter = RunFilter(task_key=["sync_accounts"], status=["pending"])

    plan = _sqlite_page_plan(sqlite_url, run_filter, sort, many=False, with_value=False)

    column = "duration_ms" if sort == "duration" else sort
    assert f"ix_task_runs_task_key_{column}" in plan
    assert "ix_task_runs_status" not in plan


@pytest.mark.parametrize(("sort", "first_key"), [
    ("started_at", "(task_runs.started_at + interval '0 seconds') DESC"),
    ("duration", "(task_runs.duration_ms + 0) DESC"),
    ("status", "(task_runs.status || '') DESC"),
])
def test_few_matches_sort_by_an_expression_on_postgresql(sort: str, first_key: str) -> None:
    """On PostgreSQL the first sort key of a page of few matches matches no index."""
    from sqlalchemy.dialects import postgresql

    from taskrun_center.lifecycle import run_order
    from taskrun_center.lifecycle.run_filter import bind_filter

    bound = bind_filter(RunFilter(task_key=["sync_accounts"], status=["failed"]))
    statements = run_order._page_statements(bound, run_order.resolve_sort(sort, "desc"),
                                            many=False)

    def sql(with_value: bool) -> str:
        statement = statements(with_value=with_value, after=True)
        return str(statement.compile(dialect=postgresql.dialect()))

    assert f"ORDER BY {first_key}, task_runs.id DESC" in sql(with_value=True)
    # The keyset bound matches no index either, so the filters choose it.
    assert f"({first_key.removesuffix(' DESC')}, (task_runs.id + 0)) <" in sql(with_value=True)
    if sort != "status":
        assert "ORDER BY (task_runs.id + 0) DESC" in sql(with_value=False)
    many = run_order._page_statements(bound, run_order.resolve_sort(sort, "desc"),
                                      many=True)(with_value=True, after=True)
    assert "+ interval" not in str(many.compile(dialect=postgresql.dialect()))


def test_many_matches_hide_other_filters() -> None:
    """With many matches a status filter is kept out of SQLite's choice for a task key sort."""
    from sqlalchemy.dialects import sqlite

    from taskrun_center.lifecycle import run_order
    from taskrun_center.lifecycle.run_filter import bind_filter

    bound = bind_filter(RunFilter(status=["failed", "cancelled"]))
    spec = run_order.resolve_sort("task_key", "asc")

    def sql(many: bool) -> str:
        hidden = run_order._hidden_filters(bound, spec, many)
        statement = run_order._rows_statement(bound.shape, "task_key", False, with_value=True,
                                              after=True, hidden=hidden)
        return str(statement.compile(dialect=sqlite.dialect()))

    assert "+task_runs.status IN" in sql(many=True)
    assert "+task_runs.status IN" not in sql(many=False)
    assert run_order._hidden_filters(bound, run_order.resolve_sort("started_at", "desc"),
                                     True) == ()


@pytest.mark.parametrize(("status", "walked", "kept_out"), [
    ("completed", "task_category", "status"),
    ("failed", "status", "task_category"),
])
def test_category_status_task_key_plan(status: str, walked: str, kept_out: str) -> None:
    """Both databases walk the category's index for completed runs, the status's otherwise."""
    from sqlalchemy.dialects import postgresql

    from taskrun_center.lifecycle import run_order
    from taskrun_center.lifecycle.run_filter import bind_filter

    bound = bind_filter(RunFilter(task_category=["sync"], status=[status]))
    spec = run_order.resolve_sort("task_key", "desc")

    statement = run_order._page_statements(bound, spec, True)(with_value=True, after=True)
    sql = str(statement.compile(dialect=postgresql.dialect()))

    assert f"(task_runs.{kept_out} || '') =" in sql
    assert f"task_runs.{walked} = " in sql


def test_default_list_is_newest_first(session: Session, service: TaskRunsReadService) -> None:
    old = add_run(session, started_at=NOW - timedelta(days=1))
    new = add_run(session, started_at=NOW)
    session.commit()

    result = service.list_runs()

    assert [run.id for run in result.items] == [new.id, old.id]
    assert result.page == 1
    assert result.limit == 20


def test_total_and_pages_count_all_matches(session: Session,
                                           service: TaskRunsReadService) -> None:
    _mixed_runs(session)

    result = service.list_runs(limit=5)

    assert result.total == 13
    assert result.pages == 3
    assert len(result.items) == 5
    assert result.next_cursor is not None


def test_total_capped_beyond_cap(session: Session) -> None:
    _mixed_runs(session)
    capped = TaskRunsReadService(session, cursor_secret="test-secret", total_cap=10)

    first = capped.list_runs(limit=5)
    second = capped.list_runs(limit=5, cursor=first.next_cursor)
    exact = capped.list_runs(limit=5, exact_total=True)
    within = capped.list_runs(RunFilter(status=["failed"]), limit=5)

    assert (first.total, first.total_exact, first.pages) == (10, False, 2)
    assert (second.total, second.total_exact) == (10, False)
    assert (exact.total, exact.total_exact, exact.pages) == (13, True, 3)
    assert (within.total, within.total_exact) == (3, True)
    assert capped.count_runs() == 13


def test_last_page_has_no_cursor(session: Session, service: TaskRunsReadService) -> None:
    _mixed_runs(session)

    result = service.list_runs(limit=5, page=3)

    assert len(result.items) == 3
    assert result.next_cursor is None


def test_page_past_end_is_empty(session: Session, service: TaskRunsReadService) -> None:
    _mixed_runs(session)

    result = service.list_runs(limit=5, page=9)

    assert result.items == []
    assert result.total == 13


@pytest.mark.parametrize(("run_filter", "page"), [
    (RunFilter(task_key=["no_such_task"]), 1),
    (RunFilter(), 9),
])
def test_empty_page_skips_rows_query(
    session: Session, service: TaskRunsReadService, run_filter: RunFilter, page: int
) -> None:
    """An exact count at or below the offset is enough to return the empty page."""
    from sqlalchemy import event

    _mixed_runs(session)
    statements: list[str] = []

    def record(_connection: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        result = service.list_runs(run_filter, limit=5, page=page)
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert result.items == []
    assert result.total_exact is True
    selects = [sql for sql in statements if sql.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1
    assert "count(*)" in selects[0]


def test_empty_table_has_zero_pages(service: TaskRunsReadService) -> None:
    result = service.list_runs()

    assert result.items == []
    assert result.total == 0
    assert result.pages == 0
    assert result.next_cursor is None


@pytest.mark.parametrize(
    ("arguments", "parameter"),
    [
        ({"sort": "id; DROP TABLE task_runs"}, "sort"),
        ({"sort": "created_at"}, "sort"),
        ({"order": "sideways"}, "order"),
        ({"limit": 101}, "limit"),
        ({"limit": 0}, "limit"),
        ({"page": 0}, "page"),
        ({"page": True}, "page"),
    ],
)
def test_invalid_list_parameter_is_named(service: TaskRunsReadService,
                                         arguments: dict[str, object], parameter: str) -> None:
    with pytest.raises(InvalidQueryError) as caught:
        service.list_runs(**arguments)  # type: ignore[arg-type]

    assert caught.value.parameter == parameter


def test_cursor_with_page_is_rejected(session: Session, service: TaskRunsReadService) -> None:
    _mixed_runs(session)
    cursor = service.list_runs(limit=2).next_cursor

    with pytest.raises(InvalidQueryError) as caught:
        service.list_runs(limit=2, page=2, cursor=cursor)

    assert caught.value.parameter == "page"


def test_tampered_cursor_is_rejected(session: Session, service: TaskRunsReadService) -> None:
    _mixed_runs(session)
    cursor = service.list_runs(limit=2).next_cursor
    assert cursor is not None
    body, tag = cursor.split(".")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]

    for bad in (flipped + "." + tag, cursor[:-3], "not-a-cursor", cursor + "x", "é.é"):
        with pytest.raises(InvalidQueryError) as caught:
            service.list_runs(limit=2, cursor=bad)
        assert caught.value.parameter == "cursor"


def test_cursor_from_other_secret_is_rejected(session: Session,
                                              service: TaskRunsReadService) -> None:
    _mixed_runs(session)
    cursor = service.list_runs(limit=2).next_cursor
    other = TaskRunsReadService(session, cursor_secret="another-secret")

    with pytest.raises(InvalidQueryError) as caught:
        other.list_runs(limit=2, cursor=cursor)

    assert caught.value.parameter == "cursor"


def test_cursor_with_other_filter_or_sort_is_rejected(session: Session,
                                                      service: TaskRunsReadService) -> None:
    _mixed_runs(session)
    cursor = service.list_runs(limit=2).next_cursor

    with pytest.raises(InvalidQueryError, match="another filter"):
        service.list_runs(RunFilter(status=["failed"]), limit=2, cursor=cursor)
    with pytest.raises(InvalidQueryError, match="sort=started_at"):
        service.list_runs(sort="duration", limit=2, cursor=cursor)


def test_cursor_with_other_limit_is_rejected(session: Session,
                                             service: TaskRunsReadService) -> None:
    _mixed_runs(session)
    cursor = service.list_runs(limit=2).next_cursor

    with pytest.raises(InvalidQueryError, match="limit=2") as caught:
        service.list_runs(limit=3, cursor=cursor)

    assert caught.value.parameter == "cursor"


def test_cursor_ignores_order_of_filter_values(session: Session,
                                               service: TaskRunsReadService) -> None:
    _mixed_runs(session)
    first = service.list_runs(RunFilter(status=["failed", "completed"]), limit=2)

    second = service.list_runs(RunFilter(status=["completed", "failed"]), limit=2,
                               cursor=first.next_cursor)

    assert second.page == 2
    assert {run.id for run in first.items}.isdisjoint(run.id for run in second.items)


def _forged(fields: dict[str, object], secret: str = "test-secret") -> str:
    """Sign a cursor body as the service would, with ``fields`` replacing valid values."""
    import base64
    import json

    from taskrun_center.lifecycle.cursor import CURSOR_VERSION, _tag, cursor_key

    payload = {"v": CURSOR_VERSION, "s": "started_at", "o": "desc",
               "k": "2026-01-01T00:00:00+00:00", "i": 5, "f": RunFilter().fingerprint(),
               "p": 2, "l": 2, "t": 13, "x": True, **fields}
    body = json.dumps(payload).encode()
    tag = _tag(cursor_key(secret), body)

    def encoded(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return encoded(body) + "." + encoded(tag)


@pytest.mark.parametrize("fields", [
    {"i": 2**64},
    {"t": 2**63},
    {"p": 10**30},
    {"k": "9999-12-31T23:59:59-01:00"},
    {"k": "0001-01-01T00:00:00+01:00"},
    {"k": 2**64, "s": "duration"},
    {"k": "task\x00key", "s": "task_key"},
    {"k": "\ud800", "s": "task_key"},
])
def test_forged_cursor_out_of_range_is_rejected(session: Session,
                                                service: TaskRunsReadService,
                                                fields: dict[str, object]) -> None:
    _mixed_runs(session)
    sort = str(fields.get("s", "started_at"))
    valid = service.list_runs(limit=2, cursor=_forged({}))

    with pytest.raises(InvalidQueryError) as caught:
        service.list_runs(sort=sort, limit=2, cursor=_forged(fields))

    assert valid.page == 2
    assert caught.value.parameter == "cursor"


@pytest.mark.parametrize("fields", [{"s": "\ud800"}, {"s": "\x1b[31mred"}, {"o": "up" * 30}])
def test_forged_cursor_sort_is_not_quoted(session: Session, service: TaskRunsReadService,
                                          fields: dict[str, object]) -> None:
    _mixed_runs(session)

    with pytest.raises(InvalidQueryError) as caught:
        service.list_runs(limit=2, cursor=_forged(fields))

    message = caught.value.reason_text.en if caught.value.reason_text else str(caught.value)
    # A lone surrogate already fails as JSON; the others reach the sort check.
    assert "another sort" in message or "not JSON" in message
    assert "\x1b" not in str(caught.value)
    assert "\ud800" not in str(caught.value)


def test_deeply_nested_cursor_is_rejected(session: Session,
                                          service: TaskRunsReadService) -> None:
    import base64

    from taskrun_center.lifecycle.cursor import _tag, cursor_key

    body = b"[" * 1500
    cursor = (base64.urlsafe_b64encode(body).rstrip(b"=").decode() + "."
              + base64.urlsafe_b64encode(_tag(cursor_key("test-secret"), body))
              .rstrip(b"=").decode())

    with pytest.raises(InvalidQueryError) as caught:
        service.list_runs(limit=2, cursor=cursor)

    assert caught.value.parameter == "cursor"


def test_filter_by_several_task_keys(session: Session, service: TaskRunsReadService) -> None:
    _mixed_runs(session)

    result = service.list_runs(RunFilter(task_key=["backup_db", "audit_rules"]))

    assert result.total == 6
    assert {run.task_key for run in result.items} == {"backup_db", "audit_rules"}


def test_filter_accepts_comma_separated_values(session: Session,
                                               service: TaskRunsReadService) -> None:
    _mixed_runs(session)

    run_filter = RunFilter(status="failed, cancelled")

    assert run_filter.status == ["failed", "cancelled"]
    assert service.count_runs(run_filter) == 6


def test_filter_by_status_category_and_trigger(session: Session,
                                               service: TaskRunsReadService) -> None:
    add_run(session, status="failed", task_category="backup", trigger_source="manual")
    add_run(session, status="failed", task_category="backup", trigger_source="api")
    add_run(session, status="completed", task_category="backup", trigger_source="manual")
    add_run(session, status="failed", task_category="sync", trigger_source="manual")
    session.commit()

    run_filter = RunFilter(status=["failed"], task_category=["backup"], trigger_source=["manual"])

    assert service.count_runs(run_filter) == 1


def test_filter_by_skipped(session: Session, service: TaskRunsReadService) -> None:
    skipped = add_run(session, skipped=True)
    add_run(session)
    session.commit()

    assert [run.id for run in service.list_runs(RunFilter(skipped=True)).items] == [skipped.id]
    assert service.count_runs(RunFilter(skipped=False)) == 1


def test_started_range_is_half_open(session: Session, service: TaskRunsReadService) -> None:
    for hours in range(5):
        add_run(session, started_at=NOW + timedelta(hours=hours))
    add_run(session, status="pending", started_at=None)
    session.commit()

    run_filter = RunFilter(started_from=NOW + timedelta(hours=1),
                           started_to=NOW + timedelta(hours=3))

    assert service.count_runs(run_filter) == 2


def test_naive_range_bounds_are_utc(session: Session, service: TaskRunsReadService) -> None:
    add_run(session, started_at=NOW)
    session.commit()

    naive = NOW.replace(tzinfo=None)
    run_filter = RunFilter(started_from=naive, started_to=naive + timedelta(seconds=1))

    assert service.count_runs(run_filter) == 1


def test_range_ending_before_start_is_rejected(service: TaskRunsReadService) -> None:
    run_filter = RunFilter(started_from=NOW, started_to=NOW - timedelta(days=1))

    with pytest.raises(InvalidQueryError) as caught:
        service.list_runs(run_filter)

    assert caught.value.parameter == "started_to"


def test_search_matches_run_id_and_name(session: Session, service: TaskRunsReadService) -> None:
    by_id = add_run(session, run_id="0f6d2c8e-aaaa-4bbb-8ccc-000000000001")
    by_name = add_run(session, task_name="Nightly Backup of Orders")
    add_run(session, task_name="Sync accounts")
    session.commit()

    assert [run.id for run in service.list_runs(RunFilter(search="AAAA-4bbb")).items] == [
        by_id.id
    ]
    assert [run.id for run in service.list_runs(RunFilter(search="backup of")).items] == [
        by_name.id
    ]


def test_search_wildcards_match_literally(session: Session,
                                          service: TaskRunsReadService) -> None:
    literal = add_run(session, task_name="Load 100% of rows")
    add_run(session, task_name="Load 1000 rows")
    session.commit()

    assert [run.id for run in service.list_runs(RunFilter(search="100%")).items] == [literal.id]
    assert service.count_runs(RunFilter(search="_")) == 0


def test_search_escape_character_is_literal(session: Session,
                                            service: TaskRunsReadService) -> None:
    slashed = add_run(session, task_name="Copy a/b to c")
    add_run(session, task_name="Copy ab to c")
    session.commit()

    assert [run.id for run in service.list_runs(RunFilter(search="a/b")).items] == [slashed.id]
    assert service.count_runs(RunFilter(search="a/")) == 1


def test_cached_statement_serves_other_values(
    session: Session, service: TaskRunsReadService
) -> None:
    """Filters of one shape share a statement; each call still matches its own values."""
    from taskrun_center.lifecycle import run_order

    runs = _mixed_runs(session)
    for task_key in ("sync_accounts", "backup_db", "audit_rules"):
        listed = service.list_runs(RunFilter(task_key=[task_key]), limit=2)
        expected = _expected_order([run for run in runs if run.task_key == task_key],
                                   "started_at", descending=True)
        following = service.list_runs(RunFilter(task_key=[task_key]), limit=2,
                                      cursor=listed.next_cursor)

        assert [run.id for run in listed.items + following.items] == expected[:4]
    hits_before = run_order._rows_statement.cache_info().hits

    service.list_runs(RunFilter(task_key=["sync_accounts"]), limit=2)

    assert run_order._rows_statement.cache_info().hits > hits_before


def test_single_and_many_values_filter(session: Session, service: TaskRunsReadService) -> None:
    runs = _mixed_runs(session)
    failed = {run.id for run in runs if run.status == "failed"}
    finished = {run.id for run in runs if run.status in ("failed", "cancelled")}

    single = service.list_runs(RunFilter(status=["failed"]), limit=100)
    many = service.list_runs(RunFilter(status=["failed", "cancelled"]), limit=100)

    assert {run.id for run in single.items} == failed
    assert {run.id for run in many.items} == finished


def test_list_rows_carry_every_column(session: Session, service: TaskRunsReadService) -> None:
    """A list row has the attributes and values of the stored run, timestamps aware in UTC."""
    from taskrun_center.storage.rows import RunRow

    stored = add_run(session, status="completed", started_at=NOW - timedelta(minutes=5),
                     duration=timedelta(seconds=90))
    session.commit()
    session.expire_all()

    row = service.list_runs().items[0]
    run = service.get_run(stored.run_id)

    assert RunRow._fields == tuple(column.key for column in TaskRun.__table__.columns)
    assert row == RunRow(*(getattr(run, field) for field in RunRow._fields))
    assert row.started_at is not None and row.started_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("raw", "parameter"),
    [
        ({"status": ["finished"]}, "status"),
        ({"trigger_source": ["cron"]}, "trigger_source"),
        ({"search": "x" * 256}, "search"),
        ({"task_key": [f"key{n}" for n in range(101)]}, "task_key"),
    ],
)
def test_invalid_filter_value_is_named(service: TaskRunsReadService, raw: dict[str, object],
                                       parameter: str) -> None:
    with pytest.raises(InvalidQueryError) as caught:
        service.list_runs(RunFilter(**raw))  # type: ignore[arg-type]

    assert caught.value.parameter == parameter


def test_from_params_names_bad_field() -> None:
    with pytest.raises(InvalidQueryError) as caught:
        RunFilter.from_params(started_from="yesterday-ish")

    assert caught.value.parameter == "started_from"


def test_get_run_returns_run(session: Session, service: TaskRunsReadService) -> None:
    run = add_run(session)
    session.commit()

    assert service.get_run(run.run_id).id == run.id


def test_get_unknown_run_raises(service: TaskRunsReadService) -> None:
    with pytest.raises(RunNotFoundError) as caught:
        service.get_run("00000000-0000-4000-8000-000000000000")

    assert caught.value.run_id == "00000000-0000-4000-8000-000000000000"


def test_items_page_by_status(session: Session, service: TaskRunsReadService) -> None:
    run = add_run(session)
    add_items(session, run, ["completed", "failed", "completed", "cancelled", "completed"])
    session.commit()

    completed = service.list_items(run.run_id, status="completed", limit=2)
    second = service.list_items(run.run_id, status="completed", limit=2, page=2)
    two_kinds = service.list_items(run.run_id, status=["failed", "cancelled"])

    assert [item.item_key for item in completed.items] == ["item-0", "item-2"]
    assert [item.item_key for item in second.items] == ["item-4"]
    assert completed.total == 3
    assert completed.pages == 2
    assert [item.item_key for item in two_kinds.items] == ["item-1", "item-3"]


def test_items_of_unknown_run_raise(service: TaskRunsReadService) -> None:
    with pytest.raises(RunNotFoundError):
        service.list_items("00000000-0000-4000-8000-000000000000")


def test_items_with_unknown_status_raise(session: Session,
                                         service: TaskRunsReadService) -> None:
    run = add_run(session)
    session.commit()

    with pytest.raises(InvalidQueryError) as caught:
        service.list_items(run.run_id, status="completed_with_errors")

    assert caught.value.parameter == "status"


def test_error_logs_list_failed_items(session: Session, service: TaskRunsReadService) -> None:
    run = add_run(session, status="failed")
    add_items(session, run, ["completed", "failed", "failed", "cancelled"],
              error_message="timeout after 30 s")
    session.commit()

    logs = service.error_logs(run.run_id)

    assert logs.run.id == run.id
    assert logs.error_count == 2
    assert [item.item_key for item in logs.items] == ["item-1", "item-2"]
    assert {item.error_message for item in logs.items} == {"timeout after 30 s"}


def test_error_logs_cap_items_not_count(session: Session,
                                        service: TaskRunsReadService) -> None:
    run = add_run(session, status="failed")
    add_items(session, run, ["failed"] * 5)
    session.commit()

    logs = service.error_logs(run.run_id, limit=2)

    assert len(logs.items) == 2
    assert logs.error_count == 5


def test_error_logs_of_unknown_run_raise(service: TaskRunsReadService) -> None:
    with pytest.raises(RunNotFoundError):
        service.error_logs("missing")


def test_task_key_filter_hides_category() -> None:
    """A category beside a task key is hidden from SQLite's index choice only."""
    from sqlalchemy import select
    from sqlalchemy.dialects import postgresql, sqlite

    from taskrun_center.lifecycle.run_filter import RunFilter, bind_filter, shape_conditions
    from taskrun_center.storage.models import TaskRun

    bound = bind_filter(RunFilter(task_key=["a"], task_category=["etl"],
                                  trigger_source=["manual"], status=["failed", "cancelled"]))
    statement = select(TaskRun.id).where(*shape_conditions(bound.shape))

    sqlite_sql = str(statement.compile(dialect=sqlite.dialect()))
    postgres_sql = str(statement.compile(dialect=postgresql.dialect()))
    assert "+task_runs.task_category" in sqlite_sql
    # (task_key, status, id) serves a task key with statuses.
    assert "+task_runs.status" not in sqlite_sql
    assert "+task_runs.task_key" not in sqlite_sql
    assert "+task_runs.trigger_source" not in sqlite_sql
    assert "+task_runs" not in postgres_sql
    assert "task_runs.task_category" in postgres_sql


def test_many_values_by_task_key(sqlite_url: str) -> None:
    """Beyond the branch limit the values are common enough for the walk to meet them soon."""
    run_filter = RunFilter(task_category=[f"cat_{index}" for index in range(21)])

    plan = _sqlite_page_plan(sqlite_url, run_filter, "task_key", many=True)

    assert "ix_task_runs_task_key_id" in plan
    assert "UNION ALL" not in plan
