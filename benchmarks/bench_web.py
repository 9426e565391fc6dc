"""The console's run list rendered on the server, and the REST API under 50 concurrent clients.

The server is a separate ``uvicorn`` process (one worker, ``taskrun_center.web.app:create_app``)
on a free loopback port, serving a SQLite database filled by ``benchmarks.run_data``. Clients
run in this process with ``httpx`` over loopback, so each latency includes HTTP, auth (session
cookie or API token lookup), the read service and rendering.

- List page: ``GET /runs`` as a signed-in viewer, for several filters, one request at a time.
  Target: p95 under 100 ms at 1,000,000 runs.
- API: 50 clients (asyncio tasks, one connection each) send ``GET /api/v1/task-runs`` with
  rotating filters and an API token. Target: no errors; p50/p95/p99 recorded.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.machine import describe_machine
from benchmarks.run_data import RunShape, load_runs, newest_default
from taskrun_center.storage.engine import Database
from taskrun_center.storage.migrate import upgrade
from taskrun_center.web.auth.accounts import Role, create_token, create_user

TARGET_PAGE_P95_MS = 100.0
CLIENTS = 50
PASSWORD = "bench-password-1"
# runs loaded, list page requests per filter, API requests per client
SCALES = {"smoke": (10_000, 15, 4), "full": (1_000_000, 100, 40)}
PAGE_QUERIES = {
    "first page, no filter": "",
    "status=failed": "?status=failed",
    "task_key=task_7, trigger=manual": "?task_key=task_7&trigger_source=manual",
    "page 50": "?page=50",
}
API_QUERIES = (
    "/api/v1/task-runs",
    "/api/v1/task-runs?status=failed",
    "/api/v1/task-runs?task_key=task_3&limit=50",
    "/api/v1/task-runs?sort=duration&order=asc",
    "/api/v1/task-runs?page=5",
)
SERVER_START_SECONDS = 30.0
# Bound on one whole API phase, so a stuck server cannot hang the benchmark.
API_PHASE_SECONDS = 300.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _prepare(url: str, runs: int) -> str:
    """Migrate, add a viewer and a token, load the runs; return the token."""
    upgrade(url)
    database = Database(url)
    with database.transaction() as session:
        create_user(session, "viewer", PASSWORD, Role.VIEWER)
        token = create_token(session, "viewer", "bench").secret
    database.dispose()
    load_runs(url, RunShape(runs=runs, items_per_run=0, newest=newest_default()))
    return token


def _start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    environment = {**os.environ, "TASKRUN_DATABASE_URL": url,
                   "TASKRUN_SECRET_KEY": "bench-secret-key-0123456789abcdef",
                   "TASKRUN_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "taskrun_center.web.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "--no-access-log"],
        env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the benchmark server did not start on port {port}")


def _percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)

    def at(fraction: float) -> float:
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    return statistics.median(ordered), at(0.95), at(0.99)


def _measure_pages(base: str, requests: int) -> list[str]:
    rows = ["| list page | requests | median ms | p95 ms | p99 ms | target p95 < 100 ms |",
            "| --- | ---: | ---: | ---: | ---: | --- |"]
    with httpx.Client(base_url=base, timeout=30) as client:
        token = client.get("/api/v1/auth/csrf-token").json()["data"]["csrf_token"]
        client.post("/login", data={"username": "viewer", "password": PASSWORD,
                                    "csrf_token": token})
        for name, query in PAGE_QUERIES.items():
            client.get(f"/runs{query}").raise_for_status()  # warm the caches once
            samples = []
            for _ in range(requests):
                started = time.perf_counter()
                response = client.get(f"/runs{query}")
                samples.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
            median, p95, p99 = _percentiles(samples)
            verdict = "met" if p95 < TARGET_PAGE_P95_MS else "**not met**"
            rows.append(f"| {name} | {requests} | {median:.1f} | {p95:.1f} | {p99:.1f} | "
                        f"{verdict} |")
    return rows


async def _client_loop(base: str, token: str, count: int, *, samples: list[float],
                       errors: list[str], deadline: float) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        for index in range(count):
            if time.monotonic() > deadline:
                errors.append("phase deadline reached")
                return
            started = time.perf_counter()
            try:
                response = await client.get(API_QUERIES[index % len(API_QUERIES)])
            except httpx.HTTPError as error:
                errors.append(type(error).__name__)
                continue
            samples.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                errors.append(f"HTTP {response.status_code}")


async def _measure_api(base: str, token: str, per_client: int) -> tuple[list[float], list[str],
                                                                         float]:
    samples: list[float] = []
    errors: list[str] = []
    deadline = time.monotonic() + API_PHASE_SECONDS
    started = time.perf_counter()
    await asyncio.gather(*(
        _client_loop(base, token, per_client, samples=samples, errors=errors, deadline=deadline)
        for _ in range(CLIENTS)
    ))
    return samples, errors, time.perf_counter() - started


def main(scale: str) -> str:
    """Measure at ``scale`` ("smoke" or "full") and return the Markdown report."""
    runs, page_requests, per_client = SCALES[scale]
    load_before = os.getloadavg()[0]
    folder = Path(tempfile.mkdtemp(prefix="taskrun-bench-web-"))
    url = f"sqlite:///{folder / 'taskrun.db'}"
    load_started = time.perf_counter()
    token = _prepare(url, runs)
    load_seconds = time.perf_counter() - load_started
    port = _free_port()
    server = _start_server(url, port)
    base = f"http://127.0.0.1:{port}"
    try:
        page_rows = _measure_pages(base, page_requests)
        samples, errors, elapsed = asyncio.run(_measure_api(base, token, per_client))
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
    median, p95, p99 = _percentiles(samples) if samples else (0.0, 0.0, 0.0)
    api_verdict = "met" if not errors else f"**not met**: {len(errors)} errors ({errors[0]})"
    lines = [
        "# Web benchmark: list page and REST API",
        "",
        describe_machine(),
        "",
        f"SQLite database with {runs:,} runs (loaded by bulk SQL in {load_seconds:.0f} s); "
        "one uvicorn worker on 127.0.0.1; clients in a separate process over loopback HTTP. "
        "Script: `python -m benchmarks bench_web`. The one-minute load average was "
        f"{load_before:.1f} at the start and {os.getloadavg()[0]:.1f} at the end, on "
        f"{os.cpu_count()} cores.",
        "",
        "## Run list page rendered on the server (`GET /runs`, signed-in viewer)",
        "",
        *page_rows,
        "",
        f"## REST API under {CLIENTS} concurrent clients (`GET /api/v1/task-runs`, API token)",
        "",
        "| requests | errors | throughput req/s | median ms | p95 ms | p99 ms | target |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        f"| {len(samples)} | {len(errors)} | {len(samples) / elapsed:.0f} | {median:.1f} | "
        f"{p95:.1f} | {p99:.1f} | no errors: {api_verdict} |",
        "",
        "Queries rotate through: " + ", ".join(f"`{query}`" for query in API_QUERIES) + ".",
        "",
        "The page counts its total only up to the read service's cap, so an exact `count(*)` "
        "no longer explains a slow page. `benchmarks/results/list.md` measures the read "
        "service alone, without HTTP and rendering.",
    ]
    return "\n".join(lines)
