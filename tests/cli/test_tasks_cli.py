"""``taskrun tasks list`` and ``taskrun run``."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from taskrun_center.storage.engine import Database
from tests.runners.processes import run_taskrun, start_taskrun, wait_for
from tests.runners.rows import load_run, runs_of


def test_tasks_list_shows_builtin_and_module_tasks(sqlite_url: str) -> None:
    result = run_taskrun(sqlite_url, "tasks", "list", "--format", "json")

    assert result.returncode == 0
    tasks = {entry["key"]: entry for entry in json.loads(result.stdout)["tasks"]}
    assert {"task_runs_purge", "task_runs_audit", "task_runs_reap", "sample_count"} <= set(tasks)
    assert tasks["task_runs_purge"]["name_zh"] == "清理过期运行记录"
    assert tasks["task_runs_purge"]["name_en"] == "Purge old runs"
    assert tasks["sample_async"]["is_async"] is True
    assert tasks["sample_count"]["metrics"][0]["key"] == "processed"


def test_tasks_list_text_in_english(sqlite_url: str) -> None:
    result = run_taskrun(sqlite_url, "--lang", "en", "tasks", "list")

    assert result.returncode == 0
    assert "Audit stored runs" in result.stdout
    assert "Key" in result.stdout


def test_run_records_cli_run_with_arguments(sqlite_url: str) -> None:
    result = run_taskrun(sqlite_url, "run", "sample_count", "--arg", "count=2", "--format", "json")

    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["status"] == "completed"
    run = load_run(Database(sqlite_url), outcome["run_id"])
    assert run.trigger_source == "cli"
    assert run.progress_completed == 2


def test_run_exits_1_when_run_fails(sqlite_url: str) -> None:
    result = run_taskrun(sqlite_url, "run", "sample_crash")

    assert result.returncode == 1
    [run] = runs_of(Database(sqlite_url), "sample_crash")
    assert run.status == "failed"
    assert run.run_id in result.stdout


def test_run_unknown_task_is_usage_error(sqlite_url: str) -> None:
    result = run_taskrun(sqlite_url, "run", "no_such_task")

    assert result.returncode == 2
    assert "没有以 no_such_task 为任务键声明的任务" in result.stderr
    assert "taskrun tasks list" in result.stderr
    assert "--task-module" in result.stderr
    assert "TASKRUN_TASK_MODULES" in result.stderr
    assert "not registered" not in result.stderr


def test_run_unknown_task_in_english(sqlite_url: str) -> None:
    result = run_taskrun(sqlite_url, "--lang", "en", "run", "no_such_task")

    assert result.returncode == 2
    assert "No task is declared under the key no_such_task." in result.stderr
    assert "taskrun tasks list" in result.stderr


def test_run_unknown_argument_is_usage_error(sqlite_url: str) -> None:
    result = run_taskrun(sqlite_url, "run", "sample_count", "--arg", "colour=red")

    assert result.returncode == 2
    assert "colour" in result.stderr
    assert runs_of(Database(sqlite_url), "sample_count") == []


def test_run_malformed_argument_is_usage_error(sqlite_url: str) -> None:
    result = run_taskrun(sqlite_url, "run", "sample_count", "--arg", "count")

    assert result.returncode == 2
    assert "key=value" in result.stderr


def test_run_wrong_argument_type_is_usage_error(sqlite_url: str) -> None:
    for raw in ("seconds=abc", 'seconds={"a":1}'):
        result = run_taskrun(sqlite_url, "run", "sample_slow", "--arg", raw)

        assert result.returncode == 2
        assert "seconds" in result.stderr
        assert "应为数字" in result.stderr
    assert runs_of(Database(sqlite_url), "sample_slow") == []


def test_run_repeated_argument_is_usage_error(sqlite_url: str) -> None:
    result = run_taskrun(
        sqlite_url, "--lang", "en", "run", "sample_count", "--arg", "count=1", "--arg", "count=2"
    )

    assert result.returncode == 2
    assert "count" in result.stderr
    assert "more than once" in result.stderr
    assert runs_of(Database(sqlite_url), "sample_count") == []


def test_unimportable_task_module_is_usage_error(sqlite_url: str) -> None:
    result = run_taskrun(sqlite_url, "tasks", "list", "--task-module", "no.such.module")

    assert result.returncode == 2
    assert "no.such.module" in result.stderr


def test_ctrl_c_cancels_run(sqlite_url: str, tmp_path: Path) -> None:
    marker = tmp_path / "started"
    process = start_taskrun(
        sqlite_url,
        "run",
        "sample_slow",
        "--arg",
        "count=1000",
        "--arg",
        "seconds=0.05",
        "--arg",
        f"marker={marker}",
        log_path=tmp_path / "run.log",
    )
    wait_for(marker.exists, 30, "the task started")

    process.send_signal(signal.SIGINT)
    code = process.wait(timeout=30)

    [run] = runs_of(Database(sqlite_url), "sample_slow")
    assert code == 130
    assert run.status == "cancelled"
