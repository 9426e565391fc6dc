"""Scheduler job-file errors in Chinese and English, one pass over the file, shared durations."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskrun_center.runners import SchedulerConfigError
from taskrun_center.runners.scheduler import load_jobs
from taskrun_center.runners.scheduler.job_errors import JobFileError
from tests.runners import sample_tasks  # noqa: F401 - declares the sample tasks
from tests.runners.processes import run_taskrun, taskrun_env


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "jobs.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path) -> JobFileError:
    with pytest.raises(JobFileError) as raised:
        load_jobs(path)
    return raised.value


# (entry of [jobs.broken_job], Chinese piece, English piece). Each piece names the field.
ENTRY_CASES = [
    ('task = "no_such_task"\ncron = "0 * * * *"',
     "task 的值 'no_such_task' 不是已声明的任务键", "unknown task key 'no_such_task' in 'task'"),
    ('cron = "0 * * * *"', "缺少 task", "missing 'task'"),
    ('task = "sample_count"\ncron = "61 * * * *"',
     "cron 表达式 '61 * * * *' 无效", "invalid cron expression '61 * * * *'"),
    ('task = "sample_count"\ncron = 5', "cron 必须是字符串", "'cron' must be a string"),
    ('task = "sample_count"', "cron 和 interval 必须写且只写一个",
     "give exactly one of 'cron' or 'interval'"),
    ('task = "sample_count"\ninterval = "soon"', "interval 无效：'soon' 不是有效的时长",
     "invalid interval: 'soon' is not a valid duration"),
    ('task = "sample_count"\ninterval = 0', "interval 无效：秒数 0 超出范围",
     "invalid interval: 0 seconds is out of range"),
    ('task = "sample_count"\ninterval = 1.5', "interval 无效：1.5 既不是时长也不是秒数",
     "invalid interval: 1.5 is neither a duration nor a number of seconds"),
    ('task = "sample_count"\ninterval = "5300w"', "超过上限 100 年", "exceeds the maximum"),
    ('task = "sample_count"\ncron = "0 * * * *"\ncolour = 1', "未知的键 ['colour']",
     "unknown keys ['colour']"),
    ('task = "sample_count"\ncron = "0 * * * *"\narguments = 3', "arguments 必须是表",
     "'arguments' must be a table"),
    ('task = "sample_slow"\ncron = "0 * * * *"\narguments = { seconds = "abc" }',
     "arguments 无效：", "invalid 'arguments': "),
    ('task = "sample_count"\ncron = "0 * * * *"\nenabled = "yes"',
     "enabled 的值 'yes' 无效：必须是 true 或 false",
     "invalid 'enabled' 'yes': it must be true or false"),
    ('task = "sample_count"\ncron = "0 * * * *"\ncoalesce = 1',
     "coalesce 的值 1 无效", "invalid 'coalesce' 1"),
    ('task = "sample_count"\ncron = "0 * * * *"\nmisfire_grace_seconds = 0',
     "misfire_grace_seconds 的值 0 无效", "invalid 'misfire_grace_seconds' 0"),
    ('task = "sample_count"\ncron = "0 * * * *"\ntimezone = "Mars/Olympus"',
     "timezone 的值 'Mars/Olympus' 不是已知的时区", "unknown time zone 'Mars/Olympus'"),
]


@pytest.mark.parametrize(("entry", "chinese", "english"), ENTRY_CASES)
def test_entry_problem_in_both_languages(
    tmp_path: Path, entry: str, chinese: str, english: str
) -> None:
    error = _error(_write(tmp_path, f"[jobs.broken_job]\n{entry}\n"))

    assert "调度任务 'broken_job'：" in error.reason_text.zh
    assert chinese in error.reason_text.zh
    assert "job 'broken_job': " in error.reason_text.en
    assert english in error.reason_text.en
    assert english in str(error)


def test_messages_carry_the_fix(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '[jobs.a]\ntask = "nope"\ncron = "0 * * * *"\n'
        '[jobs.b]\ntask = "sample_count"\ninterval = "soon"\n'
        '[jobs.c]\ntask = "sample_count"\ncron = "bad"\n',
    )

    error = _error(path)

    assert "TASKRUN_TASK_MODULES" in error.reason_text.zh
    assert "例如 30d、12h 或 90m" in error.reason_text.zh
    assert "例如 \"0 3 * * *\"" in error.reason_text.zh
    assert "such as '0 3 * * *'" in error.reason_text.en


def test_top_level_problems_keep_job_errors(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        timezone = "Mars/Olympus"
        misfire_grace_seconds = -1
        colour = "red"

        [jobs.first]
        task = "nope"
        cron = "0 * * * *"

        [jobs.second]
        task = "sample_count"
        interval = "soon"
        """,
    )

    error = _error(path)

    english = error.reason_text.en
    assert "top level: unknown time zone 'Mars/Olympus'" in english
    assert "top level: invalid 'misfire_grace_seconds' -1" in english
    assert "unknown top-level keys ['colour']" in english
    assert "job 'first': unknown task key 'nope'" in english
    assert "job 'second': invalid interval" in english
    assert "文件顶层：timezone 的值 'Mars/Olympus'" in error.reason_text.zh
    assert len(error.problems) == 5


def test_inherited_bad_time_zone_reported_once(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        'timezone = "Mars/Olympus"\n[jobs.hourly]\ntask = "sample_count"\ncron = "0 * * * *"\n',
    )

    error = _error(path)

    assert error.reason_text.en.count("Mars/Olympus") == 1
    assert "hourly" not in error.reason_text.en


def test_jobs_not_a_table(tmp_path: Path) -> None:
    error = _error(_write(tmp_path, 'timezone = "Nowhere/Land"\njobs = 3\n'))

    assert "jobs 必须是表" in error.reason_text.zh
    assert "Nowhere/Land" in error.reason_text.zh
    assert len(error.problems) == 2


def test_unreadable_and_non_toml_files(tmp_path: Path) -> None:
    missing = _error(tmp_path / "absent.toml")
    broken = _error(_write(tmp_path, "[jobs.x\n"))

    assert "无法读取文件" in missing.reason_text.zh
    assert "TASKRUN_SCHEDULER_CONFIG" in missing.reason_text.zh
    assert "不是有效的 TOML" in broken.reason_text.zh
    assert str(tmp_path) in broken.reason_text.zh


def test_error_is_scheduler_config_error(tmp_path: Path) -> None:
    with pytest.raises(SchedulerConfigError) as raised:
        load_jobs(_write(tmp_path, "[jobs.x\n"))

    assert raised.value.entry is None
    assert "not valid TOML" in raised.value.reason


@pytest.mark.parametrize(
    ("interval", "seconds"),
    [('"1w"', 604_800), ('"2W"', 1_209_600), ('"90m"', 5_400), ('" 30s "', 30), ("45", 45)],
)
def test_interval_takes_purge_units(tmp_path: Path, interval: str, seconds: int) -> None:
    path = _write(tmp_path, f'[jobs.weekly]\ntask = "sample_count"\ninterval = {interval}\n')

    jobs = {job.job_id: job for job in load_jobs(path)}

    assert jobs["weekly"].interval_seconds == seconds


def test_cli_prints_job_errors_in_chinese(sqlite_url: str, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        'timezone = "Mars/Olympus"\n[jobs.nightly]\ntask = "sample_count"\ncron = "0 25 * * *"\n',
    )
    env = taskrun_env(sqlite_url, TASKRUN_LANGUAGE="zh-CN")

    result = run_taskrun(sqlite_url, "scheduler", "--config", str(path), env=env)

    assert result.returncode == 2
    assert "调度任务 'nightly'：cron 表达式 '0 25 * * *' 无效" in result.stderr
    assert "文件顶层：timezone 的值 'Mars/Olympus'" in result.stderr
    assert "invalid cron expression" not in result.stderr


def test_cli_prints_job_errors_in_english(sqlite_url: str, tmp_path: Path) -> None:
    path = _write(tmp_path, '[jobs.nightly]\ntask = "sample_count"\ninterval = "1y"\n')

    result = run_taskrun(sqlite_url, "--lang", "en", "scheduler", "--config", str(path))

    assert result.returncode == 2
    assert "job 'nightly': invalid interval: '1y' is not a valid duration" in result.stderr
