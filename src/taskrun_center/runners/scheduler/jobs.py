"""Scheduler jobs: the TOML job file, the defaults for built-in tasks, and their validation.

A job file looks like this (every key but ``task`` and one trigger is optional)::

    timezone = "Asia/Shanghai"        # zone of cron expressions; default UTC
    misfire_grace_seconds = 300       # default for every job

    [jobs.sync_accounts_hourly]       # the job id
    task = "sync_accounts"            # a declared task key
    cron = "0 * * * *"                # or: interval = "15m" (s, m, h, d, w suffixes)
    enabled = true
    arguments = { since = "yesterday" }
    misfire_grace_seconds = 60
    coalesce = true
    timezone = "Europe/Berlin"        # this job's cron zone; default the file's

Every problem of the top level and of every entry is reported in one error, in Chinese and
English, so a file is fixed in one pass.

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

from taskrun_center.i18n import Text
from taskrun_center.maintenance.durations import (
    MAX_DURATION,
    InvalidDurationError,
    parse_duration,
)
from taskrun_center.runners.definition import TaskTable, default_tasks
from taskrun_center.runners.errors import TaskArgumentsError
from taskrun_center.runners.scheduler.job_errors import (
    ARGUMENTS_NOT_TABLE,
    BAD_ARGUMENTS,
    BAD_CRON,
    BAD_GRACE,
    BAD_INTERVAL,
    BAD_JOB_ID,
    CRON_NOT_TEXT,
    CRON_OR_INTERVAL,
    FILE_NOT_TOML,
    FILE_UNREADABLE,
    INTERVAL_NOT_DURATION,
    INTERVAL_SECONDS_RANGE,
    JOB,
    JOB_NOT_TABLE,
    JOBS_NOT_TABLE,
    MISSING_TASK,
    NO_TASKS,
    NOT_TRUE_OR_FALSE,
    TOP_LEVEL,
    UNKNOWN_JOB_KEYS,
    UNKNOWN_TASK_KEY,
    UNKNOWN_TIME_ZONE,
    UNKNOWN_TOP_LEVEL_KEYS,
    JobFileError,
    fill,
    join_problems,
)

# A run that could not start on time (the scheduler was down or busy) still starts when it is
# at most this late. A later one is skipped, with a log line when a busy leader skips it.
# Coalescing turns several missed fire times of one job into a single run.
DEFAULT_MISFIRE_GRACE_SECONDS = 300
DEFAULT_TIMEZONE = "UTC"
INTERVAL_ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)

_JOB_KEYS = frozenset(
    {"task", "cron", "interval", "enabled", "arguments", "misfire_grace_seconds", "coalesce",
     "timezone"}
)
_FILE_KEYS = frozenset({"timezone", "misfire_grace_seconds", "jobs"})
_JOB_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


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
        JobFileError: the file is unreadable or not TOML, or entries are invalid (unknown task
            key, bad cron expression, bad interval, unknown field, arguments that do not fit
            the task). The message names every invalid entry. ``JobFileError`` is a
            ``SchedulerConfigError``.
    """
    source = str(config_path or "default jobs")
    jobs = {job.job_id: job for job in (*DEFAULT_JOBS, *extra_jobs)}
    problems: list[Text] = []
    tasks = tasks or default_tasks
    if config_path is not None:
        specs, problems = _parse_file(config_path, tasks)
        jobs.update({job.job_id: job for job in specs})
    enabled = [job for job in jobs.values() if job.enabled]
    problems += job_problems(enabled, tasks=tasks)
    if problems:
        raise JobFileError(source, problems)
    return enabled


def read_job_file(path: str | Path) -> list[JobSpec]:
    """Parse the job file at ``path`` into job specs (task keys are checked by ``load_jobs``).

    Raises:
        JobFileError: the file is unreadable, not TOML, or has an invalid entry.
    """
    specs, problems = _parse_file(path)
    if problems:
        raise JobFileError(str(path), problems)
    return specs


def job_problems(jobs: Sequence[JobSpec], *, tasks: TaskTable) -> list[Text]:
    """Return one message per job that names an undeclared task or passes unfit arguments."""
    problems: list[Text] = []
    for job in jobs:
        task_problems = _task_problems(job.task_key, job.arguments, tasks)
        if task_problems:
            problems.append(_job_problem(job.job_id, task_problems))
    return problems


def _parse_file(
    path: str | Path, tasks: TaskTable | None = None
) -> tuple[list[JobSpec], list[Text]]:
    """Return the valid jobs of the file and every problem of the file and its entries.

    A file that cannot be read or parsed raises at once, because nothing else can be checked.
    A top-level problem does not stop the entries from being checked: a job that inherits an
    invalid top-level value is checked with the default instead, and the value is reported
    once at the top level.
    """
    source = str(path)
    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise JobFileError(
            source, [fill(FILE_UNREADABLE, cause=error.strerror or error)]
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise JobFileError(source, [fill(FILE_NOT_TOML, cause=error)]) from None

    problems: list[Text] = []
    unknown = sorted(set(document) - _FILE_KEYS)
    if unknown:
        problems.append(fill(UNKNOWN_TOP_LEVEL_KEYS, keys=unknown))
    timezone = document.get("timezone", DEFAULT_TIMEZONE)
    if not _is_timezone(timezone):
        problems.append(fill(TOP_LEVEL, problem=fill(UNKNOWN_TIME_ZONE, value=repr(timezone))))
        timezone = DEFAULT_TIMEZONE
    grace = document.get("misfire_grace_seconds", DEFAULT_MISFIRE_GRACE_SECONDS)
    if not _is_grace(grace):
        problems.append(fill(TOP_LEVEL, problem=fill(BAD_GRACE, value=repr(grace))))
        grace = DEFAULT_MISFIRE_GRACE_SECONDS
    entries = document.get("jobs", {})
    if not isinstance(entries, dict):
        problems.append(JOBS_NOT_TABLE)
        entries = {}

    specs: list[JobSpec] = []
    for job_id, entry in entries.items():
        spec, entry_problems = _parse_entry(job_id, entry, str(timezone), grace, tasks)
        if entry_problems:
            problems.append(_job_problem(job_id, entry_problems))
        elif spec is not None:
            specs.append(spec)
    return specs, problems


def _job_problem(job_id: str, problems: Sequence[Text]) -> Text:
    return fill(JOB, job=repr(job_id), problems=join_problems(problems))


def _parse_entry(
    job_id: str, entry: object, default_timezone: str, default_grace: int,
    tasks: TaskTable | None,
) -> tuple[JobSpec | None, list[Text]]:
    """Return the job of one entry, or None with every problem the entry has.

    Each field is checked even after an earlier one failed, so that one pass over the file
    reports all of an entry's problems. With ``tasks`` the task key and the arguments are
    checked too.
    """
    if not _JOB_ID.match(job_id):
        return None, [BAD_JOB_ID]
    if not isinstance(entry, dict):
        return None, [JOB_NOT_TABLE]
    problems: list[Text] = []
    unknown = sorted(set(entry) - _JOB_KEYS)
    if unknown:
        problems.append(fill(UNKNOWN_JOB_KEYS, keys=unknown))

    timezone = entry.get("timezone", default_timezone)
    if not _is_timezone(timezone):
        problems.append(fill(UNKNOWN_TIME_ZONE, value=repr(timezone)))
        timezone = DEFAULT_TIMEZONE
    cron, interval = _trigger_fields(entry, str(timezone), problems)
    task_key = entry.get("task")
    arguments = entry.get("arguments", {})
    if not isinstance(arguments, dict):
        problems.append(ARGUMENTS_NOT_TABLE)
        arguments = {}
    if not isinstance(task_key, str) or not task_key:
        problems.append(MISSING_TASK)
    elif tasks is not None and entry.get("enabled", True) is not False:
        # A disabled job may name a task whose module this process does not load.
        problems.extend(_task_problems(task_key, arguments, tasks))
    enabled = entry.get("enabled", True)
    coalesce = entry.get("coalesce", True)
    for name, value in (("enabled", enabled), ("coalesce", coalesce)):
        if not isinstance(value, bool):
            problems.append(fill(NOT_TRUE_OR_FALSE, field=name, value=repr(value)))
    grace = entry.get("misfire_grace_seconds", default_grace)
    if not _is_grace(grace):
        problems.append(fill(BAD_GRACE, value=repr(grace)))
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


def _task_problems(task_key: str, arguments: Mapping[str, Any], tasks: TaskTable) -> list[Text]:
    definition = tasks.find(task_key)
    if definition is None:
        known = ", ".join(item.key for item in tasks.all()) or NO_TASKS
        return [fill(UNKNOWN_TASK_KEY, task_key=repr(task_key), known=known)]
    try:
        definition.check_arguments(arguments)
    except TaskArgumentsError as error:
        reason = error.reason_text or Text(str(error), str(error))
        return [fill(BAD_ARGUMENTS, reason=reason)]
    return []


def _trigger_fields(
    entry: dict[str, Any], timezone: str, problems: list[Text]
) -> tuple[str | None, int | None]:
    """Return (cron, interval seconds) of an entry; a problem is appended instead of raised."""
    cron = entry.get("cron")
    interval = entry.get("interval")
    if (cron is None) == (interval is None):
        problems.append(CRON_OR_INTERVAL)
        return None, None
    if cron is not None:
        if not isinstance(cron, str):
            problems.append(CRON_NOT_TEXT)
            return None, None
        try:
            CronTrigger.from_crontab(cron, timezone=ZoneInfo(timezone))
        except ValueError as error:
            problems.append(fill(BAD_CRON, cron=repr(cron), cause=error))
        return cron, None
    seconds, problem = interval_seconds(interval)
    if problem is not None:
        problems.append(fill(BAD_INTERVAL, reason=problem))
    return None, seconds


def interval_seconds(value: object) -> tuple[int | None, Text | None]:
    """Return the seconds of an ``interval`` value, or None and the reason it is invalid.

    A string is a duration in the units that ``taskrun purge --older-than`` takes (``90s``,
    ``15m``, ``2h``, ``1d``, ``1w``). A bare integer is seconds. Both are limited to 100 years.
    TOML's ``true`` is no number.
    """
    maximum = int(MAX_DURATION.total_seconds())
    if isinstance(value, str):
        try:
            return int(parse_duration(value, option="interval").total_seconds()), None
        except InvalidDurationError as error:
            return None, error.reason_text
    if isinstance(value, int) and not isinstance(value, bool):
        if 1 <= value <= maximum:
            return value, None
        return None, fill(INTERVAL_SECONDS_RANGE, value=value, maximum=maximum)
    return None, fill(INTERVAL_NOT_DURATION, value=repr(value))


def _is_timezone(value: object) -> bool:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _is_grace(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1
