"""``taskrun runs list|show`` against a migrated SQLite file."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import insert, text
from typer.testing import CliRunner

from taskrun_center.cli.app import app
from taskrun_center.lifecycle.read_service import TOTAL_COUNT_CAP
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun
from tests.factories import run_row
from tests.maintenance.rows import NOW, add_items, add_run

runner = CliRunner()


def _seed(url: str) -> list[str]:
    database = Database(url)
    with database.transaction() as session:
        run_ids = []
        for index in range(5):
            run = add_run(session, task_key=("backup_db", "sync_accounts")[index % 2],
                          status=("completed", "failed")[index % 2],
                          started_at=NOW - timedelta(minutes=index))
            add_items(session, run, ["completed", "failed"])
            run_ids.append(run.run_id)
    database.dispose()
    return run_ids


def test_list_json_has_runs_and_total(sqlite_url: str) -> None:
    run_ids = _seed(sqlite_url)

    result = runner.invoke(app, ["runs", "list", "--format", "json", "--limit", "2",
                                 "--database-url", sqlite_url])

    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["total"] == 5
    assert payload["pages"] == 3
    assert [run["run_id"] for run in payload["items"]] == run_ids[:2]
    assert payload["items"][0]["started_at"] == "2026-06-01T12:00:00Z"
    assert "summary_json" in payload["items"][0]
    assert payload["next_cursor"]


def test_list_cursor_reads_next_page(sqlite_url: str) -> None:
    run_ids = _seed(sqlite_url)
    first = json.loads(runner.invoke(app, ["runs", "list", "--format", "json", "--limit", "2",
                                           "--database-url", sqlite_url]).stdout)

    result = runner.invoke(app, ["runs", "list", "--format", "json", "--limit", "2", "--cursor",
                                 first["next_cursor"], "--database-url", sqlite_url])

    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert [run["run_id"] for run in payload["items"]] == run_ids[2:4]
    assert payload["page"] == 2


def test_list_text_hint_repeats_limit(sqlite_url: str) -> None:
    run_ids = _seed(sqlite_url)
    first = runner.invoke(app, ["runs", "list", "--limit", "2", "--database-url", sqlite_url])
    hint = next(line for line in first.stdout.splitlines() if "--cursor" in line)
    options = hint[hint.index("--limit"):].split()

    second = runner.invoke(app, ["runs", "list", "--format", "json", *options,
                                 "--database-url", sqlite_url])

    assert second.exit_code == 0, second.output
    assert [run["run_id"] for run in json.loads(second.stdout)["items"]] == run_ids[2:4]


def test_list_filters_by_status_and_key(sqlite_url: str) -> None:
    _seed(sqlite_url)

    result = runner.invoke(app, ["runs", "list", "--format", "json", "--status", "failed",
                                 "--task-key", "sync_accounts,backup_db",
                                 "--database-url", sqlite_url])

    payload = json.loads(result.stdout)
    assert payload["total"] == 2
    assert {run["status"] for run in payload["items"]} == {"failed"}


def test_list_text_shows_full_run_ids(sqlite_url: str) -> None:
    run_ids = _seed(sqlite_url)

    result = runner.invoke(app, ["runs", "list", "--database-url", sqlite_url])

    assert result.exit_code == 0, result.output
    for run_id in run_ids:
        assert run_id in result.stdout


def test_list_invalid_sort_is_usage_error(sqlite_url: str) -> None:
    result = runner.invoke(app, ["runs", "list", "--sort", "name", "--database-url", sqlite_url])

    assert result.exit_code == 2
    assert "sort" in result.output


def test_list_bad_cursor_is_usage_error(sqlite_url: str) -> None:
    result = runner.invoke(app, ["runs", "list", "--cursor", "abc.def",
                                 "--database-url", sqlite_url])

    assert result.exit_code == 2
    assert "cursor" in result.output


def test_show_json_has_run_and_items(sqlite_url: str) -> None:
    run_ids = _seed(sqlite_url)

    result = runner.invoke(app, ["runs", "show", run_ids[1], "--format", "json",
                                 "--database-url", sqlite_url])

    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["run"]["run_id"] == run_ids[1]
    assert [item["status"] for item in payload["items"]] == ["completed", "failed"]
    assert payload["items_total"] == 2


def test_show_filters_items_by_status(sqlite_url: str) -> None:
    run_ids = _seed(sqlite_url)

    result = runner.invoke(app, ["runs", "show", run_ids[0], "--format", "json",
                                 "--item-status", "failed", "--database-url", sqlite_url])

    payload = json.loads(result.stdout)
    assert [item["error_message"] for item in payload["items"]] == ["connection refused"]


def test_show_text_lists_items(sqlite_url: str) -> None:
    run_ids = _seed(sqlite_url)

    result = runner.invoke(app, ["runs", "show", run_ids[0], "--database-url", sqlite_url])

    assert result.exit_code == 0, result.output
    assert run_ids[0] in result.stdout
    assert "instance/item-1" in result.stdout
    assert "connection refused" in result.stdout


def test_show_unknown_run_exits_1(sqlite_url: str) -> None:
    result = runner.invoke(app, ["runs", "show", "missing-run", "--database-url", sqlite_url])

    assert result.exit_code == 1
    assert "missing-run" in result.output


def test_unreadable_database_exits_1() -> None:
    url = "sqlite:////nonexistent-folder/taskrun.db"

    result = runner.invoke(app, ["runs", "list", "--database-url", url])

    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_list_beyond_cap_prints_lower_bound(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    with database.transaction() as session:
        session.execute(insert(TaskRun), [run_row() for _ in range(TOTAL_COUNT_CAP + 5)])
    database.dispose()
    arguments = ["runs", "list", "--database-url", sqlite_url]

    chinese = runner.invoke(app, arguments, env={"TASKRUN_LANGUAGE": "zh-CN"})
    english = runner.invoke(app, arguments, env={"TASKRUN_LANGUAGE": "en"})
    exact = runner.invoke(app, [*arguments, "--exact-total"], env={"TASKRUN_LANGUAGE": "en"})

    assert chinese.exit_code == 0, chinese.output
    assert "第 1 页，共 1,000+ 条运行" in chinese.stdout
    assert "Page 1, 1,000+ runs" in english.stdout
    assert "Page 1 of 51, 1,005 runs in total." in exact.stdout


def test_invalid_status_reason_follows_language(sqlite_url: str) -> None:
    arguments = ["runs", "list", "--status", "exploded", "--database-url", sqlite_url]

    chinese = runner.invoke(app, arguments, env={"TASKRUN_LANGUAGE": "zh-CN"})
    english = runner.invoke(app, arguments, env={"TASKRUN_LANGUAGE": "en"})

    assert chinese.exit_code == english.exit_code == 2
    assert "不是可选值" in chinese.output
    assert "is not one of" not in chinese.output
    assert "'exploded' is not one of" in english.output
    assert not any("\u4e00" <= char <= "\u9fff" for char in english.output)


def test_invalid_filters_name_cli_options(sqlite_url: str) -> None:
    cases = [
        (["--trigger", "nope"], "选项 --trigger 无效"),
        (["--from", "yesterday"], "选项 --from 无效：必须是 ISO 8601 日期时间"),
        (["--from", "2026-02-01", "--to", "2026-01-01"], "选项 --to 无效"),
        (["--search", "x" * 300], "选项 --search 无效"),
        (["--page", "2", "--cursor", "abc"], "--page 与 --cursor 只能传其一"),
    ]
    for options, expected in cases:
        result = runner.invoke(app, ["runs", "list", *options, "--database-url", sqlite_url],
                               env={"TASKRUN_LANGUAGE": "zh-CN"})

        assert result.exit_code == 2, options
        assert expected in result.output, result.output
        assert "参数" not in result.output, result.output
        assert "trigger_source" not in result.output, result.output
        assert "started_" not in result.output, result.output


def test_show_invalid_item_status_names_option(sqlite_url: str) -> None:
    run_ids = _seed(sqlite_url)

    result = runner.invoke(app, ["runs", "show", run_ids[0], "--item-status", "bad",
                                 "--database-url", sqlite_url], env={"TASKRUN_LANGUAGE": "en"})

    assert result.exit_code == 2
    assert "Invalid --item-status: 'bad' is not one of" in result.output


def test_list_from_date_only_is_accepted(sqlite_url: str) -> None:
    result = runner.invoke(app, ["runs", "list", "--from", "2020-01-01", "--format", "json",
                                 "--database-url", sqlite_url])

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total"] == 0


def test_text_in_integer_columns_prints(sqlite_url: str) -> None:
    import sqlite3

    from sqlalchemy.engine import make_url

    run_ids = _seed(sqlite_url)
    connection = sqlite3.connect(str(make_url(sqlite_url).database))
    connection.execute("UPDATE task_runs SET duration_ms = 'a\x1bb', progress_total = 'x' "
                       "WHERE run_id = ?", (run_ids[0],))
    connection.commit()
    connection.close()

    listed = runner.invoke(app, ["runs", "list", "--database-url", sqlite_url])
    detail = runner.invoke(app, ["runs", "show", run_ids[0], "--database-url", sqlite_url])

    assert listed.exit_code == 0, listed.output
    assert detail.exit_code == 0, detail.output
    assert "\x1b" not in listed.stdout
    assert "\x1b" not in detail.stdout


def test_json_output_is_strict_json(sqlite_url: str) -> None:
    """NaN and infinities edited into a stored summary print as null, which parsers accept."""
    run_ids = _seed(sqlite_url)
    database = Database(sqlite_url)
    with database.transaction() as session:
        session.execute(
            text("UPDATE task_runs SET summary_json = :value WHERE run_id = :run_id"),
            {"value": '{"version": 1, "common": {"a": NaN, "b": [Infinity, -Infinity, 1.5]}}',
             "run_id": run_ids[0]},
        )
    database.dispose()

    list_result = runner.invoke(app, ["runs", "list", "--format", "json", "--limit", "1",
                                 "--database-url", sqlite_url])
    show_result = runner.invoke(app, ["runs", "show", run_ids[0], "--format", "json",
                                "--database-url", sqlite_url])

    for result in (list_result, show_result):
        assert result.exit_code == 0, result.output
        payload = json.loads(result.stdout, parse_constant=_reject_constant)
        run = payload["run"] if "run" in payload else payload["items"][0]
        assert run["summary_json"]["common"] == {"a": None, "b": [None, None, 1.5]}


def _reject_constant(name: str) -> None:
    raise AssertionError(f"{name} is not JSON")
