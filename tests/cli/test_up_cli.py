"""``taskrun up --once`` on a fresh folder: migrations, tasks, one round, an audit that passes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from taskrun_center.storage.engine import Database
from tests.runners.processes import REPO_ROOT, taskrun_argv, taskrun_env
from tests.runners.rows import runs_of


def test_up_once_leaves_audited_runs(tmp_path: Path) -> None:
    import subprocess

    shutil.copytree(REPO_ROOT / "examples", tmp_path / "examples")
    url = f"sqlite:///{tmp_path / 'taskrun.db'}"
    # An 80-column terminal: the round's table must still show every run ID whole.
    env = taskrun_env(url, TASKRUN_TASK_MODULES="", COLUMNS="80")
    env.pop("TASKRUN_DATABASE_URL")

    up = subprocess.run(
        taskrun_argv("up", "--once"),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert up.returncode == 0, up.stderr
    assert (tmp_path / "taskrun.db").exists()
    database = Database(url)
    for key in ("task_runs_reap", "task_runs_purge", "task_runs_audit", "dbstats_collect"):
        runs = runs_of(database, key)
        assert len(runs) == 1, key
        assert runs[0].status == "completed", key
        assert runs[0].run_id in up.stdout, key
    [stats] = runs_of(database, "dbstats_collect")
    assert stats.summary_json["ext"]["data"]["databases"] == 1
    assert stats.summary_json["ext"]["data"]["total_tables"] >= 4
    [purge] = runs_of(database, "task_runs_purge")
    assert purge.is_skipped is True
    assert purge.summary_json["common"]["flags"]["skip_reason"]

    env["TASKRUN_TASK_MODULES"] = "examples.dbstats"
    audit = subprocess.run(
        taskrun_argv("audit", "--format", "json"),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
    report = json.loads(audit.stdout)
    assert report["scanned"] == 4
    assert report["counts"] == {}


def test_displayed_url_masks_passwords_in_query() -> None:
    from taskrun_center.cli.up import _display_url

    displayed = _display_url("postgresql+psycopg://u1:pw1@127.0.0.1:5/t1?password=pw2&sslpassword=pw3"
                         "&application_name=taskrun")

    assert "pw1" not in displayed
    assert "pw2" not in displayed
    assert "pw3" not in displayed
    assert "application_name=taskrun" in displayed
    assert "127.0.0.1:5/t1" in displayed
