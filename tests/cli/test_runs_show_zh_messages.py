"""``taskrun runs show`` labels the item status in the CLI language, like the run status."""

from __future__ import annotations

from typer.testing import CliRunner

from taskrun_center.cli.app import app
from taskrun_center.storage.engine import Database
from tests.maintenance.rows import add_items, add_run

runner = CliRunner()


def _seed(url: str) -> str:
    database = Database(url)
    try:
        with database.transaction() as session:
            run = add_run(session, status="failed")
            add_items(session, run, ["completed", "failed"])
            return run.run_id
    finally:
        database.dispose()


def _item_rows(output: str) -> dict[str, str]:
    """Return each item row of the table by item key."""
    return {f"item-{index}": line for line in output.splitlines()
            for index in range(2) if f"instance/item-{index}" in line}


def test_item_status_in_chinese(sqlite_url: str) -> None:
    run_id = _seed(sqlite_url)

    result = runner.invoke(app, ["runs", "show", run_id, "--database-url", sqlite_url],
                           env={"TASKRUN_LANGUAGE": "zh-CN", "COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    rows = _item_rows(result.stdout)
    assert "已完成 (completed)" in rows["item-0"]
    assert "失败 (failed)" in rows["item-1"]


def test_item_status_in_english(sqlite_url: str) -> None:
    run_id = _seed(sqlite_url)

    result = runner.invoke(app, ["runs", "show", run_id, "--database-url", sqlite_url],
                           env={"TASKRUN_LANGUAGE": "en", "COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    rows = _item_rows(result.stdout)
    assert "Failed (failed)" in rows["item-1"]
