"""Retention purge and full wipe on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from taskrun_center.errors import ConfigurationError
from taskrun_center.lifecycle.write_service import ItemSpec, TaskRunsWriteService
from taskrun_center.maintenance.purge import PurgeError, PurgeProgress, purge_runs, wipe_all_runs
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun, TaskRunItem
from tests.factories import make_run
from tests.maintenance.rows import NOW

OLD = NOW - timedelta(days=40)
YOUNG = NOW - timedelta(days=2)
THIRTY_DAYS = timedelta(days=30)


def finished_run(database: Database, completed_at: datetime, *, task_key: str = "backup_db",
                 status: str = "completed", items: int = 0,
                 started_at: datetime | None = None) -> TaskRun:
    """Record a finished run through the write service, then date it ``completed_at``."""
    return make_run(database, task_key=task_key, status=status,
                    items={"completed": items} if items else None,
                    started_at=started_at or completed_at - timedelta(minutes=5),
                    completed_at=completed_at)


def _run_ids(database: Database) -> set[str]:
    with database.session() as session:
        return set(session.scalars(select(TaskRun.run_id)))


def _item_count(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(TaskRunItem)) or 0)


def test_purge_deletes_old_runs_with_items(database: Database) -> None:
    old = make_run(database, status="failed", items={"completed": 2, "failed": 1},
                   started_at=OLD - timedelta(minutes=5), completed_at=OLD)
    young = finished_run(database, YOUNG, items=1)

    result = purge_runs(database, older_than=THIRTY_DAYS, keep_last=0, now=NOW)

    assert result.runs == 1
    assert result.items == 3
    assert _run_ids(database) == {young.run_id}
    assert old.run_id not in _run_ids(database)
    assert _item_count(database) == 1


def test_purge_never_touches_unfinished_runs(database: Database) -> None:
    running = make_run(database, status="running", items={"running": 1, "completed": 1},
                       started_at=OLD - timedelta(days=100), heartbeat_at=OLD)
    pending = make_run(database, status="pending", started_at=OLD - timedelta(days=100))
    finished = finished_run(database, OLD)

    result = purge_runs(database, older_than=timedelta(days=1), keep_last=0, now=NOW)

    assert result.runs == 1
    assert _run_ids(database) == {running.run_id, pending.run_id}
    assert finished.run_id not in _run_ids(database)
    assert _item_count(database) == 2


def test_purge_selects_by_completion_time(database: Database) -> None:
    long_run = finished_run(database, YOUNG, started_at=OLD)
    finished_run(database, OLD + timedelta(hours=1), started_at=OLD)

    result = purge_runs(database, older_than=THIRTY_DAYS, keep_last=0, now=NOW)

    assert result.runs == 1
    assert _run_ids(database) == {long_run.run_id}


def test_keep_last_keeps_newest_per_task_key(database: Database) -> None:
    rare = [finished_run(database, OLD - timedelta(days=day), task_key="rare_task")
            for day in range(3)]
    frequent = [finished_run(database, OLD - timedelta(days=day), task_key="frequent_task")
                for day in range(5)]

    result = purge_runs(database, older_than=THIRTY_DAYS, keep_last=2, now=NOW)

    remaining = _run_ids(database)
    assert remaining == {rare[0].run_id, rare[1].run_id, frequent[0].run_id, frequent[1].run_id}
    assert result.runs == 4
    assert result.kept_runs == 4


def test_keep_last_counts_young_runs(database: Database) -> None:
    finished_run(database, YOUNG, task_key="daily")
    newest_old = finished_run(database, OLD, task_key="daily")
    finished_run(database, OLD - timedelta(days=1), task_key="daily")

    purge_runs(database, older_than=THIRTY_DAYS, keep_last=2, now=NOW)

    assert newest_old.run_id in _run_ids(database)
    assert len(_run_ids(database)) == 2


def test_dry_run_counts_what_purge_deletes(database: Database) -> None:
    for index in range(12):
        finished_run(database, OLD - timedelta(hours=index), task_key=f"task_{index % 3}",
                     status=("completed", "failed", "cancelled")[index % 3], items=index % 4)
    make_run(database, status="running", started_at=OLD)

    dry = purge_runs(database, older_than=THIRTY_DAYS, keep_last=1, dry_run=True, now=NOW,
                     batch_size=5)
    before = _run_ids(database)
    real = purge_runs(database, older_than=THIRTY_DAYS, keep_last=1, now=NOW, batch_size=5)

    assert len(before) == 13
    assert dry.dry_run is True
    assert (dry.runs, dry.items) == (real.runs, real.items)
    assert real.runs == 9
    assert len(_run_ids(database)) == 4


def test_purge_filters_by_status_and_task_key(database: Database) -> None:
    target = finished_run(database, OLD, task_key="backup", status="failed")
    finished_run(database, OLD, task_key="backup", status="completed")
    finished_run(database, OLD, task_key="sync", status="failed")

    result = purge_runs(database, older_than=THIRTY_DAYS, statuses=["failed"],
                        task_keys=["backup"], keep_last=0, now=NOW)

    assert result.runs == 1
    assert target.run_id not in _run_ids(database)
    assert len(_run_ids(database)) == 2


@pytest.mark.parametrize("status", ["running", "pending", "done"])
def test_purge_rejects_unfinished_status(database: Database, status: str) -> None:
    with pytest.raises(ConfigurationError, match=status):
        purge_runs(database, older_than=THIRTY_DAYS, statuses=[status])


def test_purge_works_in_small_batches(database: Database) -> None:
    for index in range(10):
        finished_run(database, OLD - timedelta(minutes=index), items=2)
    progress: list[PurgeProgress] = []

    result = purge_runs(database, older_than=THIRTY_DAYS, keep_last=0, batch_size=3, now=NOW,
                        on_progress=progress.append)

    assert result.runs == 10
    assert result.items == 20
    assert result.batches >= 4
    assert [event.runs for event in progress][-1] == 10
    assert {event.planned_runs for event in progress} == {10}
    assert _run_ids(database) == set()


def _block_deletes_of(database: Database, task_key: str) -> None:
    """Install a trigger that makes deleting runs of ``task_key`` fail."""
    with database.transaction() as session:
        if database.is_sqlite:
            session.execute(text(
                "CREATE TRIGGER block_delete BEFORE DELETE ON task_runs "
                f"WHEN OLD.task_key = '{task_key}' BEGIN SELECT RAISE(ABORT, 'blocked'); END"
            ))
            return
        session.execute(text(
            "CREATE FUNCTION block_delete() RETURNS trigger AS $$ BEGIN "
            f"IF OLD.task_key = '{task_key}' THEN RAISE EXCEPTION 'blocked'; END IF; "
            "RETURN OLD; END $$ LANGUAGE plpgsql"
        ))
        session.execute(text(
            "CREATE TRIGGER block_delete BEFORE DELETE ON task_runs "
            "FOR EACH ROW EXECUTE FUNCTION block_delete()"
        ))


def test_failed_batch_rolls_back_and_raises(database: Database) -> None:
    finished_run(database, OLD, task_key="fine", items=1)
    blocked = finished_run(database, OLD, task_key="blocked", items=2)
    _block_deletes_of(database, "blocked")

    with pytest.raises(PurgeError) as caught:
        purge_runs(database, older_than=THIRTY_DAYS, keep_last=0, batch_size=1, now=NOW)

    assert caught.value.result.runs == 1
    assert caught.value.batch == 2
    assert _run_ids(database) == {blocked.run_id}
    # The items of the failed batch were deleted first, then rolled back with the batch.
    assert _item_count(database) == 2


def test_wipe_deletes_every_run(database: Database) -> None:
    make_run(database, status="running", items={"running": 1, "pending": 1})
    make_run(database, status="pending")
    finished_run(database, YOUNG)

    result = wipe_all_runs(database, batch_size=2)

    assert result.runs == 3
    assert result.items == 2
    assert _run_ids(database) == set()
    assert _item_count(database) == 0


def test_wipe_dry_run_deletes_nothing(database: Database) -> None:
    make_run(database, status="running")
    finished_run(database, YOUNG)

    result = wipe_all_runs(database, dry_run=True)

    assert result.runs == 2
    assert len(_run_ids(database)) == 2


def test_purge_result_as_json() -> None:
    from taskrun_center.maintenance.purge import PurgeResult

    payload = PurgeResult(runs=3, items=7, batches=1, duration_seconds=0.12345,
                          cutoff=NOW).to_dict()

    assert payload["counts"] == {"task_runs": 3, "task_run_items": 7}
    assert payload["cutoff"] == "2026-06-01T12:00:00+00:00"
    assert payload["duration_seconds"] == 0.123


def test_purge_spares_runs_written_meanwhile(database: Database) -> None:
    for index in range(60):
        finished_run(database, OLD - timedelta(minutes=index), items=2)
    written: list[str] = []
    stop = threading.Event()

    def write_runs() -> None:
        while not stop.is_set() or len(written) < 5:
            with database.transaction() as session:
                service = TaskRunsWriteService(session)
                run = service.start_run(task_key="concurrent_writer")
                service.init_items(run.run_id, [ItemSpec("step", "one")])
            written.append(run.run_id)

    writer = threading.Thread(target=write_runs)
    writer.start()
    try:
        result = purge_runs(database, older_than=THIRTY_DAYS, keep_last=0, batch_size=4,
                            now=NOW)
    finally:
        stop.set()
        writer.join(timeout=60)

    assert result.runs == 60
    assert result.items == 120
    assert _run_ids(database) == set(written)
    assert _item_count(database) == len(written)
