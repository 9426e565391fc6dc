"""Scheduler replicas as real processes against one PostgreSQL: one leads, a kill hands over."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from taskrun_center.runners.scheduler import read_leader, scheduled_run_id
from taskrun_center.storage.engine import Database
from tests.runners.processes import start_taskrun, wait_for
from tests.runners.rows import load_items, runs_of

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

JOBS = """
[jobs.tick]
task = "sample_quick"
interval = "1s"
"""


def _pids_of_runs(database: Database) -> list[int]:
    pids = []
    for run in runs_of(database, "sample_quick"):
        item = load_items(database, run.run_id).get("tick")
        if item is not None and item.details_json:
            pids.append(int(item.details_json["pid"]))
    return pids


def _tick_of(run_id: str, created_at: datetime) -> datetime | None:
    """Return the fire time whose derived run_id is ``run_id``, searched around ``created_at``."""
    base = created_at.replace(microsecond=0)
    for offset in range(-5, 2):
        fire_time = base + timedelta(seconds=offset)
        if scheduled_run_id("default", "tick", fire_time) == run_id:
            return fire_time
    return None


def _leader_pid(database: Database) -> int | None:
    record = read_leader(database)
    return None if record is None or record.released else record.pid


@pytest.mark.parametrize("replicas", [2, 3])
def test_one_replica_leads_and_hands_over(postgres_url: str, tmp_path: Path, replicas: int) -> None:
    database = Database(postgres_url)
    config = tmp_path / "jobs.toml"
    config.write_text(JOBS, encoding="utf-8")
    processes: dict[int, subprocess.Popen[bytes]] = {}
    logs: dict[int, Path] = {}
    for index in range(replicas):
        log_path = tmp_path / f"scheduler-{index}.log"
        process = start_taskrun(
            postgres_url, "scheduler", "--config", str(config), log_path=log_path
        )
        processes[process.pid] = process
        logs[process.pid] = log_path
    try:
        wait_for(lambda: _leader_pid(database) in processes, 30, "a replica leads")
        first_leader = _leader_pid(database)
        assert first_leader is not None
        wait_for(lambda: len(runs_of(database, "sample_quick")) >= 3, 30, "three ticks ran")

        first_epoch = read_leader(database).epoch  # type: ignore[union-attr]
        assert set(_pids_of_runs(database)) == {first_leader}
        leading = [pid for pid, path in logs.items() if b"scheduler_leading" in path.read_bytes()]
        assert leading == [first_leader]

        os.kill(first_leader, signal.SIGKILL)
        processes.pop(first_leader).wait(timeout=30)
        wait_for(lambda: _leader_pid(database) in processes, 15, "another replica takes over")
        record = read_leader(database)
        assert record is not None
        assert record.epoch == first_epoch + 1
        successor = record.pid
        before = len(runs_of(database, "sample_quick"))
        wait_for(lambda: len(runs_of(database, "sample_quick")) >= before + 2, 30, "ticks continue")
    finally:
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
        for process in processes.values():
            process.wait(timeout=60)
        database.dispose()

    pids = _pids_of_runs(database)
    assert set(pids) <= {first_leader, successor}
    assert successor in pids
    runs = runs_of(database, "sample_quick")
    assert len({run.run_id for run in runs}) == len(runs)
    assert all(run.trigger_source == "scheduled" for run in runs)
    # Every run belongs to one whole-second tick of the shared timeline, so the unique run_id
    # allows one run per tick whichever replica fired it.
    ticks = [_tick_of(run.run_id, run.created_at) for run in runs]
    assert None not in ticks
    assert len(set(ticks)) == len(runs)


HOURLY_JOB = """
[jobs.hourly]
task = "sample_quick"
interval = "1h"
misfire_grace_seconds = 7200
"""


def _wait_past_hour_end(margin_seconds: int) -> None:
    """Sleep into the next hour when less than ``margin_seconds`` of this one are left.

    A new hourly tick during the test would be fired by the first leader itself.
    """
    now = datetime.now(UTC)
    left = 3600 - (now.minute * 60 + now.second)
    if left < margin_seconds:
        time.sleep(left + 1)


def test_successor_runs_tick_missed_by_killed_leader(postgres_url: str, tmp_path: Path) -> None:
    _wait_past_hour_end(120)
    database = Database(postgres_url)
    config = tmp_path / "jobs.toml"
    config.write_text(HOURLY_JOB, encoding="utf-8")
    processes: dict[int, subprocess.Popen[bytes]] = {}
    for index in range(2):
        process = start_taskrun(postgres_url, "scheduler", "--config", str(config),
                                log_path=tmp_path / f"scheduler-{index}.log")
        processes[process.pid] = process
    try:
        # The first leader of a database starts with the next fire times, so the newest
        # hourly tick is due and has no run when that leader dies.
        wait_for(lambda: _leader_pid(database) in processes, 30, "a replica leads")
        first_leader = _leader_pid(database)
        assert first_leader is not None
        assert runs_of(database, "sample_quick") == []

        os.kill(first_leader, signal.SIGKILL)
        processes.pop(first_leader).wait(timeout=30)
        wait_for(lambda: len(runs_of(database, "sample_quick")) == 1, 30,
                 "the successor runs the missed tick")
    finally:
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
        for process in processes.values():
            process.wait(timeout=60)
        database.dispose()

    [successor] = processes
    assert _pids_of_runs(database) == [successor]
    [run] = runs_of(database, "sample_quick")
    fire_time = run.created_at.replace(minute=0, second=0, microsecond=0)
    if fire_time.tzinfo is None:
        fire_time = fire_time.replace(tzinfo=UTC)
    assert run.run_id == scheduled_run_id("default", "hourly", fire_time)
