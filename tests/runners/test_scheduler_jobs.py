"""Scheduler job files: defaults, overrides and validation that names the bad entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskrun_center.runners import SchedulerConfigError
from taskrun_center.runners.scheduler import load_jobs
from taskrun_center.runners.scheduler.jobs import interval_seconds
from tests.runners import sample_tasks  # noqa: F401 - declares the sample tasks
from tests.runners.processes import run_taskrun


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "jobs.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_cover_builtin_tasks() -> None:
    jobs = {job.job_id: job for job in load_jobs(None)}

    assert set(jobs) == {"task_runs_purge", "task_runs_audit", "task_runs_reap"}
    assert jobs["task_runs_reap"].interval_seconds == 300
    assert jobs["task_runs_purge"].cron == "30 3 * * *"


def test_file_adds_overrides_and_disables(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        timezone = "Asia/Shanghai"
        misfire_grace_seconds = 60

        [jobs.count_hourly]
        task = "sample_count"
        cron = "0 * * * *"
        arguments = { count = 5 }

        [jobs.task_runs_reap]
        task = "task_runs_reap"
        interval = "1m"

        [jobs.task_runs_audit]
        task = "task_runs_audit"
        cron = "0 4 * * *"
        enabled = false
        """,
    )

    jobs = {job.job_id: job for job in load_jobs(path)}

    assert set(jobs) == {"count_hourly", "task_runs_reap", "task_runs_purge"}
    assert jobs["count_hourly"].arguments == {"count": 5}
    assert jobs["count_hourly"].timezone == "Asia/Shanghai"
    assert jobs["count_hourly"].misfire_grace_seconds == 60
    assert jobs["task_runs_reap"].interval_seconds == 60


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ('task = "no_such_task"\ncron = "0 * * * *"', "unknown task key 'no_such_task'"),
        ('task = "sample_count"\ncron = "61 * * * *"', "invalid cron expression '61 * * * *'"),
        ('task = "sample_count"\ncron = "* * *"', "invalid cron expression"),
        ('task = "sample_count"', "exactly one of 'cron' or 'interval'"),
        ('task = "sample_count"\ncron = "0 * * * *"\ninterval = 60', "exactly one of"),
        ('task = "sample_count"\ninterval = "soon"', "invalid interval"),
        ('task = "sample_count"\ncron = "0 * * * *"\ncolour = 1', "unknown keys ['colour']"),
        (
            'task = "sample_count"\ncron = "0 * * * *"\narguments = { colour = 1 }',
            "colour",
        ),
    ],
)
def test_invalid_entry_names_job(tmp_path: Path, entry: str, expected: str) -> None:
    path = _write(tmp_path, f"[jobs.broken_job]\n{entry}\n")

    with pytest.raises(SchedulerConfigError) as raised:
        load_jobs(path)

    assert "broken_job" in str(raised.value)
    assert expected in str(raised.value)


def test_every_invalid_entry_is_listed(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '[jobs.first]\ntask = "nope"\ncron = "0 * * * *"\n'
        '[jobs.second]\ntask = "sample_count"\ncron = "bad"\n',
    )

    with pytest.raises(SchedulerConfigError) as raised:
        load_jobs(path)

    assert "'first'" in str(raised.value)
    assert "'second'" in str(raised.value)


def test_entry_reports_every_problem(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        [jobs.broken]
        task = "nope"
        interval = "-5s"
        timezone = "Mars/Olympus"
        """,
    )

    with pytest.raises(SchedulerConfigError) as raised:
        load_jobs(path)

    reason = raised.value.reason
    assert "'broken'" in reason
    assert "unknown task key 'nope'" in reason
    assert "invalid interval" in reason
    assert "'-5s'" in reason
    assert "unknown time zone 'Mars/Olympus'" in reason


def test_entry_reports_wrong_argument_type(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        [jobs.slow]
        task = "sample_slow"
        cron = "0 * * * * * *"
        arguments = { seconds = "abc" }
        """,
    )

    with pytest.raises(SchedulerConfigError) as raised:
        load_jobs(path)

    assert "invalid cron expression" in raised.value.reason
    assert "seconds" in raised.value.reason
    assert "abc" in raised.value.reason


def test_job_time_zone_overrides_file(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        timezone = "Asia/Shanghai"

        [jobs.count_daily]
        task = "sample_count"
        cron = "0 3 * * *"
        timezone = "Europe/Berlin"
        """,
    )

    jobs = {job.job_id: job for job in load_jobs(path)}

    assert jobs["count_daily"].timezone == "Europe/Berlin"


def test_file_that_is_not_toml_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, "[jobs.x\n")

    with pytest.raises(SchedulerConfigError, match="not valid TOML"):
        load_jobs(path)


def test_missing_file_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(SchedulerConfigError, match="cannot read the file"):
        load_jobs(tmp_path / "absent.toml")


def test_unknown_time_zone_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, 'timezone = "Mars/Olympus"\n')

    with pytest.raises(SchedulerConfigError, match="Mars/Olympus"):
        load_jobs(path)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("15m", 900), ("2h", 7200), ("1d", 86400), ("1w", 604800)],
)
def test_duration_forms(text: str, seconds: int) -> None:
    assert interval_seconds(text) == (seconds, None)


def test_scheduler_cli_refuses_bad_file(sqlite_url: str, tmp_path: Path) -> None:
    path = _write(tmp_path, '[jobs.nightly]\ntask = "sample_count"\ncron = "0 25 * * *"\n')

    result = run_taskrun(sqlite_url, "scheduler", "--config", str(path))

    assert result.returncode == 2
    assert "nightly" in result.stderr
    assert "0 25 * * *" in result.stderr
    status = run_taskrun(sqlite_url, "scheduler", "status", "--format", "json")
    assert status.returncode == 1
    assert '"leader": null' in status.stdout
