"""Leader election in one process: one leader per database, one run per fire time."""

from __future__ import annotations

from datetime import UTC, datetime

from taskrun_center.runners.scheduler import JobSpec, SchedulerService, read_leader
from taskrun_center.storage.engine import Database
from tests.runners import sample_tasks  # noqa: F401 - declares the sample tasks
from tests.runners.processes import wait_for
from tests.runners.rows import runs_of

TICK = JobSpec(job_id="tick", task_key="sample_quick", interval_seconds=3600)


def test_fire_time_starts_one_run(database: Database) -> None:
    first = SchedulerService(database, [TICK])
    second = SchedulerService(database, [TICK])
    fire_time = datetime(2026, 1, 1, 3, 30, tzinfo=UTC)

    run_id = first.fire(TICK, fire_time)
    again = second.fire(TICK, fire_time)

    assert run_id is not None
    assert again is None
    [run] = runs_of(database, "sample_quick")
    assert run.run_id == run_id
    assert run.trigger_source == "scheduled"
    assert run.created_by == "scheduler:tick"
    assert run.status == "completed"


def test_one_of_two_replicas_leads(database: Database) -> None:
    first = SchedulerService(database, [TICK], poll_interval_seconds=0.1).start()
    second = SchedulerService(database, [TICK], poll_interval_seconds=0.1).start()
    try:
        wait_for(lambda: first.is_leader or second.is_leader, 10, "one replica leads")
        leader, follower = (first, second) if first.is_leader else (second, first)
        assert not follower.is_leader
        record = read_leader(database)
        assert record is not None
        assert record.holder_id == leader.holder.holder_id
        assert record.epoch == 1
        assert [job["job_id"] for job in record.jobs] == ["tick"]
        assert record.jobs[0]["next_fire_time"] is not None

        leader.shutdown()
        wait_for(lambda: follower.is_leader, 10, "the other replica takes over")
        record = read_leader(database)
        assert record is not None
        assert record.holder_id == follower.holder.holder_id
        assert record.epoch == 2
    finally:
        first.shutdown()
        second.shutdown()

    final = read_leader(database)
    assert final is not None
    assert final.released is True
