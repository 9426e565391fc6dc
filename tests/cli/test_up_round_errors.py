"""``taskrun up --once`` when one run's end cannot be recorded: the round goes on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from taskrun_center.storage.engine import Database
from tests.runners.processes import REPO_ROOT, taskrun_env
from tests.runners.rows import runs_of

# Runs ``taskrun up`` with a 1 s budget for the run's final write. The lock holders that the
# tasks of tests.runners.lock_tasks start are released as soon as a run's end is given up,
# so the next task of the round finds the database free again.
_UP_WITH_SHORT_FINAL_WRITE = """
from taskrun_center.runners import recording
from tests.runners import lock_tasks

recording.FINAL_WRITE_RETRY_SECONDS = 1.0
give_up = recording.RunRecorder._end_not_recorded

def give_up_and_unlock(self, error, waited):
    try:
        return give_up(self, error, waited)
    finally:
        lock_tasks.release_locks()

recording.RunRecorder._end_not_recorded = give_up_and_unlock
from taskrun_center.cli.app import main
main()
"""


def _up_once(tmp_path: Path, script: str) -> tuple[str, subprocess.CompletedProcess[str]]:
    """Run ``taskrun up --once`` through ``script`` with the lock tasks; return URL and result."""
    url = f"sqlite:///{tmp_path / 'taskrun.db'}"
    # The working folder is empty, so the tests package comes from the repository.
    python_path = os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(REPO_ROOT)]))
    env = taskrun_env(url, TASKRUN_TASK_MODULES="tests.runners.lock_tasks",
                      TASKRUN_SQLITE_BUSY_TIMEOUT_MS="100", TASKRUN_LANGUAGE="en",
                      PYTHONPATH=python_path, COLUMNS="200")
    up = subprocess.run([sys.executable, "-c", script, "up", "--once"],
                        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180,
                        check=False)
    return url, up


def test_up_once_goes_on_after_run_not_ended(tmp_path: Path) -> None:
    url, up = _up_once(tmp_path, _UP_WITH_SHORT_FINAL_WRITE)

    assert up.returncode == 1, up.stderr
    database = Database(url)
    for key in ("sample_lock_at_end", "sample_lock_before_items"):
        [run] = runs_of(database, key)
        assert run.status == "running", key
        assert f"The end of run {run.run_id} could not be recorded" in up.stderr, key
    # The audit runs last in the round, after both runs whose end was not recorded.
    [audit] = runs_of(database, "task_runs_audit")
    assert audit.status != "running"
    assert audit.run_id in up.stdout
    database.dispose()


# As above, but the lock stays until the round is over, so the tasks after the first one cannot
# even start their runs.
_UP_WITH_LOCK_KEPT = """
from taskrun_center.runners import recording

recording.FINAL_WRITE_RETRY_SECONDS = 1.0
from taskrun_center.cli.app import main
main()
"""


def test_up_once_goes_on_when_runs_cannot_start(tmp_path: Path) -> None:
    url, up = _up_once(tmp_path, _UP_WITH_LOCK_KEPT)

    assert up.returncode == 1, up.stderr
    assert "Traceback" not in up.stderr
    # Every task of the round has a row, the audit last, although none after the first
    # locking task could start a run.
    assert "task_runs_audit" in up.stdout, up.stdout
    assert up.stdout.count("locked by another writer") >= 2, up.stdout
    database = Database(url)
    assert runs_of(database, "task_runs_audit") == []
    database.dispose()
