"""Secrets written as name and value never reach storage, logs or an accepted summary.

These run the real ``taskrun`` command on a migrated SQLite file, like a user would.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from taskrun_center.cli.app import app
from taskrun_center.storage.engine import Database
from tests.contract.factories import envelope
from tests.runners.processes import SAMPLE_TASKS, run_taskrun, taskrun_env
from tests.runners.rows import load_items, runs_of

TASKS = f"{SAMPLE_TASKS},tests.contract.secret_name_tasks"


def test_run_error_with_pgpassword_masked(sqlite_url: str) -> None:
    env = taskrun_env(sqlite_url, TASKRUN_TASK_MODULES=TASKS)

    result = run_taskrun(sqlite_url, "run", "secret_env_crash", env=env)

    database = Database(sqlite_url)
    [run] = runs_of(database, "secret_env_crash")
    item = load_items(database, run.run_id)["config"]
    assert run.status == "failed", result.stderr
    assert run.error_message is not None
    assert "PGPASSWORD=" in run.error_message
    assert "Hunter2Secret" not in run.error_message
    assert item.error_message is not None
    assert '"user": "app"' in item.error_message
    assert "horse" not in item.error_message
    assert "battery" not in item.error_message
    assert "Hunter2Secret" not in json.dumps(item.details_json)
    assert "x1" not in json.dumps(item.details_json)
    assert "Hunter2Secret" not in result.stdout
    assert "Hunter2Secret" not in result.stderr
    assert "horse battery" not in result.stderr


def test_exec_env_assignment_masked(sqlite_url: str) -> None:
    command = ("env", "PGPASSWORD=Hunter2Secret", "sh", "-c", "echo PGPASSWORD=$PGPASSWORD")

    result = run_taskrun(sqlite_url, "exec", "--task-key", "k", "--", *command)

    database = Database(sqlite_url)
    [run] = runs_of(database, "k")
    [item] = load_items(database, run.run_id).values()
    assert result.returncode == 0, result.stderr
    assert "Hunter2Secret" in result.stdout
    assert item.item_name is not None
    assert "PGPASSWORD=" in item.item_name
    assert "Hunter2Secret" not in item.item_name
    assert item.details_json is not None
    assert "Hunter2Secret" not in item.details_json["command"]
    assert item.details_json["stdout_tail"] == ["PGPASSWORD=******"]
    assert "Hunter2Secret" not in result.stderr


def test_exec_quoted_passphrase_masked(sqlite_url: str) -> None:
    command = ("env", "PGPASSWORD=correct horse battery", "true")

    result = run_taskrun(sqlite_url, "exec", "--task-key", "k", "--", *command)

    database = Database(sqlite_url)
    [run] = runs_of(database, "k")
    [item] = load_items(database, run.run_id).values()
    assert result.returncode == 0, result.stderr
    assert item.details_json is not None
    assert item.details_json["command"] == "env 'PGPASSWORD=******' true"


def test_summary_validate_rejects_pgpassword(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    data = envelope(common__highlights=["connect with PGPASSWORD=Hunter2Secret"])
    path.write_text(json.dumps(data), encoding="utf-8")

    result = CliRunner().invoke(app, ["summary", "validate", "--format", "json", str(path)])

    assert result.exit_code != 0
    payload = json.loads(result.stdout)
    assert [v["rule"] for v in payload["violations"]] == ["secret.value"]
    assert "Hunter2Secret" not in result.stdout
