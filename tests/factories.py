"""Factories for tests: runs with items in given states, made through the write service.

``make_run`` goes through ``TaskRunsWriteService``, so counters, durations and summaries are what
production code stores. Only the timestamps given to it are written directly afterwards,
because tests of retention and the reaper need runs of a given age. ``run_row`` and
``item_row`` build plain column dicts for bulk inserts with raw SQL, for example to plant rows
that break the contract or to fill a benchmark database quickly.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import update

from taskrun_center.lifecycle.write_service import ItemSpec, TaskRunsWriteService
from taskrun_center.states import ItemStatus, RunStatus, TriggerSource
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun
from taskrun_center.storage.types import utcnow

DEFAULT_TASK_KEY = "demo_task"


def base_summary(task_key: str = DEFAULT_TASK_KEY, **data: Any) -> dict[str, Any]:
    """Return a valid envelope for ``task_key`` whose ``ext.data`` is ``data``."""
    return {
        "version": 1,
        "common": {
            "inputs": {},
            "scope": {"time": None, "target": {}},
            "metrics": [],
            "highlights": [],
            "flags": {"skipped": False, "skip_reason": None},
        },
        "ext": {"type": task_key, "version": 1, "data": data},
    }


def make_run(
    db: Database,
    *,
    task_key: str = DEFAULT_TASK_KEY,
    status: RunStatus | str = RunStatus.RUNNING,
    items: Mapping[ItemStatus | str, int] | None = None,
    item_type: str = "step",
    summary_json: Mapping[str, Any] | None = None,
    trigger_source: TriggerSource | str = TriggerSource.MANUAL,
    started_at: datetime | None = None,
    completed_at: datetime | None = None,
    heartbeat_at: datetime | None = None,
    **start: Any,
) -> TaskRun:
    """Create a run in ``status`` with ``items`` (status → count) and return it, committed.

    Items are keyed ``"0"``, ``"1"``… in the order of ``items``. A terminal ``status`` is set
    with ``finalize_run_with_summary`` (cancelled with ``cancel_run``), which leaves the items
    in the states asked for. Timestamps given here overwrite what the service wrote.
    """
    status = RunStatus(status)
    initial = RunStatus.PENDING if status is RunStatus.PENDING else RunStatus.RUNNING
    with db.transaction() as session:
        service = TaskRunsWriteService(session)
        run = service.start_run(
            task_key=task_key,
            status=initial,
            trigger_source=trigger_source,
            summary_json=summary_json,
            **start,
        )
        run_id = run.run_id
        _add_items(service, run_id, items or {}, item_type)
        _end_run(service, run_id, status)
        _set_times(session, run_id, started_at, completed_at, heartbeat_at)
    return load_run(db, run_id)


def _add_items(
    service: TaskRunsWriteService,
    run_id: str,
    items: Mapping[ItemStatus | str, int],
    item_type: str,
) -> None:
    wanted = [ItemStatus(status) for status, count in items.items() for _ in range(count)]
    specs = [ItemSpec(item_type, str(index), f"item {index}") for index in range(len(wanted))]
    service.init_items(run_id, specs)
    for spec, item_status in zip(specs, wanted, strict=True):
        _move_item(service, run_id, spec, item_status)


def _move_item(
    service: TaskRunsWriteService, run_id: str, spec: ItemSpec, status: ItemStatus
) -> None:
    key = (run_id, spec.item_type, spec.item_key)
    if status is ItemStatus.RUNNING:
        service.start_item(*key)
    elif status is ItemStatus.COMPLETED:
        service.complete_item(*key, metrics={"rows": 1})
    elif status is ItemStatus.FAILED:
        service.fail_item(*key, error_message=f"item {spec.item_key} failed")
    elif status is ItemStatus.CANCELLED:
        service.cancel_item(*key)


def _end_run(service: TaskRunsWriteService, run_id: str, status: RunStatus) -> None:
    if status is RunStatus.CANCELLED:
        service.cancel_run(run_id)
    elif status.is_terminal:
        service.finalize_run_with_summary(run_id, None, status=status)


def _set_times(
    session: Any,
    run_id: str,
    started_at: datetime | None,
    completed_at: datetime | None,
    heartbeat_at: datetime | None,
) -> None:
    values: dict[str, Any] = {}
    if started_at is not None:
        values["started_at"] = started_at
        values["created_at"] = started_at
    if completed_at is not None:
        values["completed_at"] = completed_at
    if heartbeat_at is not None:
        values["heartbeat_at"] = heartbeat_at
    if started_at is not None and completed_at is not None:
        values["duration_ms"] = int((completed_at - started_at).total_seconds() * 1000)
    if values:
        session.execute(update(TaskRun).where(TaskRun.run_id == run_id).values(**values))


def load_run(db: Database, run_id: str) -> TaskRun:
    """Return the stored run ``run_id`` as a detached object."""
    with db.session() as session:
        run = session.query(TaskRun).filter_by(run_id=run_id).one()
        session.expunge(run)
        return run


def run_row(**overrides: Any) -> dict[str, Any]:
    """Return every column of a finished ``task_runs`` row for a raw insert; override any."""
    now = utcnow()
    task_key = overrides.get("task_key", DEFAULT_TASK_KEY)
    row: dict[str, Any] = {
        "run_id": str(uuid.uuid4()),
        "task_key": task_key,
        "task_name": task_key,
        "task_category": "other",
        "trigger_source": TriggerSource.SCHEDULED.value,
        "status": RunStatus.COMPLETED.value,
        "started_at": now,
        "completed_at": now,
        "heartbeat_at": None,
        "duration_ms": 0,
        "created_by": None,
        "progress_total": 0,
        "progress_completed": 0,
        "progress_failed": 0,
        "summary_json": base_summary(task_key),
        "is_skipped": False,
        "result_url": None,
        "error_message": None,
        "created_at": now,
        "updated_at": now,
    }
    row.update(overrides)
    return row


def item_row(run_id: str, item_key: str, **overrides: Any) -> dict[str, Any]:
    """Return every column of a completed ``task_run_items`` row for a raw insert."""
    now = utcnow()
    row: dict[str, Any] = {
        "run_id": run_id,
        "item_type": "step",
        "item_key": item_key,
        "item_name": None,
        "status": ItemStatus.COMPLETED.value,
        "started_at": now,
        "completed_at": now,
        "metrics_json": None,
        "details_json": None,
        "error_message": None,
        "created_at": now,
        "updated_at": now,
    }
    row.update(overrides)
    return row
