"""Scheduler jobs: the TOML job file, the defaults for built-in tasks, and their validation.

A job file looks like this (every key but ``task`` and one trigger is optional)::

    timezone = "Asia/Shanghai"        # zone of cron expressions; default UTC
    misfire_grace_seconds = 300       # default for every job

    [jobs.sync_accounts_hourly]       # the job id
    task = "sync_accounts"            # a declared task key
    cron = "0 * * * *"                # or: interval = "15m" (s, m, h, d suffixes)
    enabled = true
    arguments = { since = "yesterday" }
    misfire_grace_seconds = 60
    coalesce = true

Entries named like a default job (``task_runs_purge``, ``task_runs_audit``,
``task_runs_reap``) replace that default; ``enabled = false`` switches it off.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from taskrun_center.errors import TaskRunError
from taskrun_center.runners.definition import TaskTable, default_tasks
from taskrun_center.runners.errors import SchedulerConfigError

# A run that could not start on time (the scheduler was down or busy) still starts when it is
# at most this late. A later one is skipped and logged. Coalescing turns several missed fire
# times of one job into a single run.
DEFAULT_MISFIRE_GRACE_SECONDS = 300
DEFAULT_TIMEZONE = "UTC"
INTERVAL_ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)

_JOB_KEYS = frozenset(
    {"task", "cron", "interval", "enabled", "arguments", "misfire_grace_seconds", "coalesce"}
)
_FILE_KEYS = frozenset({"timezone", "misfire_grace_seconds", "jobs"})
_JOB_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class JobSpec:
    """One scheduled job: which task, when, with which arguments."""

    job_id: str
    task_key: str
    cron: str | None = None
    interval_seconds: int | None = None
    enabled: bool = True
    arguments: Mapping[str, Any] = field(default_factory=dict)
    misfire_grace_seconds: int = DEFAULT_MISFIRE_GRACE_SECONDS
    coalesce: bool = True
    timezone: str = DEFAULT_TIMEZONE

    def trigger(self) -> BaseTrigger:
        """Build the APScheduler trigger of this job (validated when the job was loaded)."""
        if self.cron is not None:
            return CronTrigger.from_crontab(self.cron, timezone=ZoneInfo(self.timezone))
        # Fire times counted from a fixed origin are the same in every replica, so a replica
        # that takes over derives the same run_ids for the same ticks.
        return IntervalTrigger(
            seconds=self.interval_seconds or 1,
            start_date=INTERVAL_ORIGIN,
            timezone=ZoneInfo(self.timezone),
        )

    def describe_trigger(self) -> str:
        """Return the trigger as written: ``cron 0 3 * * *`` or ``every 300 s``."""
        if self.cron is not None:
            return f"cron {self.cron} ({self.timezone})"
        return f"every {self.interval_seconds} s"


# The reaper runs often, because a crashed worker's run should not look "running" for long.
# Purge and audit run once a day at a quiet hour (UTC).
DEFAULT_JOBS = (
    JobSpec(job_id="task_runs_reap", task_key="task_runs_reap", interval_seconds=300),
    JobSpec(job_id="task_runs_purge", task_key="task_runs_purge", cron="30 3 * * *"),
    JobSpec(job_id="task_runs_audit", task_key="task_runs_audit", cron="0 4 * * *"),
)


def load_jobs(
    config_path: str | Path | None,
    *,
    extra_jobs: Sequence[JobSpec] = (),
    tasks: TaskTable | None = None,
) -> list[JobSpec]:
    """Return the enabled jobs: the defaults and ``extra_jobs``, replaced or extended by the file.

    Raises:
        SchedulerConfigError: the file is unreadable or not TOML, or entries are invalid
            (unknown task key, bad cron expression, bad interval, unknown field, arguments
            that do not fit the task). The message names every invalid entry.
    """
    source = str(config_path or "default jobs")
    jobs = {job.job_id: job for job in (*DEFAULT_JOBS, *extra_jobs)}
    problems: list[str] = []
    if config_path is not None:
        specs, problems = _parse_file(config_path)
        jobs.update({job.job_id: job for job in specs})
    enabled = [job for job in jobs.values() if job.enabled]
    problems += job_problems(enabled, tasks=tasks or default_tasks)
    if problems:
        raise SchedulerConfigError(source, None, "; ".join(problems))
    return enabled


def read_job_file(path: str | Path) -> list[JobSpec]:
    """Parse the job file at ``path`` into job specs (task keys are checked by ``load_jobs``).

    Raises:
        SchedulerConfigError: the file is unreadable, not TOML, or has an invalid entry.
    """
    specs, problems = _parse_file(path)
    if problems:
        raise SchedulerConfigError(str(path), None, "; ".join(problems))
    return specs


def job_problems(jobs: Sequence[JobSpec], *, tasks: TaskTable) -> list[str]:
    """Return one message per job that names an undeclared task or passes unfit arguments."""
    problems: list[str] = []
    for job in jobs:
        definition = tasks.find(job.task_key)
        if definition is None:
            known = ", ".join(item.key for item in tasks.all()) or "none"
            problems.append(
                f"job {job.job_id!r}: unknown task key {job.task_key!r} (declared tasks: {known})"
            )
            continue
        try:
            definition.check_arguments(job.arguments)
        except TaskRunError as error:
            problems.append(f"job {job.job_id!r}: {error}")
    return problems


def _parse_file(path: str | Path) -> tuple[list[JobSpec], list[str]]:
    source = str(path)
    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise SchedulerConfigError(
            source, None, f"cannot read the file: {error.strerror}"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SchedulerConfigError(source, None, f"not valid TOML: {error}") from None

    unknown = sorted(set(document) - _FILE_KEYS)
    if unknown:
        raise SchedulerConfigError(source, None, f"unknown top-level keys {unknown}")
    timezone = _timezone(source, document.get("timezone", DEFAULT_TIMEZONE))
    grace = _grace(
        source, None, document.get("misfire_grace_seconds", DEFAULT_MISFIRE_GRACE_SECONDS)
    )
    entries = document.get("jobs", {})
    if not isinstance(entries, dict):
        raise SchedulerConfigError(source, None, "'jobs' must be a table of [jobs.<id>] entries")

    problems: list[str] = []
    specs: list[JobSpec] = []
    for job_id, entry in entries.items():
        try:
            specs.append(_parse_entry(source, job_id, entry, timezone, grace))
        except SchedulerConfigError as error:
            problems.append(f"job {job_id!r}: {error.reason}")
    return specs, problems


def parse_duration(text: str) -> int:
    """Parse ``30s``, ``15m``, ``2h`` or ``1d`` into seconds.

    Raises:
        ValueError: the text is not a positive number with one of the units s, m, h, d.
    """
    match = _DURATION.match(text)
    if match is None or int(match.group(1)) <= 0:
        raise ValueError(f"invalid duration {text!r}; use a positive number with s, m, h or d")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _parse_entry(
    source: str, job_id: str, entry: object, timezone: str, default_grace: int
) -> JobSpec:
    if not _JOB_ID.match(job_id):
        raise SchedulerConfigError(source, job_id, "job ids use letters, digits, _ . - (max 64)")
    if not isinstance(entry, dict):
        raise SchedulerConfigError(source, job_id, "must be a table")
    unknown = sorted(set(entry) - _JOB_KEYS)
    if unknown:
        raise SchedulerConfigError(source, job_id, f"unknown keys {unknown}")

    task_key = entry.get("task")
    if not isinstance(task_key, str) or not task_key:
        raise SchedulerConfigError(source, job_id, "missing 'task' (a declared task key)")
    cron, interval = _trigger_fields(source, job_id, entry, timezone)
    arguments = entry.get("arguments", {})
    if not isinstance(arguments, dict):
        raise SchedulerConfigError(source, job_id, "'arguments' must be a table")
    enabled = entry.get("enabled", True)
    coalesce = entry.get("coalesce", True)
    if not isinstance(enabled, bool) or not isinstance(coalesce, bool):
        raise SchedulerConfigError(source, job_id, "'enabled' and 'coalesce' must be true or false")

    return JobSpec(
        job_id=job_id,
        task_key=task_key,
        cron=cron,
        interval_seconds=interval,
        enabled=enabled,
        arguments=arguments,
        misfire_grace_seconds=_grace(
            source, job_id, entry.get("misfire_grace_seconds", default_grace)
        ),
        coalesce=coalesce,
        timezone=timezone,
    )


def _trigger_fields(
    source: str, job_id: str, entry: dict[str, Any], timezone: str
) -> tuple[str | None, int | None]:
    cron = entry.get("cron")
    interval = entry.get("interval")
    if (cron is None) == (interval is None):
        raise SchedulerConfigError(source, job_id, "give exactly one of 'cron' or 'interval'")
    if cron is not None:
        if not isinstance(cron, str):
            raise SchedulerConfigError(
                source, job_id, "'cron' must be a string such as '0 3 * * *'"
            )
        try:
            CronTrigger.from_crontab(cron, timezone=ZoneInfo(timezone))
        except ValueError as error:
            raise SchedulerConfigError(
                source, job_id, f"invalid cron expression {cron!r}: {error}"
            ) from None
        return cron, None
    # A bare integer is seconds; a string carries its unit ("15m"). TOML's true is no number.
    if isinstance(interval, int) and not isinstance(interval, bool) and interval > 0:
        return None, interval
    try:
        return None, parse_duration(str(interval))
    except ValueError as error:
        raise SchedulerConfigError(source, job_id, f"invalid interval: {error}") from None


def _timezone(source: str, value: object) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise SchedulerConfigError(source, None, f"unknown time zone {value!r}") from None
    return str(value)


def _grace(source: str, job_id: str | None, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SchedulerConfigError(
            source, job_id, "'misfire_grace_seconds' must be an integer >= 1"
        )
    return value
