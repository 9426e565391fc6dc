"""The scheduler process: wait for leadership, then fire jobs while leading.

Every replica runs the same loop. A replica that does not lead tries the leader lock every
``poll_interval_seconds``. The leader checks at the same pace that it still holds the lock,
and refreshes its record every ``renew_interval_seconds``. APScheduler runs only in the leader
and stops when the lock is lost, so two replicas never fire jobs at the same time for longer
than one check. Even then a fire time starts at most one run, because its run_id is derived
from the job id and the fire time, and run_ids are unique in the database.

A replica that starts leading first runs the fire times that fell due while no replica led
(see ``catch_up``), within each job's misfire grace.
"""

from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger

from taskrun_center.errors import InvalidValueError, StorageError, TaskRunError
from taskrun_center.runners.dispatch import Dispatcher, enqueue_run, scheduler_dispatcher_for
from taskrun_center.runners.scheduler.catch_up import (
    fire_times_within_grace,
    missed_fire_times,
    stored_run_ids,
)
from taskrun_center.runners.scheduler.executor import FireTimeExecutor
from taskrun_center.runners.scheduler.jobs import JobSpec, load_jobs
from taskrun_center.runners.scheduler.leader import (
    DEFAULT_LEADER_NAME,
    Holder,
    LeaderLock,
    claim_leadership,
    lock_for,
    read_leader,
    release_leadership,
    renew_leadership,
)
from taskrun_center.runners.scheduler.runs_in_progress import TrackingDispatcher
from taskrun_center.states import TriggerSource
from taskrun_center.storage.engine import Database
from taskrun_center.storage.types import utcnow

logger = structlog.get_logger(__name__)

# Namespace of the run_ids derived from (scheduler name, job id, fire time).
SCHEDULED_RUN_NAMESPACE = uuid.UUID("6f1c3a52-3f7e-4d1a-9a52-2f5f0b8c9e41")
DEFAULT_POLL_INTERVAL_SECONDS = 1.0
DEFAULT_RENEW_INTERVAL_SECONDS = 5.0
# Runs of different jobs may overlap; runs of one job never do (max_instances=1).
MAX_CONCURRENT_RUNS = 8


def scheduled_run_id(name: str, job_id: str, scheduled_at: datetime) -> str:
    """Return the run_id of the run that ``job_id`` starts for the fire time ``scheduled_at``.

    The time is taken in UTC, so that changing a job's time zone leaves the ids of the instants
    it already ran unchanged (a UTC job's ids are the same as when the offset was kept).
    """
    instant = scheduled_at.astimezone(UTC).isoformat()
    return str(uuid.uuid5(SCHEDULED_RUN_NAMESPACE, f"{name}|{job_id}|{instant}"))


class SchedulerService:
    """One scheduler replica: leader election, APScheduler while leading, the leader record.

    ``dispatcher_factory`` builds the dispatcher that executes fired runs. By default they
    run in the scheduler's own worker threads, or on Celery workers when
    ``TASKRUN_CELERY_ENABLED`` is set.
    """

    def __init__(
        self,
        database: Database,
        jobs: Sequence[JobSpec],
        *,
        name: str = DEFAULT_LEADER_NAME,
        poll_interval_seconds: float = DEFAULT_POLL_INTERVAL_SECONDS,
        renew_interval_seconds: float = DEFAULT_RENEW_INTERVAL_SECONDS,
        dispatcher_factory: Callable[[Database], Dispatcher] = scheduler_dispatcher_for,
    ) -> None:
        self.database = database
        self.jobs = list(jobs)
        self.name = name
        self.poll_interval_seconds = poll_interval_seconds
        self.renew_interval_seconds = renew_interval_seconds
        self.holder = Holder()
        self.epoch: int | None = None
        self._dispatcher = TrackingDispatcher(database, dispatcher_factory(database))
        self._lock: LeaderLock = lock_for(database, name)
        self._scheduler: BackgroundScheduler | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="taskrun-scheduler", daemon=True)
        self._log = logger.bind(
            scheduler=name, holder_id=self.holder.holder_id, pid=self.holder.pid
        )

    @property
    def is_leader(self) -> bool:
        """True while this replica leads and its APScheduler fires jobs."""
        return self._scheduler is not None

    def start(self) -> SchedulerService:
        """Start the election loop in a background thread; returns self."""
        self._log.info("scheduler_started", jobs=[job.job_id for job in self.jobs])
        self._thread.start()
        return self

    def shutdown(self, wait: bool = True, *, cancel_runs: bool = False) -> None:
        """Stop firing jobs, give up leadership and end the loop.

        With ``cancel_runs`` the runs in progress in this process are cancelled (they end
        ``cancelled``) before leadership is given up, and their tasks stop at their next
        cancellation check. With ``wait`` it also waits for the runs in progress to end.
        """
        self._stopped.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join()
        cancelled = self._dispatcher.cancel_all() if cancel_runs else []
        if cancelled:
            self._log.warning("scheduler_runs_cancelled", run_ids=cancelled)
        self._step_down(wait=wait, release_record=True)
        self._log.info("scheduler_stopped")

    def runs_in_progress(self) -> list[str]:
        """Return the ids of the scheduled runs executing in this process now."""
        return self._dispatcher.in_progress()

    def wait_for_runs(self, timeout: float | None = None) -> bool:
        """Wait until no scheduled run executes in this process; False after ``timeout`` s."""
        return self._dispatcher.wait_idle(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the service stops or ``timeout`` passes; True once it stopped."""
        return self._stopped.wait(timeout)

    def fire(self, job: JobSpec, scheduled_at: datetime | None = None) -> str | None:
        """Start the run of ``job`` for ``scheduled_at``; None when that run already exists.

        ``FireTimeExecutor`` always passes ``scheduled_at``; the default only satisfies
        APScheduler's signature check and falls back to the current second.
        """
        if scheduled_at is None:
            scheduled_at = utcnow().replace(microsecond=0)
        run_id = scheduled_run_id(self.name, job.job_id, scheduled_at)
        log = self._log.bind(job_id=job.job_id, task_key=job.task_key, run_id=run_id)
        if self._dispatcher.stopping:
            log.info("scheduled_run_skipped_stopping", scheduled_at=scheduled_at.isoformat())
            return None
        try:
            enqueue_run(
                job.task_key,
                database=self.database,
                dispatcher=self._dispatcher,
                trigger_source=TriggerSource.SCHEDULED,
                arguments=job.arguments,
                created_by=f"scheduler:{job.job_id}",
                run_id=run_id,
            )
        except InvalidValueError:
            # Another replica led for a moment and started this fire time's run already.
            log.info("scheduled_run_exists", scheduled_at=scheduled_at.isoformat())
            return None
        except TaskRunError as error:
            log.error("scheduled_run_failed", error=str(error))
            return None
        return run_id

    def _loop(self) -> None:
        since_renew = 0.0
        while not self._stopped.is_set():
            try:
                if not self.is_leader:
                    if self._lock.try_acquire():
                        self._take_over()
                        since_renew = 0.0
                elif not self._lock.is_held():
                    self._log.warning("scheduler_leadership_lost", epoch=self.epoch)
                    self._step_down(wait=False)
                elif since_renew >= self.renew_interval_seconds:
                    self._renew()
                    since_renew = 0.0
            except (StorageError, OSError) as error:
                self._log.warning("scheduler_election_error", error=str(error).splitlines()[0])
            except Exception as error:
                self._log.error("scheduler_election_error", error=repr(error))
            self._stopped.wait(self.poll_interval_seconds)
            since_renew += self.poll_interval_seconds

    def _take_over(self) -> None:
        try:
            first_fire_times = self._first_fire_times(datetime.now(UTC))
        except StorageError:
            self._lock.release()
            raise
        scheduler = BackgroundScheduler(
            executors={"default": FireTimeExecutor(max_workers=MAX_CONCURRENT_RUNS)},
            timezone="UTC",
        )
        for job, trigger, first_fire_time in first_fire_times:
            options: dict[str, Any] = {}
            if first_fire_time is not None:
                options["next_run_time"] = first_fire_time
            scheduler.add_job(
                self.fire,
                trigger=trigger,
                args=(job,),
                id=job.job_id,
                name=job.job_id,
                misfire_grace_time=job.misfire_grace_seconds,
                coalesce=job.coalesce,
                max_instances=1,
                replace_existing=True,
                **options,
            )
        # Paused until the leader record is written, so that status readers never see jobs
        # fire under the previous holder's name.
        scheduler.start(paused=True)
        try:
            self.epoch = claim_leadership(
                self.database, self.name, self.holder, self.next_fire_times(scheduler)
            )
        except StorageError:
            scheduler.shutdown(wait=False)
            self._lock.release()
            raise
        self._scheduler = scheduler
        scheduler.resume()
        self._log.info("scheduler_leading", epoch=self.epoch, host=self.holder.host)

    def _first_fire_times(
        self, now: datetime
    ) -> list[tuple[JobSpec, BaseTrigger, datetime | None]]:
        """Return each job with its trigger and the first fire time APScheduler should run.

        That is the oldest missed fire time (see ``catch_up``) when there is one, else the
        next fire time at or after ``now``. APScheduler then runs every fire time from there up to
        the present, coalesced into the newest one when the job has ``coalesce = true``. The
        first time is set here, not left to APScheduler, so that a fire time that falls due
        between this check and the scheduler's start is not lost either.

        No scheduler has missed anything on a database where none ever led, so the first
        replica there starts with the next fire times. Nor has it missed the times of a job
        that the previous leader did not have (one just added to the job file): those come
        before the job existed.

        Raises:
            StorageError: the database failed while reading the leader record or runs.
        """
        previous = read_leader(self.database, self.name)
        known_jobs = {entry.get("job_id") for entry in previous.jobs} if previous else set()
        rows: list[tuple[JobSpec, BaseTrigger, datetime | None]] = []
        for job in self.jobs:
            trigger = job.trigger()
            if job.job_id not in known_jobs:
                rows.append((job, trigger, trigger.get_next_fire_time(None, now)))
                continue
            candidates = fire_times_within_grace(trigger, job.misfire_grace_seconds, now)
            missed = missed_fire_times(
                candidates,
                functools.partial(scheduled_run_id, self.name, job.job_id),
                functools.partial(stored_run_ids, self.database),
            )
            if missed:
                self._log.info(
                    "scheduler_catching_up",
                    job_id=job.job_id,
                    missed=len(missed),
                    first=missed[0].isoformat(),
                    last=missed[-1].isoformat(),
                    coalesce=job.coalesce,
                )
                rows.append((job, trigger, missed[0]))
            else:
                rows.append((job, trigger, trigger.get_next_fire_time(None, now)))
        return rows

    def _renew(self) -> None:
        if not renew_leadership(self.database, self.name, self.holder, self.next_fire_times()):
            # The lock is ours, so the record was overwritten by a replica that lost the lock
            # without noticing; writing it again restores the truth.
            self.epoch = claim_leadership(
                self.database, self.name, self.holder, self.next_fire_times()
            )

    def _step_down(self, *, wait: bool, release_record: bool = False) -> None:
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=wait)
            if release_record:
                try:
                    release_leadership(self.database, self.name, self.holder)
                except StorageError as error:
                    self._log.warning("scheduler_release_failed", error=str(error))
        self._lock.release()

    def next_fire_times(self, scheduler: BackgroundScheduler | None = None) -> list[dict[str, Any]]:
        """Return each job's id, task key, trigger and next fire time (ISO 8601, UTC)."""
        scheduler = scheduler or self._scheduler
        rows: list[dict[str, Any]] = []
        for job in self.jobs:
            next_time = None
            if scheduler is not None:
                scheduled = scheduler.get_job(job.job_id)
                if scheduled is not None and scheduled.next_run_time is not None:
                    next_time = scheduled.next_run_time.isoformat()
            rows.append(
                {
                    "job_id": job.job_id,
                    "task_key": job.task_key,
                    "trigger": job.describe_trigger(),
                    "next_fire_time": next_time,
                }
            )
        return rows


#: How long a stopping process waits for its cancelled scheduled runs to reach their next
#: cancellation check before it exits without them.
STOP_WAIT_SECONDS = 20


def stop_cancelling_runs(service: SchedulerService) -> list[str]:
    """Cancel the scheduled runs in progress here, give up leadership, wait for the runs.

    Returns the ids of runs still executing after ``STOP_WAIT_SECONDS``: tasks that do not
    check for cancellation. Their runs are already cancelled.
    """
    service.shutdown(wait=False, cancel_runs=True)
    if service.wait_for_runs(STOP_WAIT_SECONDS):
        return []
    left = service.runs_in_progress()
    logger.warning("scheduler_runs_left_running", run_ids=left, waited_seconds=STOP_WAIT_SECONDS)
    return left


def start_scheduler_in_background(
    database_url: str,
    config_path: str | Path | None = None,
    *,
    extra_jobs: Sequence[JobSpec] = (),
    poll_interval_seconds: float = DEFAULT_POLL_INTERVAL_SECONDS,
) -> SchedulerService:
    """Load tasks and jobs, then start a scheduler replica in a background thread.

    Returns the running service; call ``.shutdown()`` to stop it. ``config_path`` defaults to
    ``TASKRUN_SCHEDULER_CONFIG``; built-in tasks and ``TASKRUN_TASK_MODULES`` are loaded first.
    ``extra_jobs`` are added unless the file defines a job with the same id.

    Raises:
        SchedulerConfigError: the job file or one of its entries is invalid; nothing starts.
        ConfigurationError: a task module cannot be imported.
    """
    from taskrun_center.config import get_settings
    from taskrun_center.runners.loading import load_configured_tasks
    from taskrun_center.runners.recording import database_for

    load_configured_tasks()
    jobs = load_jobs(config_path or get_settings().scheduler_config, extra_jobs=extra_jobs)
    service = SchedulerService(
        database_for(database_url), jobs, poll_interval_seconds=poll_interval_seconds
    )
    return service.start()
