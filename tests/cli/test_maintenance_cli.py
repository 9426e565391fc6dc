"""``taskrun purge``, ``taskrun audit`` and ``taskrun reap`` against a migrated SQLite file."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from taskrun_center.cli.app import app
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun, TaskRunItem
from taskrun_center.storage.types import utcnow
from tests.maintenance.rows import add_items, add_run, envelope, large_envelope

runner = CliRunner()


def _seed(url: str) -> None:
    """Add 4 old finished runs, 1 young one and 1 running one, each with 2 items."""
    now = utcnow()
    database = Database(url)
    with database.transaction() as session:
        for days in (40, 41, 42, 43, 1):
            run = add_run(session, task_key="backup_db", started_at=now - timedelta(days=days))
            add_items(session, run, ["completed", "failed"])
        running = add_run(session, status="running", started_at=now - timedelta(days=50))
        # The reaper counts an item update as activity, so the items must be as old as the run.
        for item in add_items(session, running, ["running", "pending"]):
            item.updated_at = now - timedelta(days=50)
    database.dispose()


def _counts(url: str) -> tuple[int, int]:
    database = Database(url)
    with database.session() as session:
        runs = session.scalar(select(func.count()).select_from(TaskRun)) or 0
        items = session.scalar(select(func.count()).select_from(TaskRunItem)) or 0
    database.dispose()
    return runs, items


def test_purge_json_reports_counts(sqlite_url: str) -> None:
    _seed(sqlite_url)

    result = runner.invoke(app, ["purge", "--older-than", "30d", "--keep-last", "1",
                                 "--format", "json", "--database-url", sqlite_url])

    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["counts"] == {"task_runs": 4, "task_run_items": 8}
    assert payload["dry_run"] is False
    assert _counts(sqlite_url) == (2, 4)


def test_purge_dry_run_matches_real_run(sqlite_url: str) -> None:
    _seed(sqlite_url)
    arguments = ["purge", "--older-than", "30d", "--keep-last", "2", "--format", "json",
                 "--database-url", sqlite_url]

    dry = json.loads(runner.invoke(app, [*arguments, "--dry-run"]).stdout)
    unchanged = _counts(sqlite_url)
    real = json.loads(runner.invoke(app, arguments).stdout)

    assert unchanged == (6, 12)
    assert dry["counts"] == real["counts"]
    assert real["counts"]["task_runs"] == 3


def test_purge_text_prints_table_counts(sqlite_url: str) -> None:
    _seed(sqlite_url)

    result = runner.invoke(app, ["purge", "--older-than", "30d", "--keep-last", "0",
                                 "--database-url", sqlite_url])

    assert result.exit_code == 0, result.output
    assert "task_runs" in result.stdout
    assert "task_run_items" in result.stdout
    assert _counts(sqlite_url) == (2, 4)


@pytest.mark.parametrize("value", ["30", "3x", "-1d", "0d", "d30"])
def test_purge_bad_duration_names_option(sqlite_url: str, value: str) -> None:
    result = runner.invoke(app, ["purge", "--older-than", value, "--database-url", sqlite_url])

    assert result.exit_code == 2
    assert "--older-than" in result.output


def test_purge_running_status_is_usage_error(sqlite_url: str) -> None:
    result = runner.invoke(app, ["purge", "--status", "running", "--database-url", sqlite_url])

    assert result.exit_code == 2
    assert "--status running 无效：清理只删除已结束的运行" in result.output
    assert "completed_with_errors（部分失败）" in result.output
    assert "cannot be purged" not in result.output


def test_purge_unknown_status_deletes_nothing(sqlite_url: str) -> None:
    _seed(sqlite_url)

    result = runner.invoke(app, ["purge", "--status", "failed", "--status", "done", "--yes",
                                 "--older-than", "1s", "--database-url", sqlite_url])

    assert result.exit_code == 2
    assert "--status done 无效" in result.output
    assert _counts(sqlite_url) == (6, 12)


def test_purge_all_without_terminal_refuses(sqlite_url: str) -> None:
    _seed(sqlite_url)

    result = runner.invoke(app, ["purge", "--all", "--database-url", sqlite_url])

    assert result.exit_code == 2
    assert "--yes" in result.output
    assert _counts(sqlite_url) == (6, 12)


def test_purge_all_with_yes_deletes_everything(sqlite_url: str) -> None:
    _seed(sqlite_url)

    result = runner.invoke(app, ["purge", "--all", "--yes", "--format", "json",
                                 "--database-url", sqlite_url])

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counts"] == {"task_runs": 6, "task_run_items": 12}
    assert _counts(sqlite_url) == (0, 0)


def test_purge_all_terminal_declined_keeps_data(sqlite_url: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(sqlite_url)
    monkeypatch.setattr("taskrun_center.cli.maintenance.stdin_is_terminal", lambda: True)

    result = runner.invoke(app, ["purge", "--all", "--database-url", sqlite_url], input="n\n")

    assert result.exit_code == 1
    assert _counts(sqlite_url) == (6, 12)


def test_purge_all_terminal_confirmed_deletes(sqlite_url: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(sqlite_url)
    monkeypatch.setattr("taskrun_center.cli.maintenance.stdin_is_terminal", lambda: True)

    result = runner.invoke(app, ["purge", "--all", "--database-url", sqlite_url], input="y\n")

    assert result.exit_code == 0, result.output
    assert _counts(sqlite_url) == (0, 0)


def test_purge_all_rejects_filters(sqlite_url: str) -> None:
    result = runner.invoke(app, ["purge", "--all", "--yes", "--task-key", "backup_db",
                                 "--database-url", sqlite_url])

    assert result.exit_code == 2


def _block_deletes(sqlite_url: str) -> None:
    # A trigger makes every DELETE of a run fail, so the first batch of a purge fails.
    database = Database(sqlite_url)
    with database.transaction() as session:
        session.execute(text("CREATE TRIGGER block_delete BEFORE DELETE ON task_runs "
                             "BEGIN SELECT RAISE(ABORT, 'blocked'); END"))
    database.dispose()


def test_purge_failed_batch_exits_1(sqlite_url: str) -> None:
    _seed(sqlite_url)
    _block_deletes(sqlite_url)

    result = runner.invoke(app, ["purge", "--older-than", "30d", "--keep-last", "0",
                                 "--format", "json", "--database-url", sqlite_url])

    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["counts"] == {"task_runs": 0, "task_run_items": 0}
    assert payload["failed_batch"] == 1
    assert _counts(sqlite_url) == (6, 12)


def test_purge_failed_batch_text_names_operation(sqlite_url: str) -> None:
    _seed(sqlite_url)
    _block_deletes(sqlite_url)

    result = runner.invoke(app, ["purge", "--older-than", "30d", "--keep-last", "0", "--yes",
                                 "--database-url", sqlite_url])

    # The log lines keep the English operation name; the error line names it in Chinese.
    [line] = [line for line in result.output.splitlines() if line.startswith("错误：")]
    assert result.exit_code == 1
    assert "第 1 批删除失败并已回滚" in line
    assert "原因：分批清理失败：" in line
    assert "purge batch" not in line


def test_audit_clean_exits_0(sqlite_url: str) -> None:
    _seed(sqlite_url)

    result = runner.invoke(app, ["audit", "--format", "json", "--database-url", sqlite_url])

    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["scanned"] == 6
    assert payload["violations"] == []
    assert payload["counts"] == {}


def test_audit_violation_exits_1(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    with database.transaction() as session:
        run = add_run(session, task_key="backup_db",
                      summary_json={**envelope("backup_db"), "records": [1, 2]})
    database.dispose()

    json_result = runner.invoke(app, ["audit", "--format", "json", "--database-url", sqlite_url])
    text_result = runner.invoke(app, ["audit", "--database-url", sqlite_url])

    assert json_result.exit_code == 1
    payload = json.loads(json_result.stdout)
    assert payload["violations"] == [
        {"run_id": run.run_id, "rule": "envelope.extra_field", "path": "$.records"}
    ]
    assert payload["counts"] == {"envelope.extra_field": 1}
    assert text_result.exit_code == 1
    assert "envelope.extra_field" in text_result.stdout
    assert run.run_id in text_result.stdout


def test_reap_json_counts_runs(sqlite_url: str) -> None:
    _seed(sqlite_url)

    result = runner.invoke(app, ["reap", "--timeout", "10m", "--format", "json",
                                 "--database-url", sqlite_url])

    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["counts"] == {"running": 1, "pending": 0}
    assert len(payload["run_ids"]) == 1


def test_reap_dry_run_changes_nothing(sqlite_url: str) -> None:
    _seed(sqlite_url)

    runner.invoke(app, ["reap", "--dry-run", "--database-url", sqlite_url])
    result = runner.invoke(app, ["reap", "--format", "json", "--database-url", sqlite_url])

    assert json.loads(result.stdout)["counts"]["running"] == 1


def test_reap_bad_timeout_names_option(sqlite_url: str) -> None:
    result = runner.invoke(app, ["reap", "--timeout", "soon", "--database-url", sqlite_url])

    assert result.exit_code == 2
    assert "--timeout" in result.output


def test_audit_warning_only_exits_0(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    with database.transaction() as session:
        run = add_run(session, task_key="bulk_export", summary_json=large_envelope("bulk_export"))
    database.dispose()
    json_arguments = ["audit", "--format", "json", "--database-url", sqlite_url]

    json_result = runner.invoke(app, json_arguments)
    chinese = runner.invoke(app, ["audit", "--database-url", sqlite_url],
                            env={"TASKRUN_LANGUAGE": "zh-CN"})
    english = runner.invoke(app, ["audit", "--database-url", sqlite_url],
                            env={"TASKRUN_LANGUAGE": "en"})

    assert json_result.exit_code == 0, json_result.output
    payload = json.loads(json_result.stdout)
    assert payload["counts"] == {}
    assert payload["warnings"] == {"capacity.summary_bytes_warning": 1}
    assert payload["warning_findings"][0]["run_id"] == run.run_id
    assert chinese.exit_code == english.exit_code == 0
    assert "警告 capacity.summary_bytes_warning" in chinese.stdout
    assert "共 1 次运行" in chinese.stdout
    assert "Warning capacity.summary_bytes_warning" in english.stdout
    assert "Runs: 1." in english.stdout
    assert run.run_id in english.stdout
    assert "Everything follows the contract." in english.stdout
