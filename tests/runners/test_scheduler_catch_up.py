"""A replica that starts leading runs the fire times that fell due while no replica led."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from taskrun_center.runners.scheduler import JobSpec, SchedulerService, scheduled_run_id
from taskrun_center.runners.scheduler.catch_up import (
    LOOKUP_BATCH,
    fire_times_within_grace,
    missed_fire_times,
)
from taskrun_center.storage.engine import Database
from tests.runners import sample_tasks  # noqa: F401 - declares the sample tasks
from tests.runners.processes import wait_for
from tests.runners.rows import runs_of

HOUR = 3600
TEN_MINUTES = 600


def _latest_tick(interval_seconds: int) -> datetime:
    """Return the newest fire time of an interval job, waiting out a tick that is about due.

    Interval ticks are counted from 2000-01-01T00:00:00Z. Near a tick the newest one could
    change between this computation and the scheduler's, so the test waits until it passed.
    """
    origin = datetime(2000, 1, 1, tzinfo=UTC)
    while True:
        now = datetime.now(UTC)
        elapsed = int((now - origin).total_seconds())
        if interval_seconds - elapsed % interval_seconds > 10:
            return origin + timedelta(seconds=elapsed - elapsed % interval_seconds)
        time.sleep(11)


def _has_run(database: Database, job: JobSpec, fire_time: datetime) -> bool:
    run_id = scheduled_run_id("default", job.job_id, fire_time)
    return any(run.run_id == run_id for run in runs_of(database, job.task_key))


@pytest.fixture
def services() -> Iterator[list[SchedulerService]]:
    """Scheduler services of one test, each shut down at its end."""
    started: list[SchedulerService] = []
    yield started
    for service in started:
        service.shutdown()


def _start(database: Database, job: JobSpec, services: list[SchedulerService]) -> SchedulerService:
    service = SchedulerService(database, [job], poll_interval_seconds=0.1)
    services.append(service)
    return service.start()


def _previous_leader(
    database: Database, job: JobSpec, fired: list[datetime] | None = None
) -> None:
    """Lead once, start the runs of ``fired`` fire times, then stop (a replica that went away)."""
    service = SchedulerService(database, [job], poll_interval_seconds=0.1).start()
    try:
        wait_for(lambda: service.is_leader, 30, "the previous replica leads")
        for fire_time in fired or []:
            assert service.fire(job, fire_time) is not None
    finally:
        service.shutdown()


def test_start_runs_missed_fire_time(database: Database, services: list[SchedulerService]) -> None:
    job = JobSpec(job_id="hourly", task_key="sample_quick", interval_seconds=HOUR,
                  misfire_grace_seconds=2 * HOUR)
    due = _latest_tick(HOUR)
    _previous_leader(database, job)

    _start(database, job, services)

    wait_for(lambda: _has_run(database, job, due), 30, "the missed fire time runs")
    [run] = runs_of(database, "sample_quick")
    assert run.trigger_source == "scheduled"
    assert run.status == "completed"


def test_fire_time_with_run_is_not_repeated(
    database: Database, services: list[SchedulerService]
) -> None:
    job = JobSpec(job_id="hourly", task_key="sample_quick", interval_seconds=HOUR,
                  misfire_grace_seconds=2 * HOUR)
    due = _latest_tick(HOUR)
    _previous_leader(database, job, [due])

    service = _start(database, job, services)

    wait_for(lambda: service.is_leader, 30, "the replica leads")
    [row] = service.next_fire_times()
    assert row["next_fire_time"] == (due + timedelta(hours=1)).isoformat()
    assert len(runs_of(database, "sample_quick")) == 1


def test_first_leader_starts_with_next_time(
    database: Database, services: list[SchedulerService]
) -> None:
    job = JobSpec(job_id="hourly", task_key="sample_quick", interval_seconds=HOUR,
                  misfire_grace_seconds=2 * HOUR)
    due = _latest_tick(HOUR)

    service = _start(database, job, services)

    wait_for(lambda: service.is_leader, 30, "the replica leads")
    [row] = service.next_fire_times()
    assert row["next_fire_time"] == (due + timedelta(hours=1)).isoformat()
    assert runs_of(database, "sample_quick") == []


def test_job_added_since_last_leader(
    database: Database, services: list[SchedulerService]
) -> None:
    """A job added since the last leader has no missed times: they predate the job."""
    old = JobSpec(job_id="daily", task_key="sample_quick", interval_seconds=24 * HOUR)
    added = JobSpec(job_id="hourly", task_key="sample_quick", interval_seconds=HOUR,
                    misfire_grace_seconds=2 * HOUR)
    due = _latest_tick(HOUR)
    _previous_leader(database, old)

    service = SchedulerService(database, [old, added], poll_interval_seconds=0.1)
    services.append(service)
    service.start()

    wait_for(lambda: service.is_leader, 30, "the replica leads")
    rows = {row["job_id"]: row for row in service.next_fire_times()}
    assert rows["hourly"]["next_fire_time"] == (due + timedelta(hours=1)).isoformat()
    assert not _has_run(database, added, due)


def test_missed_times_without_coalesce_run_each(
    database: Database, services: list[SchedulerService]
) -> None:
    job = JobSpec(job_id="ten_minutes", task_key="sample_quick", interval_seconds=TEN_MINUTES,
                  misfire_grace_seconds=HOUR, coalesce=False)
    latest = _latest_tick(TEN_MINUTES)
    ticks = [latest - timedelta(seconds=TEN_MINUTES * back) for back in range(5, -1, -1)]
    _previous_leader(database, job, [ticks[2]])

    _start(database, job, services)

    wait_for(lambda: _has_run(database, job, latest), 30, "the newest missed time runs")
    assert _has_run(database, job, ticks[3])
    assert _has_run(database, job, ticks[4])
    # Older than the last time that ran: left out although within the grace.
    assert not _has_run(database, job, ticks[0])
    assert not _has_run(database, job, ticks[1])
    assert len(runs_of(database, "sample_quick")) == 4


def test_missed_times_with_coalesce_run_newest(
    database: Database, services: list[SchedulerService]
) -> None:
    job = JobSpec(job_id="ten_minutes", task_key="sample_quick", interval_seconds=TEN_MINUTES,
                  misfire_grace_seconds=HOUR, coalesce=True)
    latest = _latest_tick(TEN_MINUTES)
    ticks = [latest - timedelta(seconds=TEN_MINUTES * back) for back in range(3, -1, -1)]
    _previous_leader(database, job, [ticks[0]])

    _start(database, job, services)

    wait_for(lambda: _has_run(database, job, latest), 30, "the newest missed time runs")
    assert not _has_run(database, job, ticks[1])
    assert not _has_run(database, job, ticks[2])
    assert len(runs_of(database, "sample_quick")) == 2


def test_fire_times_outside_grace_are_not_listed() -> None:
    job = JobSpec(job_id="daily", task_key="sample_quick", cron="30 3 * * *",
                  misfire_grace_seconds=HOUR)
    inside = datetime(2026, 12, 5, 4, 0, tzinfo=UTC)
    outside = datetime(2026, 12, 5, 4, 31, tzinfo=UTC)

    assert fire_times_within_grace(job.trigger(), HOUR, inside) == [
        datetime(2026, 12, 5, 3, 30, tzinfo=UTC)
    ]
    assert fire_times_within_grace(job.trigger(), HOUR, outside) == []


@pytest.mark.parametrize(("existing", "missed"), [
    (set(), [0, 1, 2]),
    ({0}, [1, 2]),
    ({1}, [2]),
    ({0, 2}, []),
    ({2}, []),
])
def test_missed_times_follow_newest_run(existing: set[int], missed: list[int]) -> None:
    times = [datetime(2026, 12, 5, hour, tzinfo=UTC) for hour in range(3)]

    found = missed_fire_times(
        times,
        lambda fire_time: str(fire_time.hour),
        lambda run_ids: {run_id for run_id in run_ids if int(run_id) in existing},
    )

    assert found == [times[index] for index in missed]


@pytest.mark.parametrize(("newest_run", "lookups"), [
    (LOOKUP_BATCH * 3 - 1, 1),
    (LOOKUP_BATCH * 2 + 1, 1),
    (LOOKUP_BATCH * 2 - 1, 2),
    (None, 3),
])
def test_missed_times_looked_up_newest_first(newest_run: int | None, lookups: int) -> None:
    """The lookups stop at the newest batch of times that has a run."""
    start = datetime(2026, 12, 5, tzinfo=UTC)
    times = [start + timedelta(seconds=second) for second in range(LOOKUP_BATCH * 3)]
    batches: list[list[str]] = []

    def existing(run_ids: list[str]) -> set[str]:
        batches.append(run_ids)
        return {run_id for run_id in run_ids if int(run_id) == newest_run}

    def run_id_of(fire_time: datetime) -> str:
        return str(int((fire_time - start).total_seconds()))

    found = missed_fire_times(times, run_id_of, existing)

    expected_first = 0 if newest_run is None else newest_run + 1
    assert found == times[expected_first:]
    assert len(batches) == lookups
    assert all(len(batch) <= LOOKUP_BATCH for batch in batches)


def test_run_id_across_time_zones() -> None:
    """Changing a job's time zone keeps the ids of the times it already ran."""
    from zoneinfo import ZoneInfo

    utc = datetime(2026, 12, 5, 12, 53, 45, tzinfo=UTC)
    shanghai = utc.astimezone(ZoneInfo("Asia/Shanghai"))

    assert scheduled_run_id("default", "tick", shanghai) == scheduled_run_id("default", "tick", utc)
