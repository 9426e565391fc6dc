"""Start throw-away PostgreSQL and Redis servers on loopback for the test session.

Both servers live in a temporary folder and listen on a free port of 127.0.0.1. PostgreSQL
refuses to run as root, so when the tests run as root the cluster is owned by the ``postgres``
system user and its commands run through ``runuser``.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _postgres_bin_dir() -> Path:
    configured = os.environ.get("TASKRUN_TEST_PG_BINDIR")
    if configured:
        return Path(configured)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if not candidates:
        found = shutil.which("initdb")
        if not found:
            raise RuntimeError("PostgreSQL server binaries not found; run scripts/test to install")
        return Path(found).parent
    return Path(candidates[0]).parent


@dataclass
class PostgresServer:
    """A PostgreSQL cluster started for the tests."""

    data_dir: Path
    port: int
    bin_dir: Path
    as_postgres_user: bool

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _command(self, *args: str) -> list[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres_user else []
        return [*prefix, *args]

    def start(self) -> None:
        initdb = str(self.bin_dir / "initdb")
        subprocess.run(
            self._command(initdb, "-D", str(self.data_dir), "-U", "postgres", "-A", "trust",
                          "-E", "UTF8", "--no-locale"),
            check=True, capture_output=True,
        )
        options = (
            f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200 -c shared_buffers=128MB"
        )
        subprocess.run(
            self._command(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-o", options,
                          "-l", str(self.data_dir / "server.log"), "-w", "start"),
            check=True, capture_output=True,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.admin_url.replace("+psycopg", ""), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        """Stop the server and delete its cluster folder (test clusters are large)."""
        subprocess.run(
            self._command(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate",
                          "stop"),
            check=False, capture_output=True,
        )
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)

    def execute_autocommit(self, sql: str) -> None:
        """Run one statement outside a transaction (CREATE DATABASE needs that)."""
        with psycopg.connect(self.admin_url.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]


def start_postgres(base_dir: Path) -> PostgresServer:
    """Initialise and start a cluster under ``base_dir``; the caller stops it."""
    as_postgres_user = os.geteuid() == 0
    data_dir = base_dir / "pgdata"
    data_dir.mkdir(parents=True)
    if as_postgres_user:
        shutil.chown(base_dir, "postgres")
        shutil.chown(data_dir, "postgres")
        base_dir.chmod(0o755)
    server = PostgresServer(data_dir, free_port(), _postgres_bin_dir(), as_postgres_user)
    server.start()
    return server


@dataclass
class RedisServer:
    """A Redis server started for the tests."""

    process: subprocess.Popen[bytes]
    port: int
    base_dir: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        """Stop the server and delete its folder."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.base_dir, ignore_errors=True)


def start_redis(base_dir: Path) -> RedisServer:
    """Start redis-server on a free loopback port without persistence."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server not found; run scripts/test to install it")
    port = free_port()
    base_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(base_dir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return RedisServer(process, port, base_dir)
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("redis-server did not answer PING within 15 s")
        time.sleep(0.1)
