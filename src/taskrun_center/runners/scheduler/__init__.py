"""The scheduler: jobs from a TOML file plus built-in defaults, fired by one leader per database.

See ``jobs`` for the file format, ``leader`` for the election and ``service`` for the loop.
"""

from taskrun_center.runners.scheduler.jobs import DEFAULT_JOBS, JobSpec, load_jobs, read_job_file
from taskrun_center.runners.scheduler.leader import LeaderRecord, read_leader
from taskrun_center.runners.scheduler.service import (
    STOP_WAIT_SECONDS,
    SchedulerService,
    scheduled_run_id,
    start_scheduler_in_background,
    stop_cancelling_runs,
)

__all__ = [
    "DEFAULT_JOBS",
    "STOP_WAIT_SECONDS",
    "JobSpec",
    "LeaderRecord",
    "SchedulerService",
    "load_jobs",
    "read_job_file",
    "read_leader",
    "scheduled_run_id",
    "start_scheduler_in_background",
    "stop_cancelling_runs",
]
