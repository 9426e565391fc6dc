"""``taskrun serve`` and ``taskrun up`` check their address before they start anything."""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskrun_center.web.listen_address import ListenAddressError, check_listen_address, url_host
from tests.runners.processes import run_in


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port that another socket listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_taken_port_is_named_with_the_fix(taken_port: int) -> None:
    with pytest.raises(ListenAddressError) as refused:
        check_listen_address("127.0.0.1", taken_port)

    assert refused.value.code == "SERVER_ADDRESS_UNAVAILABLE"
    assert f"127.0.0.1:{taken_port}" in refused.value.text.zh
    assert "端口已被其他程序占用" in refused.value.text.zh
    assert "Pick another one with --port" in refused.value.text.en


def test_address_of_another_machine_is_refused() -> None:
    # 192.0.2.1 is reserved for documentation: no interface of this machine has it. Binding
    # fails locally; nothing is sent.
    with pytest.raises(ListenAddressError) as refused:
        check_listen_address("192.0.2.1", 8000)

    assert "this machine has no such address" in refused.value.text.en


def test_free_port_passes_and_stays_free() -> None:
    with socket.socket() as finder:
        finder.bind(("127.0.0.1", 0))
        port = finder.getsockname()[1]

    check_listen_address("127.0.0.1", port)

    with socket.socket() as again:
        again.bind(("127.0.0.1", port))


@pytest.mark.parametrize("command", [("serve",), ("up",)], ids=" ".join)
def test_command_stops_before_starting_anything(tmp_path: Path, taken_port: int,
                                                command: tuple[str, ...]) -> None:
    """No admin is created, no round runs and no console URL is printed."""
    database = tmp_path / "taskrun.db"
    assert run_in(tmp_path, "db", "upgrade").returncode == 0

    completed = run_in(tmp_path, *command, "--port", str(taken_port))

    assert completed.returncode == 1, completed.stderr
    assert f"无法监听 127.0.0.1:{taken_port}：端口已被其他程序占用" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert "控制台：" not in completed.stdout
    assert "第一轮运行" not in completed.stdout
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM users").fetchone() == (0,)
        assert connection.execute("SELECT count(*) FROM task_runs").fetchone() == (0,)


def test_ipv4_mapped_ipv6_host() -> None:
    """uvicorn opens an IPv6 socket for a host with a colon, where this form is invalid."""
    with pytest.raises(ListenAddressError):
        check_listen_address("::ffff:127.0.0.1", 8000)


def test_ipv6_host_in_brackets_in_url() -> None:
    assert url_host("::1") == "[::1]"
    assert url_host("127.0.0.1") == "127.0.0.1"
