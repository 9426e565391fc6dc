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
    timezone = "Europe/Berlin"        # this job's cron zone; default the file's

Every problem of every entry is reported in one error, so a file is fixed in one pass.

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
    {"task", "cron", "interval", "enabled", "arguments", "misfire_grace_seconds", "coalesce",
     "timezone"}
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
    tasks = tasks or default_tasks
    if config_path is not None:
        specs, problems = _parse_file(config_path, tasks)
        jobs.update({job.job_id: job for job in specs})
    enabled = [job for job in jobs.values() if job.enabled]
    problems += job_problems(enabled, tasks=tasks)
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


def _parse_file(
    path: str | Path, tasks: TaskTable | None = None
) -> tuple[list[JobSpec], list[str]]:
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
    timezone = document.get("timezone", DEFAULT_TIMEZONE)
    problem = _timezone_problem(timezone)
    if problem is not None:
        raise SchedulerConfigError(source, None, problem)
    grace = _grace(
        source, None, document.get("misfire_grace_seconds", DEFAULT_MISFIRE_GRACE_SECONDS)
    )
    entries = document.get("jobs", {})
    if not isinstance(entries, dict):
        raise SchedulerConfigError(source, None, "'jobs' must be a table of [jobs.<id>] entries")

    problems: list[str] = []
    specs: list[JobSpec] = []
    for job_id, entry in entries.items():
        spec, entry_problems = _parse_entry(job_id, entry, str(timezone), grace, tasks)
        if entry_problems:
            problems.append(f"job {job_id!r}: {'; '.join(entry_problems)}")
        elif spec is not None:
            specs.append(spec)
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
    job_id: str, entry: object, default_timezone: str, default_grace: int,
    tasks: TaskTable | None,
) -> tuple[JobSpec | None, list[str]]:
    """Return the job of one entry, or None with every problem the entry has.

    Each field is checked even after an earlier one failed, so that one pass over the file
    reports all of an entry's problems. With ``tasks`` the task key and the arguments are
    checked too.
    """
    if not _JOB_ID.match(job_id):
        return None, ["job ids use letters, digits, _ . - (max 64)"]
    if not isinstance(entry, dict):
        return None, ["must be a table"]
    problems: list[str] = []
    unknown = sorted(set(entry) - _JOB_KEYS)
    if unknown:
        problems.append(f"unknown keys {unknown}")

    timezone = entry.get("timezone", default_timezone)
    timezone_problem = _timezone_problem(timezone)
    if timezone_problem is not None:
        problems.append(timezone_problem)
        timezone = DEFAULT_TIMEZONE
    cron, interval = _trigger_fields(entry, str(timezone), problems)
    task_key = entry.get("task")
    arguments = entry.get("arguments", {})
    if not isinstance(arguments, dict):
        problems.append("'arguments' must be a table")
        arguments = {}
    if not isinstance(task_key, str) or not task_key:
        problems.append("missing 'task' (a declared task key)")
    elif tasks is not None and entry.get("enabled", True) is not False:
        # A disabled job may name a task whose module this process does not load.
        problems.extend(_task_problems(task_key, arguments, tasks))
    enabled = entry.get("enabled", True)
    coalesce = entry.get("coalesce", True)
    if not isinstance(enabled, bool) or not isinstance(coalesce, bool):
        problems.append("'enabled' and 'coalesce' must be true or false")
    grace = entry.get("misfire_grace_seconds", default_grace)
    if not _is_grace(grace):
        problems.append(_GRACE_PROBLEM)
    if problems:
        return None, problems

    return JobSpec(
        job_id=job_id,
        task_key=str(task_key),
        cron=cron,
        interval_seconds=interval,
        enabled=bool(enabled),
        arguments=arguments,
        misfire_grace_seconds=grace,
        coalesce=bool(coalesce),
        timezone=str(timezone),
    ), []


def _task_problems(task_key: str, arguments: Mapping[str, Any], tasks: TaskTable) -> list[str]:
    definition = tasks.find(task_key)
    if definition is None:
        known = ", ".join(item.key for item in tasks.all()) or "none"
        return [f"unknown task key {task_key!r} (declared tasks: {known})"]
    try:
        definition.check_arguments(arguments)
    except TaskRunError as error:
        return [str(error)]
    return []


def _trigger_fields(
    entry: dict[str, Any], timezone: str, problems: list[str]
) -> tuple[str | None, int | None]:
    """Return (cron, interval seconds) of an entry; a problem is appended instead of raised."""
    cron = entry.get("cron")
    interval = entry.get("interval")
    if (cron is None) == (interval is None):
        problems.append("give exactly one of 'cron' or 'interval'")
        return None, None
    if cron is not None:
        if not isinstance(cron, str):
            problems.append("'cron' must be a string such as '0 3 * * *'")
            return None, None
        try:
            CronTrigger.from_crontab(cron, timezone=ZoneInfo(timezone))
        except ValueError as error:
            problems.append(f"invalid cron expression {cron!r}: {error}")
        return cron, None
    # A bare integer is seconds; a string carries its unit ("15m"). TOML's true is no number.
    if isinstance(interval, int) and not isinstance(interval, bool) and interval > 0:
        return None, interval
    try:
        return None, parse_duration(str(interval))
    except ValueError as error:
        problems.append(f"invalid interval: {error}")
        return None, None


def _timezone_problem(value: object) -> str | None:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {value!r}"
    return None


_GRACE_PROBLEM = "'misfire_grace_seconds' must be an integer >= 1"


def _is_grace(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _grace(source: str, job_id: str | None, value: object) -> int:
    if isinstance(value, int) and _is_grace(value):
        return value
    raise SchedulerConfigError(source, job_id, _GRACE_PROBLEM)
