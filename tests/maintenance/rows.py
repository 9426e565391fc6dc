"""Insert runs and items as plain rows, bypassing the write service.

Most maintenance tests record runs through the write service (``tests.factories.make_run``).
The read and reaper tests use these rows instead, because they need exact values that the
service rightly never writes: a pending run created an hour ago, a running run silent since a
given minute, tied start times and durations for sorting.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from taskrun_center.storage.models import TaskRun, TaskRunItem

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def envelope(task_key: str, *, skipped: bool = False) -> dict[str, Any]:
    """Return a minimal valid summary envelope for ``task_key``."""
    return {
        "version": 1,
        "common": {
            "inputs": {},
            "scope": {"time": None, "target": {}},
            "metrics": [],
            "highlights": [],
            "flags": {"skipped": skipped, "skip_reason": "nothing to do" if skipped else None},
        },
        "ext": {"type": task_key, "version": 1, "data": {}},
    }


def add_run(
    session: Session,
    *,
    task_key: str = "sync_accounts",
    status: str = "completed",
    started_at: datetime | None = NOW,
    completed_at: datetime | None = None,
    duration: timedelta | None = timedelta(seconds=5),
    heartbeat_at: datetime | None = None,
    created_at: datetime | None = None,
    task_name: str | None = None,
    task_category: str = "sync",
    trigger_source: str = "scheduled",
    skipped: bool = False,
    summary_json: dict[str, Any] | None = None,
    run_id: str | None = None,
) -> TaskRun:
    """Add one run; a finished run gets ``completed_at = started_at + duration`` by default."""
    finished = status not in ("pending", "running")
    if finished and completed_at is None and started_at is not None and duration is not None:
        completed_at = started_at + duration
    duration_ms = None
    if finished and completed_at is not None and started_at is not None:
        duration_ms = int((completed_at - started_at).total_seconds() * 1000)
    run = TaskRun(
        run_id=run_id or str(uuid.uuid4()),
        task_key=task_key,
        task_name=task_name or task_key.replace("_", " ").title(),
        task_category=task_category,
        trigger_source=trigger_source,
        status=status,
        started_at=started_at,
        completed_at=completed_at,
        heartbeat_at=heartbeat_at,
        duration_ms=duration_ms,
        summary_json=summary_json if summary_json is not None else envelope(task_key,
                                                                            skipped=skipped),
        is_skipped=skipped,
        created_at=created_at or started_at or NOW,
    )
    session.add(run)
    session.flush()
    return run


def add_items(session: Session, run: TaskRun, statuses: Sequence[str], *,
              error_message: str = "connection refused") -> list[TaskRunItem]:
    """Add one item per status to ``run``; failed items get ``error_message``."""
    items = [
        TaskRunItem(
            run_id=run.run_id,
            item_type="instance",
            item_key=f"item-{index}",
            item_name=f"Item {index}",
            status=status,
            metrics_json={"rows": index},
            details_json={"index": index},
            error_message=error_message if status == "failed" else None,
        )
        for index, status in enumerate(statuses)
    ]
    session.add_all(items)
    session.flush()
    return items


def large_envelope(task_key: str, size_bytes: int = 10 * 1024) -> dict[str, Any]:
    """Return a valid envelope of at least ``size_bytes`` of compact JSON, in 1,000-char texts."""
    summary = envelope(task_key)
    data = summary["ext"]["data"]
    while len(json.dumps(summary, separators=(",", ":")).encode()) < size_bytes:
        data[f"note_{len(data)}"] = "x" * 1000
    return summary
