"""Text output escapes control and format characters from stored or given text; JSON is exact.

A right-to-left override (U+202E) would make a terminal show the text after it reversed, and a
control character can move the cursor or, like ESC, start a terminal command.
"""

from __future__ import annotations

import json

from sqlalchemy import insert
from typer.testing import CliRunner

from taskrun_center.cli.app import app
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun, TaskRunItem
from tests.factories import item_row, run_row

runner = CliRunner()
RUN_ID = "run-\u202eab-1"
TASK_KEY = "backup\x00db"
TASK_NAME = "Backup \u202eDB"
ERROR = "disk full\x1b[2J\nsecond line"
ITEM_KEY = "host\x07-1"
# Every hidden character above; none may reach the text output.
HIDDEN = ("\u202e", "\x00", "\x1b", "\x07")


def _insert_run(url: str) -> None:
    database = Database(url)
    with database.transaction() as session:
        session.execute(insert(TaskRun), [run_row(run_id=RUN_ID, task_key=TASK_KEY,
                                                  task_name=TASK_NAME, status="failed",
                                                  error_message=ERROR)])
        session.execute(insert(TaskRunItem), [item_row(RUN_ID, ITEM_KEY, status="failed",
                                                       error_message=ERROR)])
    database.dispose()


def _assert_no_hidden(output: str) -> None:
    for character in HIDDEN:
        assert character not in output, repr(character)


def test_list_table_escapes_hidden(sqlite_url: str) -> None:
    _insert_run(sqlite_url)

    result = runner.invoke(app, ["runs", "list", "--database-url", sqlite_url])

    assert result.exit_code == 0, result.output
    _assert_no_hidden(result.stdout)
    assert "run-\\u202eab-1" in result.stdout
    assert "backup\\u0000db" in result.stdout


def test_show_escapes_hidden(sqlite_url: str) -> None:
    _insert_run(sqlite_url)

    result = runner.invoke(app, ["runs", "show", RUN_ID, "--database-url", sqlite_url])

    assert result.exit_code == 0, result.output
    _assert_no_hidden(result.stdout)
    assert "run-\\u202eab-1" in result.stdout
    assert "backup\\u0000db" in result.stdout
    assert "Backup \\u202eDB" in result.stdout
    assert "disk full\\u001b[2J" in result.stdout
    assert "step/host\\u0007-1" in result.stdout
    # A multi-line error message keeps its line break.
    assert "second line" in result.stdout


def test_json_keeps_exact_text(sqlite_url: str) -> None:
    _insert_run(sqlite_url)

    listed = runner.invoke(app, ["runs", "list", "--format", "json",
                                 "--database-url", sqlite_url])
    detail = runner.invoke(app, ["runs", "show", RUN_ID, "--format", "json",
                                "--database-url", sqlite_url])

    [run] = json.loads(listed.stdout)["items"]
    assert run["run_id"] == RUN_ID
    assert run["task_key"] == TASK_KEY
    payload = json.loads(detail.stdout)
    assert payload["run"]["task_name"] == TASK_NAME
    assert payload["run"]["error_message"] == ERROR
    assert payload["items"][0]["item_key"] == ITEM_KEY


def test_show_unknown_run_escapes_id(sqlite_url: str) -> None:
    result = runner.invoke(app, ["runs", "show", "a\x01b", "--database-url", sqlite_url])

    assert result.exit_code == 1
    assert "\x01" not in result.output
    assert '"a\\u0001b"' in result.output


def test_rich_markup_in_stored_text_is_literal(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    with database.transaction() as session:
        session.execute(insert(TaskRun), [run_row(run_id="markup-run", task_key="[bold]x",
                                                  task_name="[/oops]")])
    database.dispose()

    listed = runner.invoke(app, ["runs", "list", "--database-url", sqlite_url])
    detail = runner.invoke(app, ["runs", "show", "markup-run", "--database-url", sqlite_url])

    assert listed.exit_code == 0, listed.output
    assert "[bold]x" in listed.stdout
    assert detail.exit_code == 0, detail.output
    assert "[/oops]" in detail.stdout


def test_purge_status_error_escapes_value(sqlite_url: str) -> None:
    result = runner.invoke(app, ["purge", "--status", "run\u202eing", "--database-url",
                                 sqlite_url], env={"TASKRUN_LANGUAGE": "en"})

    assert result.exit_code == 2
    assert "\u202e" not in result.output
    assert "run\\u202eing" in result.output
