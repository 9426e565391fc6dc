"""Serve the application with uvicorn on a free loopback port in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from taskrun_center.errors import TaskRunError

STARTUP_TIMEOUT_SECONDS = 15.0
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


class ServerStartError(TaskRunError):
    """Raised when the test server does not start listening in time."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveServer:
    """A running uvicorn server; ``url`` is its base address."""

    server: uvicorn.Server
    thread: threading.Thread
    url: str

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for its thread."""
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_live_server(app: FastAPI) -> LiveServer:
    """Start ``app`` on 127.0.0.1 and return once it accepts connections.

    Raises:
        ServerStartError: uvicorn did not start within STARTUP_TIMEOUT_SECONDS.
    """
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise ServerStartError(f"uvicorn did not start on 127.0.0.1:{port}")
        time.sleep(0.05)
    return LiveServer(server, thread, f"http://127.0.0.1:{port}")
