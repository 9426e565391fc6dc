"""``taskrun runs list --page N`` past the last page prints that the page is past the end
and names the number of pages."""

from __future__ import annotations

import json

from sqlalchemy import insert
from typer.testing import CliRunner

from taskrun_center.cli.app import app
from taskrun_center.lifecycle.read_service import TOTAL_COUNT_CAP
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun
from tests.factories import run_row

runner = CliRunner()
CHINESE = {"TASKRUN_LANGUAGE": "zh-CN"}
ENGLISH = {"TASKRUN_LANGUAGE": "en"}


def _insert_runs(url: str, count: int) -> None:
    database = Database(url)
    with database.transaction() as session:
        session.execute(insert(TaskRun), [run_row() for _ in range(count)])
    database.dispose()


def test_page_past_end_names_pages(sqlite_url: str) -> None:
    _insert_runs(sqlite_url, 5)
    arguments = ["runs", "list", "--limit", "2", "--page", "20", "--database-url", sqlite_url]

    chinese = runner.invoke(app, arguments, env=CHINESE)
    english = runner.invoke(app, arguments, env=ENGLISH)

    assert chinese.exit_code == 0, chinese.output
    assert chinese.stdout.strip() == "第 20 页已超出列表末尾：共 5 次运行，3 页。"
    assert english.exit_code == 0, english.output
    assert english.stdout.strip() == "Page 20 is past the end of the list: 5 runs on 3 pages."


def test_page_past_end_json_unchanged(sqlite_url: str) -> None:
    _insert_runs(sqlite_url, 5)

    result = runner.invoke(app, ["runs", "list", "--limit", "2", "--page", "20",
                                 "--format", "json", "--database-url", sqlite_url])

    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["items"] == []
    assert payload["total"] == 5
    assert payload["pages"] == 3
    assert payload["page"] == 20


def test_past_end_beyond_cap_points_to_exact_total(sqlite_url: str) -> None:
    _insert_runs(sqlite_url, TOTAL_COUNT_CAP + 5)
    arguments = ["runs", "list", "--limit", "100", "--page", "12", "--database-url", sqlite_url]

    chinese = runner.invoke(app, arguments, env=CHINESE)
    english = runner.invoke(app, arguments, env=ENGLISH)
    exact = runner.invoke(app, [*arguments, "--exact-total"], env=ENGLISH)

    assert chinese.exit_code == 0, chinese.output
    assert chinese.stdout.strip() == ("第 12 页已超出列表末尾：共 1,000+ 次运行"
                                      "（加 --exact-total 可得精确总数和页数）。")
    assert english.stdout.strip() == ("Page 12 is past the end of the list: 1,000+ runs (add "
                                      "--exact-total for the exact count and number of pages).")
    assert exact.stdout.strip() == "Page 12 is past the end of the list: 1,005 runs on 11 pages."


def test_no_matching_runs_message_kept(sqlite_url: str) -> None:
    _insert_runs(sqlite_url, 2)
    arguments = ["runs", "list", "--status", "failed", "--database-url", sqlite_url]

    chinese = runner.invoke(app, arguments, env=CHINESE)
    english = runner.invoke(app, arguments, env=ENGLISH)

    assert chinese.stdout.strip() == "没有符合条件的运行。"
    assert english.stdout.strip() == "No runs match the filters."
