"""The scheduler: jobs from a TOML file plus built-in defaults, fired by one leader per database.

See ``jobs`` for the file format, ``leader`` for the election and ``service`` for the loop.
"""

from taskrun_center.runners.scheduler.jobs import DEFAULT_JOBS, JobSpec, load_jobs, read_job_file
from taskrun_center.runners.scheduler.leader import LeaderRecord, read_leader
from taskrun_center.runners.scheduler.service import (
    SchedulerService,
    scheduled_run_id,
    start_scheduler_in_background,
)

__all__ = [
    "DEFAULT_JOBS",
    "JobSpec",
    "LeaderRecord",
    "SchedulerService",
    "load_jobs",
    "read_job_file",
    "read_leader",
    "scheduled_run_id",
    "start_scheduler_in_background",
]
