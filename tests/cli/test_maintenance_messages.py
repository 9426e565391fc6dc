"""English maintenance messages: singular and plural nouns, the reap timeout minimum, and the
time reported by a purge that failed on a lock."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from taskrun_center.cli.app import app
from taskrun_center.maintenance.durations import format_duration
from taskrun_center.maintenance.reaper import MIN_PENDING_TIMEOUT, MIN_REAP_TIMEOUT
from taskrun_center.storage.engine import Database
from tests.maintenance.bulk_rows import add_runs
from tests.maintenance.rows import add_run, envelope
from tests.runners.processes import run_in

runner = CliRunner()
# Box drawing of rich's error panel and line breaks, which wrap a message at 80 columns.
_PANEL_LAYOUT = re.compile(r"[│\s]+")


def _english(*args: str) -> Any:
    return runner.invoke(app, list(args), env={"TASKRUN_LANGUAGE": "en"})


def _flat(output: str) -> str:
    return _PANEL_LAYOUT.sub(" ", output)


def test_reap_one_run_is_singular(sqlite_url: str) -> None:
    add_runs(sqlite_url, 1, status="running")

    result = _english("reap", "--database-url", sqlite_url)

    assert result.exit_code == 0, result.output
    assert "Marked 1 silent running run and 0 unclaimed pending runs as failed." in result.stdout


def test_reap_dry_run_two_runs_plural(sqlite_url: str) -> None:
    add_runs(sqlite_url, 2, status="running")

    result = _english("reap", "--dry-run", "--database-url", sqlite_url)

    assert result.exit_code == 0, result.output
    assert ("Dry run: would mark 2 running runs and 0 pending runs as failed (nothing changed)."
            in result.stdout)


def test_purge_one_run_is_singular(sqlite_url: str) -> None:
    add_runs(sqlite_url, 1)

    result = _english("purge", "--yes", "--keep-last", "0", "--database-url", sqlite_url)

    assert result.exit_code == 0, result.output
    assert "Deleted 1 run and 1 item in 1 batch," in result.stdout


def test_purge_dry_run_one_kept_singular(sqlite_url: str) -> None:
    add_runs(sqlite_url, 2)

    result = _english("purge", "--dry-run", "--keep-last", "1", "--database-url", sqlite_url)

    assert result.exit_code == 0, result.output
    assert "Dry run: would delete 1 run and 1 item (nothing changed)," in result.stdout
    assert "--keep-last kept 1 run past the cutoff." in result.stdout


def test_audit_one_violation_singular(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    with database.transaction() as session:
        add_run(session, task_key="backup_db",
                summary_json={**envelope("backup_db"), "records": [1, 2]})
    database.dispose()

    result = _english("audit", "--database-url", sqlite_url)

    assert result.exit_code == 1
    assert "Checked 1 run and 0 items in" in result.stdout
    assert "Found 1 violation:" in result.stdout


@pytest.mark.parametrize(
    ("option", "variable", "minimum"),
    [("--timeout", "TASKRUN_REAP_TIMEOUT_SECONDS", MIN_REAP_TIMEOUT),
     ("--pending-timeout", "TASKRUN_PENDING_TIMEOUT_SECONDS", MIN_PENDING_TIMEOUT)],
)
def test_reap_timeout_minimum_option_and_variable(
    sqlite_url: str, tmp_path: Path, option: str, variable: str, minimum: timedelta
) -> None:
    shortest = int(minimum.total_seconds())
    below = f"{shortest - 1}s"

    option_below = _english("reap", option, below, "--database-url", sqlite_url)
    option_at = _english("reap", option, f"{shortest}s", "--database-url", sqlite_url)
    # Heartbeats must come at least twice per reap timeout, which the default 15 s does not.
    settings = {"TASKRUN_LANGUAGE": "en", "TASKRUN_DATABASE_URL": sqlite_url,
                "TASKRUN_HEARTBEAT_INTERVAL_SECONDS": "1"}
    variable_below = run_in(tmp_path, "reap", **settings, **{variable: str(shortest - 1)})
    variable_at = run_in(tmp_path, "reap", **settings, **{variable: str(shortest)})

    assert option_below.exit_code == 2
    assert option in option_below.output
    assert (f"must be at least {format_duration(minimum)}, the same minimum as {variable}; "
            f"got {below}." in _flat(option_below.output))
    assert option_at.exit_code == 0, option_at.output
    assert variable_below.returncode == 2
    assert variable in variable_below.stderr
    assert variable_at.returncode == 0, variable_at.stderr


@pytest.mark.parametrize("output", ["json", "text"])
def test_purge_lock_failure_reports_time_waited(sqlite_url: str, tmp_path: Path,
                                                output: str) -> None:
    add_runs(sqlite_url, 3)
    holder = sqlite3.connect(make_url(sqlite_url).database or "", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")

    try:
        completed = run_in(tmp_path, "purge", "--yes", "--keep-last", "0", "--format", output,
                           TASKRUN_LANGUAGE="en", TASKRUN_DATABASE_URL=sqlite_url,
                           TASKRUN_SQLITE_BUSY_TIMEOUT_MS="300")
    finally:
        holder.rollback()
        holder.close()

    assert completed.returncode == 1, completed.stderr
    if output == "json":
        payload = json.loads(completed.stdout)
        assert payload["failed_batch"] == 1
        assert payload["duration_seconds"] >= 0.3
    else:
        waited = re.search(r"Batch 1 failed and was rolled back after (\d+\.\d) s",
                           completed.stderr)
        assert waited is not None, completed.stderr
        assert float(waited.group(1)) >= 0.3


def test_every_audit_rule_has_a_meaning() -> None:
    """Each row and item rule that the audit modules name is described in the CLI."""
    import taskrun_center.maintenance as maintenance_package
    from taskrun_center.cli.maintenance import _ROW_RULES
    from taskrun_center.contract import RULES

    folder = Path(maintenance_package.__file__).parent
    named = {rule for path in folder.glob("audit*.py")
             for rule in re.findall(r'"((?:row|item)\.[a-z_]+)"', path.read_text())}

    assert "row.status_invalid" in named
    assert named - set(_ROW_RULES) - set(RULES) == set()
