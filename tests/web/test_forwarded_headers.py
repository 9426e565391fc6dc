"""Proxy headers are trusted only when configured, so X-Forwarded-For cannot dodge throttling."""

from __future__ import annotations

from pathlib import Path

import httpx

from taskrun_center.web.auth.throttle import LoginThrottle
from tests.browser.live_server import free_port
from tests.runners.processes import taskrun_argv
from tests.web.serve_process import running_server, serve_environment

MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_USERNAME = 50


def _failed_logins(url: str, attempts: int) -> list[int]:
    """Send wrong passwords for admin, each from a different X-Forwarded-For address."""
    statuses = []
    with httpx.Client(base_url=url, timeout=30) as client:
        token = client.get("/api/v1/auth/csrf-token").json()["data"]["csrf_token"]
        for attempt in range(attempts):
            response = client.post(
                "/api/v1/auth/login",
                json={"username": "admin", "password": "wrong-password"},
                headers={"X-CSRFToken": token, "X-Forwarded-For": f"203.0.113.{attempt + 1}"},
            )
            statuses.append(response.status_code)
    return statuses


def _serve_argv(database_url: str, port: int, *extra: str) -> list[str]:
    return taskrun_argv("serve", "--no-scheduler", "--host", "127.0.0.1", "--port", str(port),
                        "--database-url", database_url, *extra)


def test_forwarded_for_ignored_by_default(sqlite_url: str, tmp_path: Path) -> None:
    port = free_port()
    argv = _serve_argv(sqlite_url, port)
    env = serve_environment(sqlite_url)

    with running_server(argv, port, tmp_path / "serve.log", env) as server:
        statuses = _failed_logins(server.url, MAX_FAILURES_PER_USER + 1)

    assert statuses[:MAX_FAILURES_PER_USER] == [401] * MAX_FAILURES_PER_USER
    assert statuses[MAX_FAILURES_PER_USER] == 429


def test_trusted_proxy_rotation_hits_username_limit(sqlite_url: str, tmp_path: Path) -> None:
    port = free_port()
    argv = _serve_argv(sqlite_url, port, "--forwarded-allow-ips", "127.0.0.1")
    env = serve_environment(sqlite_url)

    with running_server(argv, port, tmp_path / "serve.log", env) as server:
        statuses = _failed_logins(server.url, MAX_FAILURES_PER_USERNAME + 1)

    # Each attempt comes from another trusted client address, so only the limit per username
    # over all addresses applies.
    assert statuses[:MAX_FAILURES_PER_USERNAME] == [401] * MAX_FAILURES_PER_USERNAME
    assert statuses[MAX_FAILURES_PER_USERNAME] == 429


def test_forwarded_setting_read_from_environment(sqlite_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = serve_environment(sqlite_url, TASKRUN_FORWARDED_ALLOW_IPS="127.0.0.1")

    with running_server(_serve_argv(sqlite_url, port), port, tmp_path / "serve.log",
                        env) as server:
        statuses = _failed_logins(server.url, MAX_FAILURES_PER_USER + 1)

    assert statuses == [401] * (MAX_FAILURES_PER_USER + 1)


def test_throttle_locks_username_across_addresses() -> None:
    throttle = LoginThrottle(max_failures_per_user=5, max_failures_per_address=20,
                             max_failures_per_username=8, window_seconds=60,
                             clock=lambda: 100.0)
    for index in range(8):
        throttle.record_failure("Admin", f"10.0.0.{index}")

    assert throttle.retry_after("admin", "10.0.1.1") == 60
    assert throttle.retry_after("viewer", "10.0.1.1") == 0


def test_throttle_reset_keeps_username_counter() -> None:
    throttle = LoginThrottle(max_failures_per_username=3, window_seconds=60,
                             clock=lambda: 100.0)
    for index in range(3):
        throttle.record_failure("admin", f"10.0.0.{index}")

    throttle.reset("admin", "10.0.0.0")

    assert throttle.retry_after("admin", "10.0.0.9") == 60
