"""Start and stop real ``celery worker`` processes for the tests, and wait with bounds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from celery import Celery

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_TASKS = "tests.celery.sample_tasks"
T = TypeVar("T")


@dataclass
class WorkerProcess:
    """A ``celery worker`` subprocess and its log file."""

    process: subprocess.Popen[bytes]
    name: str
    log_path: Path

    def log_text(self) -> str:
        """Return what the worker has logged so far."""
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """Kill the worker's main process with SIGKILL, as a crash would."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop the worker: a warm shutdown, then SIGKILL after 15 s."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def worker_env(database_url: str, broker_url: str, queue: str, **extra: str) -> dict[str, str]:
    """Return the environment of a worker recording into ``database_url``."""
    env = dict(os.environ)
    env.update(
        {
            "TASKRUN_DATABASE_URL": database_url,
            "TASKRUN_CELERY_BROKER_URL": broker_url,
            "TASKRUN_CELERY_QUEUE": queue,
            "TASKRUN_TASK_MODULES": SAMPLE_TASKS,
            "TASKRUN_HEARTBEAT_INTERVAL_SECONDS": "0.2",
            "TASKRUN_LOG_FORMAT": "json",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def start_worker(
    app: Celery,
    env: dict[str, str],
    *,
    name: str,
    log_path: Path,
    pool: str = "prefork",
    concurrency: int = 1,
) -> WorkerProcess:
    """Start ``celery worker`` on the queue of ``env`` and wait until it answers a ping.

    Raises:
        RuntimeError: the worker exited or did not answer within 60 s (its log is attached).
    """
    argv = [
        sys.executable, "-m", "celery", "-A", "taskrun_center.runners.celery.worker", "worker",
        f"--pool={pool}", f"--concurrency={concurrency}", "-Q", env["TASKRUN_CELERY_QUEUE"],
        "-n", name, "--loglevel=INFO", "--without-gossip", "--without-mingle",
    ]
    log = log_path.open("wb")
    process = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    worker = WorkerProcess(process, name, log_path)

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"celery worker {name} exited:\n{worker.log_text()[-4000:]}")
        if app.control.ping(destination=[name], timeout=0.5):
            return worker
    worker.stop()
    raise RuntimeError(f"celery worker {name} did not answer in 60 s:\n{worker.log_text()[-4000:]}")


def wait_for(
    read: Callable[[], T], accept: Callable[[T], bool], *, timeout: float = 60, what: str
) -> T:
    """Call ``read`` until ``accept`` takes its value; return it.

    Raises:
        AssertionError: ``timeout`` seconds passed; names ``what`` and the last value.
    """
    deadline = time.monotonic() + timeout
    value = read()
    while not accept(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}; last: {value!r}")
        time.sleep(0.05)
        value = read()
    return value
