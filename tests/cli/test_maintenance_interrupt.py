"""Ctrl-C (SIGINT) and SIGTERM sent to real ``taskrun purge``, ``audit`` and ``reap`` processes.

Each command reports what it did before the signal, logs an ``*_interrupted`` event and exits
130 (143 after SIGTERM). On PostgreSQL a lock held by the test stops the command at a known
point, so the test can tell which work was committed and which transaction the signal rolled
back.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection

from taskrun_center.storage.engine import Database
from tests.maintenance.bulk_rows import add_runs, count_rows, run_ids_in_order
from tests.runners.processes import REPO_ROOT, taskrun_env, wait_for

# A process started in the background by a shell without job control inherits an ignored
# SIGINT, so the command is started with the handler that a terminal session has.
_MAIN_WITH_CTRL_C = (
    "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from taskrun_center.cli.app import main; main()"
)
EXIT_INTERRUPTED = 130


@contextmanager
def _taskrun(database_url: str, tmp_path: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``taskrun ARGS`` in English with JSON logs; stdout and stderr go to files."""
    env = taskrun_env(database_url, TASKRUN_LANGUAGE="en")
    with (tmp_path / "stdout").open("wb") as out, (tmp_path / "stderr").open("wb") as err:
        process = subprocess.Popen([sys.executable, "-c", _MAIN_WITH_CTRL_C, *args],
                                   cwd=REPO_ROOT, env=env, stdout=out, stderr=err)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def _interrupt(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGINT)
    return process.wait(timeout=60)


def _stdout(tmp_path: Path) -> str:
    return (tmp_path / "stdout").read_text()


def _events(tmp_path: Path) -> dict[str, dict[str, Any]]:
    """Return the JSON log lines on stderr by event name (the last line of each event)."""
    events = {}
    for line in (tmp_path / "stderr").read_text().splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            events[entry["event"]] = entry
    return events


def _lock_waits(database: Database) -> int:
    """Return the number of sessions of this PostgreSQL database waiting for a lock."""
    with database.session() as session:
        return int(session.scalar(text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )) or 0)


@contextmanager
def _row_locked(database: Database, run_id: str) -> Iterator[Connection]:
    """Hold a FOR UPDATE lock on one run until the block ends, then roll back."""
    with database.engine.connect() as holder:
        holder.execute(text("SELECT id FROM task_runs WHERE run_id = :run_id FOR UPDATE"),
                       {"run_id": run_id})
        try:
            yield holder
        finally:
            holder.rollback()


def test_purge_sigint_prints_json_on_sqlite(sqlite_url: str, tmp_path: Path) -> None:
    add_runs(sqlite_url, 5000)

    # One run per batch makes thousands of transactions, so the signal lands mid-purge.
    with _taskrun(sqlite_url, tmp_path, "purge", "--yes", "--keep-last", "0", "--batch-size",
                  "1", "--format", "json") as process:
        wait_for(lambda: count_rows(sqlite_url)[0] < 5000, 60, "the purge deleted a run")
        exit_code = _interrupt(process)

    runs, items = count_rows(sqlite_url)
    payload = json.loads(_stdout(tmp_path))
    event = _events(tmp_path)["purge_interrupted"]
    assert exit_code == EXIT_INTERRUPTED
    assert payload["interrupted"] is True
    assert payload["counts"] == {"task_runs": 5000 - runs, "task_run_items": 5000 - items}
    assert runs > 0
    assert event["runs"] == 5000 - runs
    assert event["items"] == 5000 - items
    assert "purge_finished" not in _events(tmp_path)


@pytest.mark.postgres
def test_purge_sigterm_reports_like_ctrl_c(sqlite_url: str, tmp_path: Path) -> None:
    """SIGTERM (a service manager stopping the command) ends it like Ctrl-C, exit 143."""
    add_runs(sqlite_url, 5000)

    with _taskrun(sqlite_url, tmp_path, "purge", "--yes", "--keep-last", "0", "--batch-size",
                  "1", "--format", "json") as process:
        wait_for(lambda: count_rows(sqlite_url)[0] < 5000, 60, "the purge deleted a run")
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(timeout=60)

    runs, items = count_rows(sqlite_url)
    payload = json.loads(_stdout(tmp_path))
    assert exit_code == 128 + signal.SIGTERM
    assert payload["interrupted"] is True
    assert payload["counts"] == {"task_runs": 5000 - runs, "task_run_items": 5000 - items}
    assert "purge_interrupted" in _events(tmp_path)


def test_purge_sigint_rolls_back_batch_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    add_runs(postgres_url, 100)
    locked_run = run_ids_in_order(postgres_url)[34]
    database = Database(postgres_url)

    try:
        with (
            _row_locked(database, locked_run),
            _taskrun(postgres_url, tmp_path, "purge", "--yes", "--keep-last", "0",
                     "--batch-size", "10") as process,
        ):
            wait_for(lambda: _lock_waits(database) > 0, 60, "the purge waits for the lock")
            exit_code = _interrupt(process)
    finally:
        database.dispose()

    runs, items = count_rows(postgres_url)
    report = re.search(r"Interrupted: (\d+) committed batch(?:es)? deleted (\d+) runs? and "
                       r"(\d+) items?, and the batch in progress was rolled back",
                       _stdout(tmp_path))
    assert exit_code == EXIT_INTERRUPTED
    assert report is not None, _stdout(tmp_path)
    assert int(report.group(2)) == 100 - runs
    assert int(report.group(3)) == 100 - items
    # The blocked batch had deleted its items before it waited; the rollback restored them.
    assert items == runs
    assert locked_run in run_ids_in_order(postgres_url)
    assert "task_run_items" in _stdout(tmp_path)
    assert _events(tmp_path)["purge_interrupted"]["runs"] == 100 - runs


@pytest.mark.postgres
def test_audit_sigint_prints_json_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    add_runs(postgres_url, 20)
    database = Database(postgres_url)

    try:
        with database.engine.connect() as holder:
            holder.execute(text("LOCK TABLE task_run_items IN ACCESS EXCLUSIVE MODE"))
            with _taskrun(postgres_url, tmp_path, "audit", "--format", "json") as process:
                wait_for(lambda: _lock_waits(database) > 0, 60, "the audit waits for the lock")
                exit_code = _interrupt(process)
            holder.rollback()
    finally:
        database.dispose()

    payload = json.loads(_stdout(tmp_path))
    assert exit_code == EXIT_INTERRUPTED
    assert payload["interrupted"] is True
    assert payload["scanned"] == 0
    assert "audit_interrupted" in _events(tmp_path)


@pytest.mark.postgres
def test_reap_sigint_reports_marked_runs(postgres_url: str, tmp_path: Path) -> None:
    add_runs(postgres_url, 12, status="running")
    run_ids = run_ids_in_order(postgres_url)
    database = Database(postgres_url)

    try:
        with (
            _row_locked(database, run_ids[4]),
            _taskrun(postgres_url, tmp_path, "reap", "--format", "json") as process,
        ):
            wait_for(lambda: _lock_waits(database) > 0, 60, "the reaper waits for the lock")
            exit_code = _interrupt(process)
        with database.session() as session:
            failed = list(session.scalars(text(
                "SELECT run_id FROM task_runs WHERE status = 'failed' ORDER BY id"
            )))
    finally:
        database.dispose()

    payload = json.loads(_stdout(tmp_path))
    assert exit_code == EXIT_INTERRUPTED
    assert payload["interrupted"] is True
    assert payload["counts"] == {"running": 4, "pending": 0}
    assert payload["run_ids"] == run_ids[:4]
    assert failed == run_ids[:4]
    assert _events(tmp_path)["reap_interrupted"]["running"] == 4
