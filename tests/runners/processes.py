"""Start ``taskrun`` in subprocesses for tests that need real processes and signals."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_TASKS = "tests.runners.sample_tasks"


def taskrun_argv(*args: str) -> list[str]:
    """Return the argv that runs ``taskrun ARGS`` with this interpreter."""
    return [sys.executable, "-c", "from taskrun_center.cli.entry import main; main()", *args]


def taskrun_env(database_url: str, **extra: str) -> dict[str, str]:
    """Return an environment for a ``taskrun`` subprocess on ``database_url``."""
    env = dict(os.environ)
    env.update(
        {
            "TASKRUN_DATABASE_URL": database_url,
            "TASKRUN_TASK_MODULES": SAMPLE_TASKS,
            "TASKRUN_LOG_FORMAT": "json",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def start_taskrun(
    database_url: str, *args: str, log_path: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``taskrun ARGS`` in the repository root; stdout and stderr go to ``log_path``."""
    log = log_path.open("wb")
    return subprocess.Popen(
        taskrun_argv(*args),
        cwd=REPO_ROOT,
        env=dict(env or taskrun_env(database_url)),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def run_taskrun(
    database_url: str, *args: str, env: Mapping[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``taskrun ARGS`` to its end and return its exit status and output."""
    return subprocess.run(
        taskrun_argv(*args),
        cwd=REPO_ROOT,
        env=dict(env or taskrun_env(database_url)),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_for(condition: Callable[[], bool], timeout: float, message: str) -> None:
    """Poll ``condition`` every 0.1 s until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting until {message}")
        time.sleep(0.1)


def clean_env(**variables: str) -> dict[str, str]:
    """Return this process's environment without ``TASKRUN_*`` variables, plus ``variables``."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("TASKRUN_")}
    env.update(variables)
    return env


def run_in(cwd: Path, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """Run ``taskrun ARGS`` in ``cwd`` with only the ``TASKRUN_*`` settings in ``variables``."""
    return subprocess.run(taskrun_argv(*args), capture_output=True, text=True,
                          env=clean_env(**variables), cwd=cwd, timeout=120, check=False)
