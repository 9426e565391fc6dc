"""Throughput of short recorded tasks on Celery workers, next to the same tasks unrecorded.

One ``celery worker --pool=prefork`` runs with 2 and then 4 worker processes, on a Redis broker
and a PostgreSQL database that the benchmark starts on loopback. The recorded side sends each
task with ``enqueue_run`` and ``CeleryDispatcher`` (a pending run in PostgreSQL, then a
message), and the worker runs it through ``taskrun.execute_run`` with items, heartbeat and
final summary. The plain side sends a Celery task with the same body and no recording. Both
bodies do the same work: ``ITEMS`` steps that each wait a fifth of the task's work time (an I/O
call, say), for tasks of 20 ms to 2 s.

Each round first queues all its tasks while the worker's consumer is paused, then resumes it
and times the worker until the last task has finished. The recorded side counts ended runs in
the database, and the plain side reads a Redis counter that each task increments. So the
ratio compares what the worker processes do, and the sender's cost of creating each pending run
is reported on its own. Rounds alternate between the sides. Target: recorded time / plain time
at most 1.3.

The worker imports this module (``TASKRUN_TASK_MODULES``) to declare both tasks.
"""

from __future__ import annotations

import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from celery import Celery, shared_task
from sqlalchemy import func, select

from taskrun_center.runners import RunContext, task

TARGET_RATIO = 1.3
ITEMS = 5
RECORDED_TASK = "bench_celery_short"
PLAIN_TASK = "bench_celery.plain"
DONE_KEY = "bench_celery:done"
QUEUE = "bench-celery"
# Per scale: seconds of task work per worker process in one round, rounds per side, and the
# work of one task in ms (ITEMS equal steps). A round sends enough tasks to fill its seconds.
SCALES: dict[str, tuple[float, int, tuple[float, ...]]] = {
    "smoke": (0.3, 1, (20.0,)),
    "full": (6.0, 3, (20.0, 100.0, 500.0, 2000.0)),
}
PROCESS_COUNTS = (2, 4)
POLL_SECONDS = 0.02
REPO_ROOT = Path(__file__).resolve().parents[1]


# --- the tasks, declared in the worker -------------------------------------------------------


@task(key=RECORDED_TASK, name_zh="短任务基准", name_en="Short task benchmark", category="bench")
def bench_celery_short(ctx: RunContext, *, step_ms: float) -> None:
    """Do ``ITEMS`` steps of ``step_ms`` each, each recorded as an item."""
    for index in range(ITEMS):
        with ctx.item("step", str(index)):
            time.sleep(step_ms / 1000)


@shared_task(name=PLAIN_TASK, ignore_result=True)
def plain_short(step_ms: float) -> None:
    """Do the same steps as ``bench_celery_short`` without recording, then count the task."""
    for _ in range(ITEMS):
        time.sleep(step_ms / 1000)
    _redis().incr(DONE_KEY)


@functools.lru_cache(maxsize=1)
def _redis() -> redis.Redis:
    return redis.Redis.from_url(os.environ["TASKRUN_CELERY_BROKER_URL"])


# --- the harness ------------------------------------------------------------------------------


@dataclass
class Environment:
    """The servers and the application of one benchmark run."""

    database_url: str
    broker_url: str
    app: Celery
    logs: Path


@dataclass
class Worker:
    """A ``celery worker`` subprocess and its node name."""

    process: subprocess.Popen[bytes]
    name: str


@dataclass
class Row:
    """Seconds per round of each side, for one process count and task size."""

    processes: int
    work_ms: float
    tasks: int
    plain: list[float]
    recorded: list[float]
    enqueue: list[float]

    @property
    def ratio(self) -> float:
        return statistics.median(self.recorded) / statistics.median(self.plain)


def _wait(check: Callable[[], bool], timeout: float, description: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout} s waiting for {description}")
        # Both sides poll at this pace, so neither pays more for being watched.
        time.sleep(POLL_SECONDS)


def _start_worker(env: Environment, processes: int) -> Worker:
    worker_env = dict(os.environ)
    worker_env.update(
        TASKRUN_DATABASE_URL=env.database_url,
        TASKRUN_CELERY_BROKER_URL=env.broker_url,
        TASKRUN_CELERY_QUEUE=QUEUE,
        TASKRUN_TASK_MODULES="benchmarks.bench_celery",
        TASKRUN_LOG_FORMAT="json",
    )
    name = f"bench-{processes}@localhost"
    argv = [sys.executable, "-m", "celery", "-A", "taskrun_center.runners.celery.worker",
            "worker", "--pool=prefork", f"--concurrency={processes}", "-Q", QUEUE, "-n", name,
            "--without-gossip", "--without-mingle"]
    log = (env.logs / f"worker-{processes}.log").open("wb")
    process = subprocess.Popen(argv, cwd=REPO_ROOT, env=worker_env, stdout=log,
                               stderr=subprocess.STDOUT)
    _wait(lambda: bool(env.app.control.ping(destination=[name], timeout=0.5))
          or process.poll() is not None, 60, "the worker to start")
    if process.poll() is not None:
        raise RuntimeError(f"the worker exited; see {env.logs}")
    return Worker(process, name)


def _stop_worker(worker: Worker) -> None:
    worker.process.terminate()
    try:
        worker.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.process.kill()
        worker.process.wait()


def _pause(env: Environment, worker: Worker) -> None:
    env.app.control.cancel_consumer(QUEUE, destination=[worker.name], reply=True, timeout=10)


def _resume(env: Environment, worker: Worker) -> None:
    env.app.control.add_consumer(QUEUE, destination=[worker.name], reply=True, timeout=10)


def _ended_runs(database: Any, after_id: int) -> int:
    from taskrun_center.states import RUN_TERMINAL
    from taskrun_center.storage.models import TaskRun

    with database.session() as session:
        count = session.scalar(
            select(func.count()).select_from(TaskRun).where(
                TaskRun.id > after_id,
                TaskRun.status.in_([status.value for status in RUN_TERMINAL]),
            )
        )
    return int(count or 0)


def _last_run_id(database: Any) -> int:
    from taskrun_center.storage.models import TaskRun

    with database.session() as session:
        return int(session.scalar(select(func.coalesce(func.max(TaskRun.id), 0))) or 0)


def _round_plain(env: Environment, worker: Worker, tasks: int, step_ms: float) -> float:
    counter = redis.Redis.from_url(env.broker_url)
    counter.set(DONE_KEY, 0)
    _pause(env, worker)
    for _ in range(tasks):
        env.app.send_task(PLAIN_TASK, kwargs={"step_ms": step_ms}, queue=QUEUE)

    began = time.perf_counter()
    _resume(env, worker)
    _wait(lambda: int(counter.get(DONE_KEY) or 0) >= tasks, 600, "plain tasks")
    return time.perf_counter() - began


def _round_recorded(
    env: Environment, worker: Worker, database: Any, tasks: int, step_ms: float
) -> tuple[float, float]:
    from taskrun_center.runners.celery import CeleryDispatcher
    from taskrun_center.runners.dispatch import enqueue_run

    dispatcher = CeleryDispatcher(env.app)
    after_id = _last_run_id(database)
    _pause(env, worker)
    sending = time.perf_counter()
    for _ in range(tasks):
        enqueue_run(RECORDED_TASK, database=database, dispatcher=dispatcher,
                    arguments={"step_ms": step_ms})
    enqueue_seconds = (time.perf_counter() - sending) / tasks

    began = time.perf_counter()
    _resume(env, worker)
    _wait(lambda: _ended_runs(database, after_id) >= tasks, 600, "recorded runs")
    return time.perf_counter() - began, enqueue_seconds


def _measure(env: Environment, database: Any, processes: int, scale: str) -> list[Row]:
    seconds, rounds, sizes = SCALES[scale]
    worker = _start_worker(env, processes)
    try:
        # Warm-up: imports, connections and the first statements of each worker process.
        _round_plain(env, worker, processes * 4, 0.0)
        _round_recorded(env, worker, database, processes * 4, 0.0)
        rows = []
        for work_ms in sizes:
            # A whole number of tasks per process, so no process idles at the end of a round.
            tasks = processes * max(4, round(seconds * 1000 / work_ms))
            step_ms = work_ms / ITEMS
            row = Row(processes, work_ms, tasks, [], [], [])
            for _ in range(rounds):
                row.plain.append(_round_plain(env, worker, tasks, step_ms))
                recorded, enqueue = _round_recorded(env, worker, database, tasks, step_ms)
                row.recorded.append(recorded)
                row.enqueue.append(enqueue)
            rows.append(row)
        return rows
    finally:
        _stop_worker(worker)


def _report(rows: list[Row], scale: str, load: tuple[float, float]) -> str:
    from benchmarks.machine import describe_machine

    seconds, rounds, _ = SCALES[scale]
    lines = [
        "# Celery: recorded vs plain task throughput",
        "",
        describe_machine(),
        "",
        f"Scale `{scale}`: rounds of about {seconds:g} s of task work per worker process, "
        f"{rounds} rounds per side, alternating; each task does {ITEMS} equal steps (sleeps). "
        "Broker Redis, database PostgreSQL 15, both on loopback on the same machine as the "
        "workers; one `celery worker --pool=prefork` per process count. A round queues its "
        "tasks with the worker paused, then times the worker from resume to the last task. "
        f"One-minute load average {load[0]:.1f} at the start and {load[1]:.1f} at the end: "
        "every database round trip waits for a CPU, so a busy machine raises the ratio.",
        "",
        "| worker processes | task work (ms) | tasks per round | plain tasks/s "
        "| recorded tasks/s | recorded / plain time | target ≤ 1.3 | enqueue_run (ms) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        plain = row.tasks / statistics.median(row.plain)
        recorded = row.tasks / statistics.median(row.recorded)
        met = "met" if row.ratio <= TARGET_RATIO else "not met"
        enqueue_ms = statistics.median(row.enqueue) * 1000
        lines.append(
            f"| {row.processes} | {row.work_ms:g} | {row.tasks} | {plain:.1f} | {recorded:.1f} "
            f"| {row.ratio:.2f}× | {met} | {enqueue_ms:.1f} |"
        )
    lines += [
        "",
        "Medians over the rounds. Recording costs each run a fixed number of short database "
        "transactions (pick-up, item batches, final summary), so the ratio falls as tasks get "
        "longer. `enqueue_run` is the sender's median time to create one pending run and send "
        "its message, outside the timed part.",
    ]
    return "\n".join(lines)


def main(scale: str) -> str:
    """Start PostgreSQL, Redis and workers, measure both sides, return the Markdown report."""
    from tests.support.servers import start_postgres, start_redis

    from taskrun_center.logging_setup import configure_logging
    from taskrun_center.runners.celery import create_app
    from taskrun_center.storage.engine import Database
    from taskrun_center.storage.migrate import upgrade

    # The sender's per-run info lines would fill the report; warnings and errors still show.
    configure_logging(level="WARNING")
    # start_postgres hands its folder to the postgres user, so it gets a folder of its own.
    postgres = start_postgres(Path(tempfile.mkdtemp(prefix="bench-celery-pg-")))
    broker = start_redis(Path(tempfile.mkdtemp(prefix="bench-celery-redis-")))
    try:
        postgres.execute_autocommit("CREATE DATABASE bench_celery")
        database_url = postgres.url("bench_celery")
        upgrade(database_url)
        app = create_app(broker_url=broker.url, queue=QUEUE)
        env = Environment(database_url, broker.url, app,
                          Path(tempfile.mkdtemp(prefix="bench-celery-logs-")))
        database = Database(database_url)
        load_at_start = os.getloadavg()[0]
        try:
            rows = [row for processes in PROCESS_COUNTS
                    for row in _measure(env, database, processes, scale)]
        finally:
            database.dispose()
        return _report(rows, scale, (load_at_start, os.getloadavg()[0]))
    finally:
        broker.stop()
        postgres.stop()
