"""``taskrun serve`` and ``taskrun up`` share their options and use the CLI's language."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.browser.live_server import free_port
from tests.runners.processes import run_taskrun, taskrun_argv
from tests.web.serve_process import running_server, serve_environment

PASSWORD_WAIT_SECONDS = 30.0


@pytest.mark.parametrize("command", ["serve", "up"])
@pytest.mark.parametrize("port", ["0", "65536", "70000"])
def test_port_outside_range_rejected(command: str, port: str, sqlite_url: str) -> None:
    env = serve_environment(sqlite_url)

    result = run_taskrun(sqlite_url, "--lang", "en", command, "--port", port, env=env,
                         timeout=60)

    assert result.returncode == 2, result.stdout + result.stderr
    assert "--port" in result.stderr
    assert "1 to 65535" in result.stderr
    assert "Console:" not in result.stdout


@pytest.mark.parametrize("command", ["serve", "up"])
@pytest.mark.parametrize("proxies", ["not-an-ip", "10.0.0.0/33", "127.0.0.1,nope"])
def test_bad_proxy_list_rejected(command: str, proxies: str, sqlite_url: str) -> None:
    env = serve_environment(sqlite_url)

    by_option = run_taskrun(sqlite_url, "--lang", "en", command, "--forwarded-allow-ips",
                            proxies, env=env, timeout=60)
    by_variable = run_taskrun(sqlite_url, "--lang", "en", command,
                              env={**env, "TASKRUN_FORWARDED_ALLOW_IPS": proxies}, timeout=60)

    for result in (by_option, by_variable):
        # Click draws option errors in a box that can wrap inside the phrase.
        words = " ".join(result.stderr.replace("│", " ").split())
        assert result.returncode == 2, result.stdout + result.stderr
        assert "no IP address or network" in words
        assert "Console:" not in result.stdout


def _wait_for_password_line(log_path: Path, marker: str) -> str:
    deadline = time.monotonic() + PASSWORD_WAIT_SECONDS
    while time.monotonic() < deadline:
        text = log_path.read_text(encoding="utf-8", errors="replace")
        if marker in text:
            return text
        time.sleep(0.1)
    return log_path.read_text(encoding="utf-8", errors="replace")


@pytest.mark.parametrize("command", ["serve", "up"])
def test_first_admin_message_follows_lang(command: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'taskrun.db'}"
    port = free_port()
    env = serve_environment(url, TASKRUN_LANGUAGE="zh-CN")
    env.pop("TASKRUN_ADMIN_PASSWORD")
    if command == "serve":
        migrated = run_taskrun(url, "db", "upgrade", env=env)
        assert migrated.returncode == 0, migrated.stderr
    extra = ["--no-scheduler"] if command == "serve" else []
    argv = taskrun_argv("--lang", "en", command, *extra, "--host", "127.0.0.1",
                        "--port", str(port), "--database-url", url)

    with running_server(argv, port, tmp_path / "server.log", env) as server:
        output = _wait_for_password_line(server.log_path, "Created the admin user")

    assert "Created the admin user admin" in output
    assert "已创建管理员账号" not in output
