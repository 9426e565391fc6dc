"""Trend statistics for the task overview page and ``/api/v1/statistics``.

Rules: a run counts on the UTC day it started; ``succeeded`` is ``completed``; ``failed`` is
``failed`` plus ``completed_with_errors``; the success rate is succeeded over finished runs
(cancelled ones excluded, since nobody learns whether the task works from them) and is None
when no run finished. Durations are of finished runs only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from taskrun_center.states import RunStatus
from taskrun_center.storage.models import TaskRun

MAX_TREND_DAYS = 366
_FAILED = (RunStatus.FAILED.value, RunStatus.COMPLETED_WITH_ERRORS.value)
_FINISHED_COUNTED = (RunStatus.COMPLETED.value, *_FAILED)


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """Runs that started on one UTC day."""

    day: str
    runs: int
    succeeded: int
    failed: int
    avg_duration_ms: float | None
    max_duration_ms: int | None

    @property
    def success_rate(self) -> float | None:
        finished = self.succeeded + self.failed
        return round(self.succeeded / finished, 4) if finished else None


@dataclass(frozen=True, slots=True)
class TaskOverview:
    """One task key over a window: counts, success rate, mean duration and its last run."""

    task_key: str
    runs: int
    succeeded: int
    failed: int
    avg_duration_ms: float | None
    last_run: TaskRun | None

    @property
    def success_rate(self) -> float | None:
        finished = self.succeeded + self.failed
        return round(self.succeeded / finished, 4) if finished else None


def _day_of(session: Session) -> ColumnElement[Any]:
    # SQLite stores UTC as naive text "YYYY-MM-DD HH:MM:SS"; PostgreSQL stores timestamptz.
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", TaskRun.started_at), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", TaskRun.started_at)


def _counts() -> list[ColumnElement[Any]]:
    return [
        func.count(TaskRun.id),
        func.sum(case((TaskRun.status == RunStatus.COMPLETED.value, 1), else_=0)),
        func.sum(case((TaskRun.status.in_(_FAILED), 1), else_=0)),
        func.avg(case((TaskRun.status.in_(_FINISHED_COUNTED), TaskRun.duration_ms))),
    ]


def window_start(days: int, now: datetime | None = None) -> datetime:
    """Return midnight UTC of the first day of a window of ``days`` days ending today."""
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    return datetime(first.year, first.month, first.day, tzinfo=UTC)


def daily_trend(
    session: Session, task_key: str | None, days: int, now: datetime | None = None
) -> list[TrendPoint]:
    """Return one point per day of the window, oldest first; days without runs are zeros."""
    start = window_start(days, now)
    day = _day_of(session).label("day")
    statement = (
        select(day, *_counts(), func.max(TaskRun.duration_ms))
        .where(TaskRun.started_at >= start)
        .group_by(day)
    )
    if task_key is not None:
        statement = statement.where(TaskRun.task_key == task_key)
    rows = {row[0]: row for row in session.execute(statement)}
    points = []
    for offset in range(days):
        label = (start.date() + timedelta(days=offset)).isoformat()
        row = rows.get(label)
        if row is None:
            points.append(TrendPoint(label, 0, 0, 0, None, None))
            continue
        points.append(
            TrendPoint(
                day=label,
                runs=int(row[1]),
                succeeded=int(row[2] or 0),
                failed=int(row[3] or 0),
                avg_duration_ms=float(row[4]) if row[4] is not None else None,
                max_duration_ms=_whole_milliseconds(row[5]),
            )
        )
    return points


def task_overviews(
    session: Session, days: int, now: datetime | None = None
) -> list[TaskOverview]:
    """Return one overview per task key that has any run, sorted by key.

    Counts cover the window; the last run is the newest by start time whatever its age.
    """
    start = window_start(days, now)
    totals = {
        row[0]: row
        for row in session.execute(
            select(TaskRun.task_key, *_counts())
            .where(TaskRun.started_at >= start)
            .group_by(TaskRun.task_key)
        )
    }
    keys = sorted(set(session.scalars(select(TaskRun.task_key).distinct())))
    overviews = []
    for key in keys:
        last = session.scalar(
            select(TaskRun)
            .where(TaskRun.task_key == key)
            .order_by(TaskRun.started_at.desc().nulls_last(), TaskRun.id.desc())
            .limit(1)
        )
        row = totals.get(key)
        overviews.append(
            TaskOverview(
                task_key=key,
                runs=int(row[1]) if row else 0,
                succeeded=int(row[2] or 0) if row else 0,
                failed=int(row[3] or 0) if row else 0,
                avg_duration_ms=float(row[4]) if row and row[4] is not None else None,
                last_run=last,
            )
        )
    return overviews


def _whole_milliseconds(value: Any) -> int | None:
    # SQLite's max() ranks text written by hand into the INTEGER column above any number.
    # Such a duration is unknown here, and ``taskrun audit`` names the row.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    return None
