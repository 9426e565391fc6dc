"""The first admin and ``taskrun serve`` as a real process on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from taskrun_center.storage.engine import Database
from taskrun_center.web.auth.accounts import authenticate, ensure_initial_admin, list_users
from taskrun_center.web.server import create_initial_admin
from tests.browser.live_server import free_port

START_SECONDS = 60.0


def test_initial_admin_uses_configured_password(sqlite_url: str) -> None:
    database = Database(sqlite_url)

    with database.transaction() as session:
        generated = ensure_initial_admin(session, "configured-password")

    assert generated is None
    with database.session() as session:
        assert authenticate(session, "admin", "configured-password") is not None


def test_initial_admin_prints_generated_password_once(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TASKRUN_ADMIN_PASSWORD", raising=False)
    database = Database(sqlite_url)

    create_initial_admin(database)
    first = capsys.readouterr().err
    create_initial_admin(database)
    second = capsys.readouterr().err

    password = first.split("：", 1)[1].split()[0]
    with database.session() as session:
        assert authenticate(session, "admin", password) is not None
        assert [user.username for user in list_users(session)] == ["admin"]
    assert second == ""


def test_serve_command_answers_on_loopback(sqlite_url: str) -> None:
    port = free_port()
    environment = {**os.environ, "TASKRUN_ADMIN_PASSWORD": "serve-password-1",
                   "TASKRUN_SECRET_KEY": "serve-secret-key-0123456789"}
    process = subprocess.Popen(
        [sys.executable, "-c", "from taskrun_center.cli.app import main; main()",
         "serve", "--no-scheduler",
         "--host", "127.0.0.1", "--port", str(port), "--database-url", sqlite_url],
        env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        health = None
        deadline = time.monotonic() + START_SECONDS
        while health is None and time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            except httpx.TransportError:
                time.sleep(0.1)
        login = httpx.get(f"http://127.0.0.1:{port}/login", timeout=5)
    finally:
        process.terminate()
        process.wait(timeout=10)

    assert health is not None
    assert health.status_code == 200
    assert "登录任务运行中心" in login.text
