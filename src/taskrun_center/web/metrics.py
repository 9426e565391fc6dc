"""Prometheus metrics read from the database at scrape time.

Exposed families:

- ``taskrun_runs{task_key, status}``: stored runs by task key and status (a gauge, since purge
  removes runs).
- ``taskrun_runs_running{task_key}``: runs in progress (pending or running).
- ``taskrun_run_duration_seconds_sum`` / ``_count{task_key}``: total duration and number of
  runs that completed or failed (cancelled ones are left out), so ``sum / count`` is the mean.

A full scan of ``task_runs`` costs time at millions of rows, so a scrape reuses the previous
result for ``CACHE_SECONDS``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Float, cast, func, select

from taskrun_center.states import RUN_IN_PROGRESS, RunStatus
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun

CACHE_SECONDS = 15.0
# Cancelled runs are left out of durations because they stopped early, so their duration does
# not measure the task.
TIMED_STATUSES = (
    RunStatus.COMPLETED.value, RunStatus.COMPLETED_WITH_ERRORS.value, RunStatus.FAILED.value
)


class RunsCollector(Collector):
    """Collect run counts and durations from one database, cached briefly."""

    def __init__(self, database: Database, cache_seconds: float = CACHE_SECONDS) -> None:
        self.database = database
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._cached: list[Metric] = []
        self._cached_at = float("-inf")

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if time.monotonic() - self._cached_at > self.cache_seconds:
                self._cached = self._query()
                self._cached_at = time.monotonic()
            metrics = list(self._cached)
        yield from metrics

    def _query(self) -> list[Metric]:
        runs = GaugeMetricFamily("taskrun_runs", "Stored runs by task key and status.",
                           labels=["task_key", "status"])
        running = GaugeMetricFamily("taskrun_runs_running", "Runs pending or running, by task key.",
                              labels=["task_key"])
        duration_sum = GaugeMetricFamily("taskrun_run_duration_seconds_sum",
                                   "Total duration of finished runs, by task key.",
                                   labels=["task_key"])
        duration_count = GaugeMetricFamily("taskrun_run_duration_seconds_count",
                                     "Finished runs with a duration, by task key.",
                                     labels=["task_key"])
        in_progress: dict[str, int] = {}
        with self.database.session() as session:
            for task_key, status, count in session.execute(
                select(TaskRun.task_key, TaskRun.status, func.count()).group_by(
                    TaskRun.task_key, TaskRun.status
                )
            ):
                runs.add_metric([task_key, status], count)
                if status in RUN_IN_PROGRESS:
                    in_progress[task_key] = in_progress.get(task_key, 0) + count
                else:
                    in_progress.setdefault(task_key, 0)
            for task_key, total_ms, count in session.execute(
                # Summed as floating point: SQLite's integer sum() fails on overflow, and a
                # duration written by hand can be as large as the column allows.
                select(TaskRun.task_key, func.sum(cast(TaskRun.duration_ms, Float)),
                       func.count(TaskRun.duration_ms))
                .where(TaskRun.duration_ms.is_not(None), TaskRun.status.in_(TIMED_STATUSES))
                .group_by(TaskRun.task_key)
            ):
                duration_sum.add_metric([task_key], float(total_ms or 0) / 1000.0)
                duration_count.add_metric([task_key], count)
        for task_key, count in sorted(in_progress.items()):
            running.add_metric([task_key], count)
        return [runs, running, duration_sum, duration_count]


def build_registry(database: Database) -> CollectorRegistry:
    """Return a registry holding only this database's collector (no process metrics)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RunsCollector(database))
    return registry


def render_metrics(registry: CollectorRegistry) -> bytes:
    """Return the registry in the Prometheus text format."""
    return generate_latest(registry)
