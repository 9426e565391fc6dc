"""Read runs and items back for assertions."""

from __future__ import annotations

from sqlalchemy import select

from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun, TaskRunItem


def load_run(database: Database, run_id: str) -> TaskRun:
    """Return the stored run ``run_id``."""
    with database.session() as session:
        return session.scalars(select(TaskRun).where(TaskRun.run_id == run_id)).one()


def load_items(database: Database, run_id: str) -> dict[str, TaskRunItem]:
    """Return the run's items by ``item_key``."""
    with database.session() as session:
        items = session.scalars(select(TaskRunItem).where(TaskRunItem.run_id == run_id)).all()
        return {item.item_key: item for item in items}


def runs_of(database: Database, task_key: str) -> list[TaskRun]:
    """Return every stored run of ``task_key``, oldest first."""
    with database.session() as session:
        query = select(TaskRun).where(TaskRun.task_key == task_key).order_by(TaskRun.id)
        return list(session.scalars(query).all())
