"""Insert many runs and their items with one statement per table, for long maintenance passes."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select

from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun, TaskRunItem
from taskrun_center.storage.types import utcnow
from tests.maintenance.rows import envelope


def add_runs(database_url: str, count: int, *, status: str = "completed",
             age: timedelta = timedelta(days=90)) -> None:
    """Add ``count`` runs of ``backup_db`` that ended (or went silent) ``age`` ago, one item each.

    A finished run gets ``completed_at``. A running run gets only ``started_at``, and its item
    is running and as old as the run, so the reaper finds the run silent.
    """
    when = utcnow() - age
    finished = status not in ("pending", "running")
    runs = [_run_row(status, when, finished) for _ in range(count)]
    items = [
        {"run_id": run["run_id"], "item_type": "step", "item_key": "only", "item_name": "Only",
         "status": "completed" if finished else "running", "metrics_json": {},
         "details_json": {}, "created_at": when, "updated_at": when}
        for run in runs
    ]

    database = Database(database_url)
    try:
        with database.transaction() as session:
            session.execute(insert(TaskRun), runs)
            session.execute(insert(TaskRunItem), items)
    finally:
        database.dispose()


def _run_row(status: str, when: datetime, finished: bool) -> dict[str, object]:
    return {
        "run_id": str(uuid.uuid4()), "task_key": "backup_db", "task_name": "Backup DB",
        "task_category": "sync", "trigger_source": "scheduled", "status": status,
        "started_at": when, "completed_at": when if finished else None,
        "duration_ms": 0 if finished else None, "summary_json": envelope("backup_db"),
        "is_skipped": False, "created_at": when, "updated_at": when,
    }


def count_rows(database_url: str) -> tuple[int, int]:
    """Return the number of runs and of items in the database."""
    database = Database(database_url)
    try:
        with database.session() as session:
            runs = session.scalar(select(func.count()).select_from(TaskRun)) or 0
            items = session.scalar(select(func.count()).select_from(TaskRunItem)) or 0
    finally:
        database.dispose()
    return int(runs), int(items)


def run_ids_in_order(database_url: str) -> list[str]:
    """Return every run_id by ascending id, the order in which purge and reap walk the runs."""
    database = Database(database_url)
    try:
        with database.session() as session:
            return list(session.scalars(select(TaskRun.run_id).order_by(TaskRun.id)))
    finally:
        database.dispose()
