"""Random filters, sorts and page sizes against a reference in Python, on both databases.

The read service picks a different statement for many shapes of query: branches per value, a
walk of one filter's index, hidden filters, a count cap that decides between them. Each must
return the same rows in the same order as the plain rule: filter, sort by the column with ties
broken by id in the same direction, rows without a value last.
"""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy.orm import Session

from taskrun_center.lifecycle.read_service import SORT_FIELDS, RunFilter, TaskRunsReadService
from taskrun_center.storage.models import TaskRun
from tests.lifecycle.paging import both_pagings
from tests.maintenance.rows import NOW, add_run

TASKS = {
    "backup_db": ("storage", "scheduled"),
    "sync_accounts": ("sync", "scheduled"),
    "sync_rules": ("sync", "api"),
    "audit_rules": ("audit", "manual"),
    "rebuild_index": ("storage", "cli"),
    "export_report": ("reports", "celery"),
}
STATUSES = ("completed", "completed", "failed", "completed_with_errors", "cancelled",
            "running", "pending")
# Each list field offers its stored values and one that no run has.
CHOICES = {
    "task_key": [*TASKS, "never_ran"],
    "task_category": ["storage", "sync", "audit", "reports", "empty"],
    "trigger_source": ["scheduled", "api", "manual", "cli", "celery"],
    "status": [*dict.fromkeys(STATUSES)],
}
TIMES = [NOW - timedelta(minutes=minutes) for minutes in (0, 7, 15, 30, 61)]
COLUMN_OF = {"duration": "duration_ms"}


def _add_runs(session: Session) -> list[TaskRun]:
    """Add 90 runs whose category and, mostly, trigger source follow the task, as in practice."""
    chooser = random.Random(20261205)
    runs = []
    for _ in range(90):
        task_key = chooser.choice(list(TASKS))
        category, trigger = TASKS[task_key]
        if chooser.random() < 0.2:
            trigger = chooser.choice(CHOICES["trigger_source"])
        status = chooser.choice(STATUSES)
        started = None if status == "pending" else NOW - timedelta(minutes=chooser.randrange(60))
        runs.append(add_run(
            session, task_key=task_key, task_category=category, trigger_source=trigger,
            status=status, started_at=started,
            # Few distinct durations and start times, so that ties need the id rule.
            duration=timedelta(seconds=chooser.randrange(6)),
            skipped=chooser.random() < 0.15,
        ))
    session.commit()
    return runs


def _matches(run: TaskRun, run_filter: RunFilter) -> bool:
    lists = all(not getattr(run_filter, field) or getattr(run, field) in getattr(run_filter, field)
                for field in CHOICES)
    skipped = run_filter.skipped is None or run.is_skipped == run_filter.skipped
    return lists and skipped and _in_range(run, run_filter) and _found(run, run_filter)


def _in_range(run: TaskRun, run_filter: RunFilter) -> bool:
    start, end = run_filter.started_from, run_filter.started_to
    if start is None and end is None:
        return True
    if run.started_at is None:
        return False
    return (start is None or run.started_at >= start) and (end is None or run.started_at < end)


def _found(run: TaskRun, run_filter: RunFilter) -> bool:
    if not run_filter.search:
        return True
    needle = run_filter.search.lower()
    return needle in run.run_id.lower() or needle in run.task_name.lower()


def _expected(runs: list[TaskRun], run_filter: RunFilter, sort: str, order: str) -> list[int]:
    column = COLUMN_OF.get(sort, sort)
    matching = [run for run in runs if _matches(run, run_filter)]
    with_value = [run for run in matching if getattr(run, column) is not None]
    without = [run for run in matching if getattr(run, column) is None]
    with_value.sort(key=lambda run: (getattr(run, column), run.id), reverse=order == "desc")
    without.sort(key=lambda run: run.id, reverse=order == "desc")
    return [run.id for run in with_value + without]


def _random_filter(chooser: random.Random, runs: list[TaskRun]) -> RunFilter:
    """Draw a filter that sets each field with a fixed chance, so most filters match runs.

    Searches are words of task names, a text no run has, and a run_id whole (in capitals),
    its first group or a middle group.
    """
    lists = {
        field: chooser.sample(values, chooser.randint(1, 3)) if chooser.random() < 0.35 else []
        for field, values in CHOICES.items()
    }
    times = [chooser.choice(TIMES) if chooser.random() < 0.2 else None for _ in range(2)]
    if None not in times:
        times.sort()
    return RunFilter(
        **lists,
        skipped=chooser.choice([True, False]) if chooser.random() < 0.2 else None,
        started_from=times[0],
        started_to=times[1],
        search=chooser.choice(_searches(chooser.choice(runs).run_id))
        if chooser.random() < 0.2 else None,
    )


def _searches(run_id: str) -> list[str]:
    return ["sync", "RULES", "e", "zz", run_id.upper(), run_id[:8], run_id[9:13]]


QUERIES = 250


def test_random_queries_match_reference(session: Session) -> None:
    """Cursor pages and numbered pages both list the reference's rows in its order."""
    runs = _add_runs(session)
    chooser = random.Random(1205)
    services = {cap: TaskRunsReadService(session, cursor_secret="test-secret", total_cap=cap)
                for cap in (2, 5, 1000)}
    many = 0

    for _ in range(QUERIES):
        run_filter = _random_filter(chooser, runs)
        sort, order = chooser.choice(SORT_FIELDS), chooser.choice(["asc", "desc"])
        cap, limit = chooser.choice(list(services)), chooser.choice([2, 3, 7, 100])
        expected = _expected(runs, run_filter, sort, order)
        query = f"{run_filter!r} sort={sort} {order} cap={cap} limit={limit}"

        by_cursor, by_offset, _ = both_pagings(services[cap], run_filter, sort, order,
                                               limit=limit)

        assert by_cursor == expected, query
        assert by_offset == expected, query
        assert services[cap].count_runs(run_filter) == len(expected), query
        many += len(expected) > cap

    # Many queries take the plans for many matches, which this test is about.
    assert many > QUERIES // 3
