"""Start ``taskrun serve`` (or a script calling ``serve``) as a real process on loopback."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.runners.processes import REPO_ROOT, taskrun_env

# Generous for a CI machine shared with other work; the wait ends once /healthz responds.
START_SECONDS = 60.0
SERVE_PASSWORD = "serve-password-1"


@dataclass
class ServeProcess:
    """A running server process; ``url`` is its base address, ``log_path`` its output."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def output(self) -> str:
        """Return everything the process wrote to stdout and stderr so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def serve_environment(database_url: str, **extra: str) -> dict[str, str]:
    """Return the environment of a server process with a known admin password."""
    return taskrun_env(
        database_url,
        TASKRUN_ADMIN_PASSWORD=SERVE_PASSWORD,
        TASKRUN_SECRET_KEY="serve-secret-key-0123456789",
        TASKRUN_TASK_MODULES="",
        **extra,
    )


@contextmanager
def running_server(
    argv: Sequence[str], port: int, log_path: Path, env: dict[str, str]
) -> Iterator[ServeProcess]:
    """Start ``argv``, wait until ``/healthz`` on ``port`` responds, and stop it on exit."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(list(argv), cwd=REPO_ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    server = ServeProcess(process, f"http://127.0.0.1:{port}", log_path)
    try:
        _wait_for_health(server)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wait_for_health(server: ServeProcess) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"the server exited early:\n{server.output()}")
        try:
            httpx.get(f"{server.url}/healthz", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"the server did not start in {START_SECONDS} s:\n{server.output()}")
