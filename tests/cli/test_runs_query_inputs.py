"""``taskrun runs list|show`` reject out-of-range times, numbers as times and huge pages.

Each case once printed a traceback; now it exits 2 and names the option.
"""

from __future__ import annotations

import pytest
from sqlalchemy import insert
from typer.testing import CliRunner

from taskrun_center.cli.app import app
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun
from tests.factories import run_row
from tests.maintenance.rows import add_run

runner = CliRunner()
ENGLISH = {"TASKRUN_LANGUAGE": "en"}


@pytest.mark.parametrize("option", ["--from", "--to"])
@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"])
def test_list_time_out_of_range_exits_2(sqlite_url: str, option: str, value: str) -> None:
    result = runner.invoke(app, ["runs", "list", option, value, "--database-url", sqlite_url],
                           env=ENGLISH)

    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"Invalid {option}" in result.output
    assert "once converted to UTC" in result.output


@pytest.mark.parametrize("option", ["--from", "--to"])
def test_list_number_as_time_exits_2(sqlite_url: str, option: str) -> None:
    chinese = runner.invoke(app, ["runs", "list", option, "20261206",
                                  "--database-url", sqlite_url], env={"TASKRUN_LANGUAGE": "zh-CN"})
    english = runner.invoke(app, ["runs", "list", option, "20261206",
                                  "--database-url", sqlite_url], env=ENGLISH)

    assert chinese.exit_code == 2, chinese.output
    assert "是数字" in chinese.output
    assert english.exit_code == 2, english.output
    assert f"Invalid {option}" in english.output
    assert "2026-12-06T08:00:00Z" in english.output


def test_list_huge_page_exits_2(database_url: str) -> None:
    database = Database(database_url)
    with database.transaction() as session:
        add_run(session)
    database.dispose()

    result = runner.invoke(app, ["runs", "list", "--page", "99999999999999999999",
                                 "--database-url", database_url], env=ENGLISH)

    assert result.exit_code == 2, result.output
    assert "Invalid --page" in result.output
    assert "1,000,000" in result.output


def test_show_huge_item_page_exits_2(database_url: str) -> None:
    database = Database(database_url)
    with database.transaction() as session:
        run_id = add_run(session).run_id
    database.dispose()

    result = runner.invoke(app, ["runs", "show", run_id, "--item-page", "9" * 25,
                                 "--database-url", database_url], env=ENGLISH)

    assert result.exit_code == 2, result.output
    assert "Invalid --item-page" in result.output


def test_list_footer_groups_page_numbers(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    with database.transaction() as session:
        session.execute(insert(TaskRun), [run_row() for _ in range(1_200)])
    database.dispose()
    arguments = ["runs", "list", "--limit", "1", "--page", "1100", "--exact-total",
                 "--database-url", sqlite_url]

    english = runner.invoke(app, arguments, env=ENGLISH)
    chinese = runner.invoke(app, arguments, env={"TASKRUN_LANGUAGE": "zh-CN"})

    assert english.exit_code == 0, english.output
    assert "Page 1,100 of 1,200, 1,200 runs in total." in english.output
    assert "第 1,100/1,200 页，共 1,200 次运行。" in chinese.output
