"""Fire times that were due while no replica led, found when a replica starts leading.

APScheduler only schedules fire times from the moment it starts, so a time that fell due while
the previous leader was down, stopping or being replaced would never run. At takeover the new
leader lists each job's fire times within its misfire grace and keeps those after the newest
one that already has a run. Because a fire time has the same run_id in every replica, "has a
run" means that a run with that derived run_id exists, whichever replica started it and however
it ended.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from apscheduler.triggers.base import BaseTrigger
from sqlalchemy import select

from taskrun_center.storage.engine import Database
from taskrun_center.storage.errors import translate_errors
from taskrun_center.storage.models import TaskRun

#: Run ids per ``IN (...)`` query; keeps each statement well below the parameter limits of
#: SQLite (32766) and PostgreSQL (65535).
LOOKUP_BATCH = 500


def fire_times_within_grace(
    trigger: BaseTrigger, grace_seconds: int, now: datetime
) -> list[datetime]:
    """Return the trigger's fire times from ``now - grace_seconds`` to ``now``, oldest first.

    The times are computed as APScheduler computes them, so they are the ``scheduled_at``
    values a running scheduler would have passed, and their run_ids match.
    """
    # NOTE: every fire time in the grace is listed: 86,400 for a job every second with a day's
    # grace. ``missed_fire_times`` looks their runs up newest first, so the database reads
    # only the times after the previous leader's last run, in batches.
    times: list[datetime] = []
    fire_time = trigger.get_next_fire_time(None, now - timedelta(seconds=grace_seconds))
    while fire_time is not None and fire_time <= now:
        times.append(fire_time)
        fire_time = trigger.get_next_fire_time(fire_time, now)
    return times


def missed_fire_times(
    candidates: list[datetime],
    run_id_of: Callable[[datetime], str],
    existing_run_ids: Callable[[list[str]], set[str]],
) -> list[datetime]:
    """Return the ``candidates`` after the newest one whose run exists, oldest first.

    An older candidate without a run is left out when a newer one has a run: the leader then
    was running the job, and running a superseded time late would run the job out of order.
    ``existing_run_ids`` gets the run ids newest first, at most ``LOOKUP_BATCH`` at a time,
    until a batch has a run.
    """
    for end in range(len(candidates), 0, -LOOKUP_BATCH):
        start = max(0, end - LOOKUP_BATCH)
        run_ids = [run_id_of(fire_time) for fire_time in candidates[start:end]]
        existing = existing_run_ids(run_ids)
        for index in range(len(run_ids) - 1, -1, -1):
            if run_ids[index] in existing:
                return candidates[start + index + 1:]
    return list(candidates)


def stored_run_ids(database: Database, run_ids: Iterable[str]) -> set[str]:
    """Return those of ``run_ids`` that a stored run has.

    Raises:
        StorageError: the database failed.
    """
    pending = list(run_ids)
    found: set[str] = set()
    with translate_errors("read scheduled runs"), database.session() as session:
        for start in range(0, len(pending), LOOKUP_BATCH):
            batch = pending[start:start + LOOKUP_BATCH]
            found.update(session.scalars(select(TaskRun.run_id).where(TaskRun.run_id.in_(batch))))
    return found
