"""Throw-away databases filled with many runs by bulk SQL, for the list, purge and audit benchmarks.

Rows are generated inside the database (``generate_series`` on PostgreSQL, a recursive CTE on
SQLite), not through the write service, so a million runs load in seconds to minutes. Every row
is valid: the summary is a real envelope that passes ``contract.check_summary`` with the row's
task key, ``duration_ms`` and ``is_skipped`` agree with the other columns, and timestamps are
stored in the same form as ``UTCDateTime`` writes them.

Shape of run ``i`` (1-based, ``id == i``): task key ``task_{i % 20}``, category ``cat_{i % 5}``,
and a trigger source cycling through the five sources. Statuses: 1 % pending (no
``started_at``), 1 % running, 10 % failed, about 5 % completed_with_errors, about 3 % cancelled,
the rest completed. Run ``i`` started ``i * spacing`` seconds before ``newest`` and took
``i % 600`` seconds. Items are ``item-0`` … ``item-{k-1}`` with small metrics and details.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url
from tests.support.servers import start_postgres

from taskrun_center.contract import check_summary
from taskrun_center.storage.migrate import upgrade

TASK_KEYS = 20
PLACEHOLDER = "__TASK_KEY__"


def summary_template() -> str:
    """Return a valid envelope of about 700 bytes as JSON with a placeholder task key."""
    summary = {
        "version": 1,
        "common": {
            "inputs": {"source": "warehouse", "window_days": 1},
            "scope": {"time": None, "target": {"cluster": "main"}},
            "metrics": [
                {"key": "rows_read", "label": "读取行数", "value": 125_000, "unit": "rows"},
                {"key": "rows_written", "label": "写入行数", "value": 124_990, "unit": "rows",
                 "tone": "success"},
                {"key": "errors", "label": "错误", "value": 10, "tone": "warning"},
            ],
            "highlights": ["10 rows skipped: duplicate keys", "Finished within the window"],
            "flags": {"skipped": False, "skip_reason": None},
        },
        "ext": {"type": "task_0", "version": 1, "data": {"batches": 25, "retries": 1}},
    }
    check_summary(summary, task_key="task_0")
    return json.dumps(summary, ensure_ascii=False, separators=(",", ":")).replace(
        '"task_0"', f'"{PLACEHOLDER}"'
    )


@dataclass(frozen=True)
class RunShape:
    """How many runs and items to load, and when the newest run started."""

    runs: int
    items_per_run: int
    newest: datetime
    spacing_seconds: int = 5


# --- database set-up ----------------------------------------------------------------------------


@contextmanager
def benchmark_databases() -> Iterator[dict[str, str]]:
    """Yield ``{"sqlite": url, "postgresql": url}``: a temp SQLite file and a throw-away server.

    Both are migrated to the newest schema. The PostgreSQL server runs with fsync off, like the
    test servers, so absolute numbers there are best cases for the disk.
    """
    base = Path(tempfile.mkdtemp(prefix="taskrun-bench-"))
    # A folder of its own, because start_postgres hands it to the postgres user.
    pg_base = Path(tempfile.mkdtemp(prefix="taskrun-bench-pg-"))
    server = start_postgres(pg_base)
    try:
        server.execute_autocommit("CREATE DATABASE bench")
        urls = {"sqlite": f"sqlite:///{base / 'bench.db'}", "postgresql": server.url("bench")}
        for url in urls.values():
            upgrade(url)
        yield urls
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(pg_base, ignore_errors=True)


def is_sqlite(url: str) -> bool:
    """Return True for a SQLite URL."""
    return make_url(url).get_backend_name() == "sqlite"


@contextmanager
def raw_connection(url: str) -> Iterator[Any]:
    """Yield an autocommit DBAPI connection for bulk SQL (no ORM, no foreign-key checks)."""
    if is_sqlite(url):
        path = make_url(url).database
        assert path is not None
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=OFF")
        try:
            yield connection
        finally:
            connection.close()
        return
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as connection:
        yield connection


# --- loading ------------------------------------------------------------------------------------


def load_runs(url: str, shape: RunShape) -> None:
    """Append ``shape.runs`` runs (ids continue after the largest id) and their items."""
    with raw_connection(url) as connection:
        if is_sqlite(url):
            _load_sqlite(connection, shape)
        else:
            _load_postgres(connection, shape)


def clear_runs(url: str) -> None:
    """Delete every run and item quickly (TRUNCATE on PostgreSQL)."""
    with raw_connection(url) as connection:
        if is_sqlite(url):
            connection.execute("DELETE FROM task_run_items")
            connection.execute("DELETE FROM task_runs")
            connection.execute("VACUUM")
        else:
            connection.execute("TRUNCATE task_run_items, task_runs RESTART IDENTITY")
            connection.execute("VACUUM ANALYZE")


def _status_sql(modulo: str) -> str:
    """Return the status CASE expression; ``modulo`` is ``%`` or, for psycopg, ``%%``."""
    return f"""CASE
    WHEN i {modulo} 100 = 0 THEN 'pending'
    WHEN i {modulo} 100 = 1 THEN 'running'
    WHEN i {modulo} 10 = 2 THEN 'failed'
    WHEN i {modulo} 20 = 3 THEN 'completed_with_errors'
    WHEN i {modulo} 33 = 4 THEN 'cancelled'
    ELSE 'completed' END"""

_TRIGGERS = ("scheduled", "manual", "api", "cli", "celery")


def _load_postgres(connection: Any, shape: RunShape) -> None:
    connection.execute("SET session_replication_role = replica")  # skip FK triggers while loading
    start = connection.execute("SELECT coalesce(max(id), 0) FROM task_runs").fetchone()[0]
    connection.execute(
        f"""
        INSERT INTO task_runs (id, run_id, task_key, task_name, task_category, trigger_source,
            status, started_at, completed_at, heartbeat_at, duration_ms, progress_total,
            progress_completed, progress_failed, summary_json, is_skipped, created_at, updated_at)
        SELECT i, lpad(to_hex(i), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(i), 12, '0'),
            'task_' || (i %% {TASK_KEYS}), 'Task ' || (i %% {TASK_KEYS}), 'cat_' || (i %% 5),
            (ARRAY{list(_TRIGGERS)})[1 + i %% 5], status,
            CASE WHEN status = 'pending' THEN NULL ELSE started END,
            CASE WHEN status IN ('pending', 'running') THEN NULL
                 ELSE started + (i %% 600) * interval '1 second' END,
            CASE WHEN status = 'running' THEN started END,
            CASE WHEN status IN ('pending', 'running') THEN NULL ELSE (i %% 600) * 1000 END,
            %(items)s, CASE WHEN status IN ('pending', 'running') THEN 0 ELSE %(items)s END, 0,
            replace(%(template)s, '{PLACEHOLDER}', 'task_' || (i %% {TASK_KEYS}))::jsonb, false,
            started, started
        FROM (SELECT i, {_status_sql('%%')} AS status,
                     %(newest)s::timestamptz - i * %(spacing)s * interval '1 second' AS started
              FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS i) AS generated
        """,
        {"items": shape.items_per_run, "template": summary_template(), "newest": shape.newest,
         "spacing": shape.spacing_seconds, "first": start + 1, "last": start + shape.runs},
    )
    connection.execute("SELECT setval(pg_get_serial_sequence('task_runs', 'id'), "
                       "(SELECT max(id) FROM task_runs))")
    if shape.items_per_run:
        connection.execute(
            """
            INSERT INTO task_run_items (run_id, item_type, item_key, item_name, status,
                started_at, completed_at, metrics_json, details_json, created_at, updated_at)
            SELECT r.run_id, 'instance', 'item-' || k, 'Item ' || k,
                CASE WHEN r.status IN ('pending', 'running') THEN 'pending' ELSE 'completed' END,
                r.started_at, r.completed_at, jsonb_build_object('rows', k * 10),
                '{"host": "db-1", "notes": "copied without errors"}'::jsonb,
                r.created_at, r.created_at
            FROM task_runs AS r CROSS JOIN generate_series(0, %(last_item)s) AS k
            WHERE r.id > %(after)s ORDER BY r.id, k
            """,
            {"last_item": shape.items_per_run - 1, "after": start},
        )
    connection.execute("SET session_replication_role = DEFAULT")
    # FREEZE marks every page all-visible, as autovacuum eventually does on a live table, so
    # that counts can use index-only scans. A plain VACUUM right after the load left the
    # visibility map empty in this set-up (relallvisible stayed 0).
    connection.execute("VACUUM (FREEZE, ANALYZE)")


def _load_sqlite(connection: sqlite3.Connection, shape: RunShape) -> None:
    start = connection.execute("SELECT coalesce(max(id), 0) FROM task_runs").fetchone()[0]
    timestamp = "strftime('%Y-%m-%d %H:%M:%S', {seconds}, 'unixepoch') || '.000000'"
    started = timestamp.format(seconds=":newest - i * :spacing")
    completed = timestamp.format(seconds=":newest - i * :spacing + i % 600")
    triggers = ", ".join(f"'{trigger}'" for trigger in _TRIGGERS)
    connection.execute("BEGIN")
    connection.execute(
        f"""
        WITH RECURSIVE seq(i) AS (SELECT :first UNION ALL SELECT i + 1 FROM seq WHERE i < :last)
        INSERT INTO task_runs (id, run_id, task_key, task_name, task_category, trigger_source,
            status, started_at, completed_at, heartbeat_at, duration_ms, progress_total,
            progress_completed, progress_failed, summary_json, is_skipped, created_at, updated_at)
        SELECT i, printf('%08x-0000-4000-8000-%012x', i, i), 'task_' || (i % {TASK_KEYS}),
            'Task ' || (i % {TASK_KEYS}), 'cat_' || (i % 5),
            json_extract(json_array({triggers}), '$[' || (i % 5) || ']'), status,
            CASE WHEN status = 'pending' THEN NULL ELSE {started} END,
            CASE WHEN status IN ('pending', 'running') THEN NULL ELSE {completed} END,
            CASE WHEN status = 'running' THEN {started} END,
            CASE WHEN status IN ('pending', 'running') THEN NULL ELSE (i % 600) * 1000 END,
            :items, CASE WHEN status IN ('pending', 'running') THEN 0 ELSE :items END, 0,
            replace(:template, '{PLACEHOLDER}', 'task_' || (i % {TASK_KEYS})), 0,
            {started}, {started}
        FROM (SELECT i, {_status_sql('%')} AS status FROM seq)
        """,
        {"first": start + 1, "last": start + shape.runs, "newest": shape.newest.timestamp(),
         "spacing": shape.spacing_seconds, "items": shape.items_per_run,
         "template": summary_template()},
    )
    if shape.items_per_run:
        connection.execute(
            """
            WITH RECURSIVE k(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM k WHERE n < :last_item)
            INSERT INTO task_run_items (run_id, item_type, item_key, item_name, status,
                started_at, completed_at, metrics_json, details_json, created_at, updated_at)
            SELECT r.run_id, 'instance', 'item-' || k.n, 'Item ' || k.n,
                CASE WHEN r.status IN ('pending', 'running') THEN 'pending' ELSE 'completed' END,
                r.started_at, r.completed_at, json_object('rows', k.n * 10),
                '{"host": "db-1", "notes": "copied without errors"}', r.created_at, r.created_at
            FROM task_runs AS r, k WHERE r.id > :after ORDER BY r.id, k.n
            """,
            {"last_item": shape.items_per_run - 1, "after": start},
        )
    connection.execute("COMMIT")
    # No ANALYZE: the product never runs it on SQLite, so the planner chooses without statistics
    # here as in a deployment. PostgreSQL's autovacuum analyses a table as it grows, so the
    # loader there runs ANALYZE.


def newest_default() -> datetime:
    """Return a fixed "now" for generated data, so that reruns load the same rows."""
    return datetime(2026, 6, 1, tzinfo=UTC)
