"""A category with a trigger source: the side with fewer runs leads SQLite's choice of index."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from taskrun_center.lifecycle import filter_lead
from taskrun_center.lifecycle.filter_lead import lead_by_counts
from taskrun_center.lifecycle.read_service import TaskRunsReadService
from taskrun_center.lifecycle.run_filter import BoundFilter, RunFilter, bind_filter
from taskrun_center.lifecycle.run_order import _count_statement
from taskrun_center.storage.engine import Database
from tests.maintenance.rows import NOW, add_run


def _add_runs(session: Session, count: int, *, category: str, trigger: str,
              status: str = "completed") -> None:
    for index in range(count):
        add_run(session, task_key=f"{category}_task", task_category=category,
                trigger_source=trigger, status=status,
                started_at=NOW - timedelta(minutes=index))


@pytest.fixture
def sqlite_session(sqlite_url: str) -> Session:
    database = Database(sqlite_url)
    session = database.session()
    # A rare category whose runs are all scheduled, among many scheduled runs of another one,
    # and a few runs people started of the common category.
    _add_runs(session, 3, category="billing", trigger="scheduled")
    _add_runs(session, 40, category="etl", trigger="scheduled")
    _add_runs(session, 6, category="etl", trigger="manual")
    session.commit()
    yield session
    session.close()
    database.dispose()


def _led(session: Session, run_filter: RunFilter) -> BoundFilter:
    return lead_by_counts(session.connection(), bind_filter(run_filter))


@pytest.mark.parametrize(("run_filter", "outranked"), [
    (RunFilter(task_category=["billing"], trigger_source=["scheduled"]), "trigger_source"),
    (RunFilter(task_category=["etl"], trigger_source=["manual"]), "task_category"),
    (RunFilter(task_category=["billing"], trigger_source=["scheduled", "api"]), "trigger_source"),
    (RunFilter(task_category=["etl"], trigger_source=["manual"], status=["completed"]),
     "task_category"),
], ids=["rare category", "rare trigger", "several triggers", "with a status"])
def test_side_with_more_runs_is_outranked(sqlite_session: Session, run_filter: RunFilter,
                                          outranked: str) -> None:
    assert _led(sqlite_session, run_filter).shape.outranked == (outranked,)


@pytest.mark.parametrize("run_filter", [
    RunFilter(task_category=["billing"]),
    RunFilter(trigger_source=["scheduled"], status=["completed"]),
    RunFilter(task_key=["billing_task"], task_category=["billing"], trigger_source=["scheduled"]),
], ids=["one side", "trigger and status", "task key"])
def test_other_shapes_are_left_alone(sqlite_session: Session, run_filter: RunFilter) -> None:
    assert _led(sqlite_session, run_filter) == bind_filter(run_filter)


def test_equal_sides_are_left_alone(sqlite_session: Session) -> None:
    # etl has 46 runs, the scheduled runs are 43: equal once both reach a cap of 10.
    run_filter = RunFilter(task_category=["etl"], trigger_source=["scheduled"])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(filter_lead, "LEAD_COUNT_CAPS", (10,))
        led = _led(sqlite_session, run_filter)

    assert led.shape.outranked == ()


def test_second_cap_tells_sides_apart(sqlite_session: Session) -> None:
    """Both sides reach the first cap; the second one shows which has fewer runs."""
    run_filter = RunFilter(task_category=["etl"], trigger_source=["manual", "scheduled"])
    add_run(sqlite_session, task_category="cleanup", trigger_source="manual")
    add_run(sqlite_session, task_category="cleanup", trigger_source="manual")
    sqlite_session.commit()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(filter_lead, "LEAD_COUNT_CAPS", (10, 1000))
        led = _led(sqlite_session, run_filter)

    # etl: 46 runs; manual or scheduled: 51.
    assert led.shape.outranked == ("trigger_source",)


def test_count_reads_the_rare_category(sqlite_session: Session) -> None:
    run_filter = RunFilter(task_category=["billing"], trigger_source=["scheduled"])
    led = _led(sqlite_session, run_filter)
    statement = _count_statement(led.shape, capped=True).params(**led.params, cap=1001)
    connection = sqlite_session.connection()
    sql = statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})

    plan = " ".join(str(row[-1]) for row in connection.execute(text(f"EXPLAIN QUERY PLAN {sql}")))

    assert "ix_task_runs_category" in plan
    assert "ix_task_runs_trigger" not in plan


@pytest.mark.parametrize("sort", ["started_at", "duration", "status", "task_key"])
def test_pages_are_unchanged(sqlite_session: Session, sort: str) -> None:
    """The lead changes how rows are found, never which: every page matches a Python filter."""
    service = TaskRunsReadService(sqlite_session, cursor_secret="test-secret")
    for run_filter in (RunFilter(task_category=["billing"], trigger_source=["scheduled"]),
                       RunFilter(task_category=["etl"], trigger_source=["manual"])):
        seen = []
        result = service.list_runs(run_filter, sort=sort, limit=4)
        seen += [run.run_id for run in result.items]
        while result.next_cursor:
            result = service.list_runs(run_filter, sort=sort, limit=4, cursor=result.next_cursor)
            seen += [run.run_id for run in result.items]

        expected = sqlite_session.execute(
            text("SELECT run_id FROM task_runs WHERE task_category = :category "
                 "AND trigger_source = :trigger"),
            {"category": run_filter.task_category[0], "trigger": run_filter.trigger_source[0]},
        ).scalars().all()
        assert sorted(seen) == sorted(expected)
        assert len(seen) == len(set(seen))


def test_postgres_chooses_by_itself(postgres_url: str) -> None:
    database = Database(postgres_url)
    try:
        with database.session() as session:
            _add_runs(session, 3, category="billing", trigger="scheduled")
            session.commit()
            bound = bind_filter(RunFilter(task_category=["billing"],
                                          trigger_source=["scheduled"]))
            assert lead_by_counts(session.connection(), bound) == bound
    finally:
        database.dispose()
