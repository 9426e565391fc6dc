"""``taskrun exec`` as a real process: exit statuses, output, metrics, masking, signals."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from sqlalchemy import select

from taskrun_center.lifecycle.write_service import TaskRunsWriteService
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun
from tests.runners.processes import run_taskrun, start_taskrun, taskrun_env, wait_for
from tests.runners.rows import load_items, runs_of


def _exec(url: str, *command: str, key: str = "wrapped_job") -> tuple[int, str, str]:
    result = run_taskrun(url, "exec", "--task-key", key, "--name", "包装任务", "--", *command)
    return result.returncode, result.stdout, result.stderr


def _only_run(database: Database, key: str = "wrapped_job") -> TaskRun:
    [run] = runs_of(database, key)
    return run


def test_success_records_completed_run(sqlite_url: str) -> None:
    code, out, _ = _exec(sqlite_url, "sh", "-c", "echo hello; echo warn >&2")

    database = Database(sqlite_url)
    run = _only_run(database)
    assert code == 0
    assert "hello" in out
    assert run.status == "completed"
    assert run.trigger_source == "cli"
    assert run.task_name == "包装任务"
    assert run.summary_json["ext"]["data"] == {
        "runner": "exec",
        "command": "sh",
        "exit_code": 0,
        "signal": None,
    }
    item = load_items(database, run.run_id)["sh"]
    assert item.details_json is not None
    assert item.details_json["stdout_tail"] == ["hello"]
    assert item.details_json["stderr_tail"] == ["warn"]
    assert item.metrics_json is not None
    assert item.metrics_json["exit_code"] == 0


def test_failure_returns_command_status(sqlite_url: str) -> None:
    code, _, _ = _exec(sqlite_url, "sh", "-c", "exit 3")

    run = _only_run(Database(sqlite_url))
    assert code == 3
    assert run.status == "failed"
    assert "3" in (run.error_message or "")
    metrics = {metric["key"]: metric for metric in run.summary_json["common"]["metrics"]}
    assert metrics["exit_code"]["value"] == 3
    assert metrics["exit_code"]["tone"] == "danger"


def test_signal_gives_128_plus_n(sqlite_url: str) -> None:
    code, _, _ = _exec(sqlite_url, "sh", "-c", "kill -KILL $$")

    run = _only_run(Database(sqlite_url))
    assert code == 128 + signal.SIGKILL
    assert run.status == "failed"
    assert run.summary_json["ext"]["data"]["signal"] == "SIGKILL"


def test_missing_command_exits_127(sqlite_url: str) -> None:
    code, _, _ = _exec(sqlite_url, "no-such-command-xyz", "--flag")

    run = _only_run(Database(sqlite_url))
    assert code == 127
    assert run.status == "failed"
    assert run.error_message is not None
    assert run.error_message.startswith("找不到命令 no-such-command-xyz：")


def test_metric_lines_become_summary_metrics(sqlite_url: str) -> None:
    script = (
        "echo '::taskrun metric key=rows_copied value=1200 unit=rows tone=success';"
        "echo '::taskrun metric key=lag_seconds value=2.5 unit=s label=\"Replica lag\"';"
        "echo '::taskrun metric key=Bad value=1'"
    )
    code, _, _ = _exec(sqlite_url, "sh", "-c", script)

    database = Database(sqlite_url)
    run = _only_run(database)
    metrics = {metric["key"]: metric for metric in run.summary_json["common"]["metrics"]}
    assert code == 0
    assert metrics["rows_copied"] == {
        "key": "rows_copied",
        "label": "rows_copied",
        "value": 1200,
        "unit": "rows",
        "tone": "success",
    }
    assert metrics["lag_seconds"]["label"] == "Replica lag"
    assert "Bad" not in metrics
    details = load_items(database, run.run_id)["sh"].details_json or {}
    assert len(details["ignored_metric_lines"]) == 1


def test_secret_metric_name_is_ignored_by_contract(sqlite_url: str) -> None:
    code, _, _ = _exec(sqlite_url, "sh", "-c", "echo '::taskrun metric key=db_password value=x'")

    database = Database(sqlite_url)
    run = _only_run(database)
    details = load_items(database, run.run_id)["sh"].details_json or {}
    assert code == 0
    assert run.status == "completed"
    assert all(metric["key"] != "db_password" for metric in run.summary_json["common"]["metrics"])
    assert len(details["ignored_metric_lines"]) == 1
    assert "secret.key_name" in details["ignored_metric_lines"][0]


def test_bad_metric_lines_keep_summary(sqlite_url: str) -> None:
    script = (
        "echo '::taskrun metric key=bad value=NaN';"
        "echo '::taskrun metric key=big value=inf';"
        "echo '::taskrun metric key=password value=hunter2secret';"
        "echo '::taskrun metric key=exit_code value=99';"
        "echo '::taskrun metric key=rows value=5'"
    )
    code, _, _ = _exec(sqlite_url, "sh", "-c", script)

    database = Database(sqlite_url)
    run = _only_run(database)
    metrics = {metric["key"]: metric for metric in run.summary_json["common"]["metrics"]}
    details = load_items(database, run.run_id)["sh"].details_json or {}
    ignored = details["ignored_metric_lines"]
    assert code == 0
    assert run.status == "completed"
    assert metrics["exit_code"]["value"] == 0
    assert metrics["rows"]["value"] == 5
    assert "duration_ms" in metrics
    assert set(metrics) == {"exit_code", "duration_ms", "rows"}
    assert details["ignored_metric_line_count"] == 4
    assert "json.non_finite_number" in ignored[0]
    assert "json.non_finite_number" in ignored[1]
    assert "secret.key_name" in ignored[2]
    assert "hunter2secret" not in str(ignored)
    assert "exec.reserved_key" in ignored[3]


def test_metrics_over_capacity_are_listed(sqlite_url: str) -> None:
    script = "for i in $(seq 1 60); do echo \"::taskrun metric key=m$i value=$i\"; done"
    code, _, _ = _exec(sqlite_url, "sh", "-c", script)

    database = Database(sqlite_url)
    run = _only_run(database)
    keys = [metric["key"] for metric in run.summary_json["common"]["metrics"]]
    details = load_items(database, run.run_id)["sh"].details_json or {}
    assert code == 0
    assert run.status == "completed"
    assert len(keys) == 50
    assert keys[-1] == "m48"
    assert details["ignored_metric_line_count"] == 12
    assert "'m49'" in details["ignored_metric_lines"][0]
    assert "capacity.array_items" in details["ignored_metric_lines"][0]
    assert "'m60'" in details["ignored_metric_lines"][-1]


def test_nul_in_output_is_stored_visibly(sqlite_url: str) -> None:
    code, _, _ = _exec(sqlite_url, "printf", "ok\\0done\\n")

    database = Database(sqlite_url)
    run = _only_run(database)
    details = load_items(database, run.run_id)["printf"].details_json or {}
    assert code == 0
    assert run.status == "completed"
    assert details["stdout_tail"] == ["ok\u2400done"]


def test_duration_has_millisecond_unit(sqlite_url: str) -> None:
    _exec(sqlite_url, "true")

    run = _only_run(Database(sqlite_url))
    metrics = {metric["key"]: metric for metric in run.summary_json["common"]["metrics"]}
    assert metrics["duration_ms"]["unit"] == "ms"
    assert isinstance(metrics["duration_ms"]["value"], int)
    assert "duration_seconds" not in metrics


def test_command_dies_with_killed_recorder(sqlite_url: str, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    child = (
        f"import os, pathlib\n"
        f"pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid()))\n"
        f"os.execvp('sleep', ['sleep', '300'])\n"
    )
    process = start_taskrun(
        sqlite_url,
        "exec",
        "--task-key",
        "wrapped_job",
        "--",
        sys.executable,
        "-c",
        child,
        log_path=tmp_path / "exec.log",
    )
    wait_for(lambda: pid_file.exists() and pid_file.read_text() != "", 30, "the child started")
    child_pid = int(pid_file.read_text())

    process.kill()
    process.wait(timeout=30)

    wait_for(lambda: not _process_alive(child_pid), 30, "the command died with taskrun exec")
    assert not _process_alive(child_pid)


def _process_alive(pid: int) -> bool:
    """Return True while ``pid`` runs; a zombie waiting to be reaped counts as ended."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


def test_secret_in_output_is_masked_in_storage(sqlite_url: str) -> None:
    script = (
        "echo 'connecting to postgresql://app:Sup3rS3cret@db.internal/prod';"
        "echo 'token=ghp_abcdefghijklmnopqrstuvwxyz0123456789' >&2; exit 1"
    )
    code, out, _ = _exec(sqlite_url, "sh", "-c", script)

    database = Database(sqlite_url)
    run = _only_run(database)
    item = load_items(database, run.run_id)["sh"]
    stored = str(item.details_json) + str(item.item_name) + str(run.summary_json)
    assert code == 1
    assert "Sup3rS3cret" in out
    assert "Sup3rS3cret" not in stored
    assert "ghp_abcdefghijklmnopqrstuvwxyz0123456789" not in stored


def test_sigterm_is_forwarded_and_run_cancelled(sqlite_url: str, tmp_path: Path) -> None:
    started = tmp_path / "started"
    got_term = tmp_path / "got-term"
    child = (
        f"import pathlib, signal, sys, time\n"
        f"def stop(signum, frame):\n"
        f"    pathlib.Path({str(got_term)!r}).write_text('yes'); sys.exit(143)\n"
        f"signal.signal(signal.SIGTERM, stop)\n"
        f"pathlib.Path({str(started)!r}).write_text('ok')\n"
        f"time.sleep(60)\n"
    )
    process = start_taskrun(
        sqlite_url,
        "exec",
        "--task-key",
        "wrapped_job",
        "--",
        sys.executable,
        "-c",
        child,
        log_path=tmp_path / "exec.log",
    )
    wait_for(started.exists, 30, "the child started")

    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=30)

    run = _only_run(Database(sqlite_url))
    assert got_term.read_text() == "yes"
    assert code == 143
    assert run.status == "cancelled"
    item = load_items(Database(sqlite_url), run.run_id)[Path(sys.executable).name]
    assert item.details_json is not None
    assert item.details_json["forwarded_signal"] == "SIGTERM"


def test_sigint_is_forwarded(sqlite_url: str, tmp_path: Path) -> None:
    started = tmp_path / "started"
    process = start_taskrun(
        sqlite_url,
        "exec",
        "--task-key",
        "wrapped_job",
        "--",
        "sh",
        "-c",
        f"touch {started}; sleep 60",
        log_path=tmp_path / "exec.log",
    )
    wait_for(started.exists, 30, "the child started")

    process.send_signal(signal.SIGINT)
    code = process.wait(timeout=30)

    assert code == 128 + signal.SIGINT
    assert _only_run(Database(sqlite_url)).status == "cancelled"


def test_cancelled_run_stops_command(sqlite_url: str, tmp_path: Path) -> None:
    started = tmp_path / "started"
    process = start_taskrun(
        sqlite_url,
        "exec",
        "--task-key",
        "wrapped_job",
        "--",
        "sh",
        "-c",
        f"touch {started}; sleep 60",
        log_path=tmp_path / "exec.log",
    )
    wait_for(started.exists, 30, "the child started")
    database = Database(sqlite_url)
    run_id = _only_run(database).run_id
    with database.transaction() as session:
        TaskRunsWriteService(session).cancel_run(run_id)

    code = process.wait(timeout=30)

    assert code == 143
    with database.session() as session:
        status = session.scalar(select(TaskRun.status).where(TaskRun.run_id == run_id))
    assert status == "cancelled"


def test_missing_command_argument_is_usage_error(sqlite_url: str) -> None:
    result = run_taskrun(sqlite_url, "exec", "--task-key", "wrapped_job")

    assert result.returncode == 2
    assert runs_of(Database(sqlite_url), "wrapped_job") == []


def test_invalid_task_key_is_usage_error(sqlite_url: str, tmp_path: Path) -> None:
    marker = tmp_path / "started"
    result = run_taskrun(sqlite_url, "exec", "--task-key", "Bad Key", "--",
                         "touch", str(marker))

    assert result.returncode == 2, result.stderr
    assert "任务键 'Bad Key' 无效" in result.stderr
    assert "字母或数字开头" in result.stderr
    assert "ext.type" not in result.stderr
    assert not marker.exists()
    assert runs_of(Database(sqlite_url), "Bad Key") == []


def test_task_key_rule_is_the_contract_pattern(sqlite_url: str) -> None:
    from taskrun_center.contract.models import TASK_KEY_PATTERN

    env = taskrun_env(sqlite_url, TASKRUN_LANGUAGE="en")
    result = run_taskrun(sqlite_url, "exec", "--task-key", "-leading-dash", "--", "true",
                         env=env)

    assert result.returncode == 2, result.stderr
    assert "Invalid task key '-leading-dash'" in result.stderr
    assert f"(pattern {TASK_KEY_PATTERN})" in result.stderr


def test_dotted_task_key_is_accepted(sqlite_url: str) -> None:
    result = run_taskrun(sqlite_url, "exec", "--task-key", "Backup.db-1:nightly", "--", "true")

    assert result.returncode == 0, result.stderr
    assert len(runs_of(Database(sqlite_url), "Backup.db-1:nightly")) == 1


def test_markup_in_task_key_is_printed(sqlite_url: str) -> None:
    result = run_taskrun(sqlite_url, "exec", "--task-key", "[/x]", "--", "true")

    assert result.returncode == 2, result.stderr
    assert "任务键 '[/x]' 无效" in result.stderr
    assert "Traceback" not in result.stderr


def test_secret_category_rejected_in_cli_language(sqlite_url: str, tmp_path: Path) -> None:
    marker = tmp_path / "started"
    secret = "token=ghp_abcdefghijklmnopqrstuvwxyz0123456789"
    argv = ("exec", "--task-key", "wrapped_job", "--category", secret, "--",
            "touch", str(marker))

    chinese = run_taskrun(sqlite_url, *argv)
    english = run_taskrun(sqlite_url, "--lang", "en", *argv)

    assert chinese.returncode == 1, chinese.stderr
    assert "task_category 无效：含有密钥" in chinese.stderr
    assert "invalid task_category: contains a secret" in english.stderr
    assert "ghp_" not in chinese.stderr + english.stderr
    assert not marker.exists()
    assert runs_of(Database(sqlite_url), "wrapped_job") == []


def test_control_character_category_rejected(sqlite_url: str, tmp_path: Path) -> None:
    marker = tmp_path / "started"

    result = run_taskrun(sqlite_url, "--lang", "en", "exec", "--task-key", "wrapped_job",
                         "--category", "bad\x01cat", "--", "touch", str(marker))

    assert result.returncode == 1, result.stderr
    assert "invalid task_category: contains a control character" in result.stderr
    assert not marker.exists()
    assert runs_of(Database(sqlite_url), "wrapped_job") == []


def test_second_signal_to_stubborn_command(sqlite_url: str,
                                                              tmp_path: Path) -> None:
    started = tmp_path / "started"
    child = (
        f"import pathlib, signal, time\n"
        f"signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        f"pathlib.Path({str(started)!r}).write_text('ok')\n"
        f"time.sleep(120)\n"
    )
    process = start_taskrun(sqlite_url, "exec", "--task-key", "stubborn_job", "--",
                            sys.executable, "-c", child, log_path=tmp_path / "exec.log")
    wait_for(started.exists, 30, "the child started")

    process.send_signal(signal.SIGINT)
    time.sleep(0.5)
    assert process.poll() is None
    process.send_signal(signal.SIGINT)
    code = process.wait(timeout=30)

    assert code == 128 + signal.SIGKILL
    assert _only_run(Database(sqlite_url), "stubborn_job").status == "cancelled"


def test_secret_echoed_bare_is_masked_in_tails(sqlite_url: str, tmp_path: Path) -> None:
    """A value from a secret variable or argument is masked wherever the output repeats it."""
    env = {**taskrun_env(sqlite_url), "DB_PASSWORD": "Env5ecretValue"}
    result = run_taskrun(
        sqlite_url, "exec", "--task-key", "wrapped_job", "--",
        "env", "PGPASSWORD=Hunter2Secret", "sh", "-c",
        f"echo $PGPASSWORD; echo $DB_PASSWORD >&2; echo {tmp_path}", env=env)

    assert result.returncode == 0, result.stderr
    run = _only_run(Database(sqlite_url))
    item = load_items(Database(sqlite_url), run.run_id)["env"]
    assert item.details_json is not None
    stored = str(item.details_json) + str(item.item_name)
    assert "Hunter2Secret" not in stored
    assert "Env5ecretValue" not in stored
    assert item.details_json["stdout_tail"] == ["******", str(tmp_path)]
    assert item.details_json["stderr_tail"] == ["******"]


def test_known_secrets_in_metrics_and_long_lines(sqlite_url: str) -> None:
    """Known secrets go before a line is cut or read as a metric, the longest first."""
    env = {**taskrun_env(sqlite_url), "DB_PASSWORD": "Zq8xLmN4pQrS7tUv",
           "PGPASSWORD": "abcdef", "MY_TOKEN": "abcdefXYZ12345"}
    script = ('echo "::taskrun metric key=u value=$DB_PASSWORD unit=$DB_PASSWORD '
              'label=$DB_PASSWORD"; printf "%0390d%s\\n" 0 "$DB_PASSWORD"; '
              'echo "val $MY_TOKEN"')
    result = run_taskrun(sqlite_url, "exec", "--task-key", "wrapped_job", "--",
                         "sh", "-c", script, env=env)

    assert result.returncode == 0, result.stderr
    run = _only_run(Database(sqlite_url))
    item = load_items(Database(sqlite_url), run.run_id)["sh"]
    stored = str(run.summary_json) + str(item.details_json)
    for fragment in ("Zq8xLmN4p", "XYZ12345", "abcdef"):
        assert fragment not in stored, fragment
    assert item.details_json is not None
    assert item.details_json["stdout_tail"][-1] == "val ******"
