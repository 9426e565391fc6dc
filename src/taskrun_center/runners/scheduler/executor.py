"""An APScheduler executor that passes each job the fire time it runs for.

APScheduler 3 calls a job's function without its scheduled time. The scheduler derives each
run's id from the job id and that time, so that a fire time can start at most one run even when
two scheduler processes briefly both believe they lead; this executor passes the time as the
``scheduled_at`` keyword argument.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job

_logger = logging.getLogger(__name__)


class FireTimeExecutor(ThreadPoolExecutor):
    """A thread pool executor that calls ``job.func(*args, scheduled_at=<fire time>, **kwargs)``."""

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        def done(future: Any) -> None:
            error = future.exception()
            if error is not None:
                self._run_job_error(job.id, error, error.__traceback__)
            else:
                self._run_job_success(job.id, future.result())

        future = self._pool.submit(_run_job, job, job._jobstore_alias, run_times)
        future.add_done_callback(done)


def _run_job(job: Job, jobstore_alias: str, run_times: list[datetime]) -> list[JobExecutionEvent]:
    # Mirrors apscheduler.executors.base.run_job (3.x): the misfire check, then one call per
    # fire time, each turned into the event the scheduler's listeners expect.
    events: list[JobExecutionEvent] = []
    for run_time in run_times:
        if job.misfire_grace_time is not None:
            late = datetime.now(UTC) - run_time
            if late > timedelta(seconds=job.misfire_grace_time):
                _logger.warning("job %s missed its fire time %s by %s", job.id, run_time, late)
                events.append(JobExecutionEvent(EVENT_JOB_MISSED, job.id, jobstore_alias, run_time))
                continue
        try:
            value = job.func(*job.args, scheduled_at=run_time, **job.kwargs)
        except Exception as error:
            _logger.exception("job %s failed", job.id)
            events.append(
                JobExecutionEvent(
                    EVENT_JOB_ERROR,
                    job.id,
                    jobstore_alias,
                    run_time,
                    exception=error,
                    traceback=None,
                )
            )
        else:
            events.append(
                JobExecutionEvent(
                    EVENT_JOB_EXECUTED, job.id, jobstore_alias, run_time, retval=value
                )
            )
    return events
