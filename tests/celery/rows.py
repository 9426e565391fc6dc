"""Read runs and items back for the Celery tests."""

from __future__ import annotations

from sqlalchemy import select

from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun, TaskRunItem


def find_run(database: Database, run_id: str) -> TaskRun | None:
    """Return the stored run ``run_id``, or None before it exists."""
    with database.session() as session:
        return session.scalars(select(TaskRun).where(TaskRun.run_id == run_id)).one_or_none()


def load_run(database: Database, run_id: str) -> TaskRun:
    """Return the stored run ``run_id``."""
    run = find_run(database, run_id)
    assert run is not None, f"run {run_id} not found"
    return run


def load_items(database: Database, run_id: str) -> list[TaskRunItem]:
    """Return the run's items."""
    with database.session() as session:
        return list(session.scalars(select(TaskRunItem).where(TaskRunItem.run_id == run_id)))


def runs_created_by(database: Database, created_by: str) -> list[TaskRun]:
    """Return the runs whose ``created_by`` is ``created_by``, oldest first."""
    with database.session() as session:
        query = select(TaskRun).where(TaskRun.created_by == created_by).order_by(TaskRun.id)
        return list(session.scalars(query))
