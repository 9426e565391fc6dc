"""Read the size and table count of one SQLite or PostgreSQL database, read-only.

SQLite files are opened in read-only URI mode, so a missing path fails instead of creating an
empty database. PostgreSQL is read through SQLAlchemy with a short connect timeout, so an
unreachable server fails its item within seconds.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

CONNECT_TIMEOUT_SECONDS = 3
LARGEST_TABLES = 5


@dataclass
class DatabaseStats:
    """Size and tables of one database, as one probe measured them."""

    backend: str
    size_bytes: int
    tables: int
    largest_tables: list[dict[str, Any]] = field(default_factory=list)


def describe_target(url: str) -> str:
    """Return a label for ``url`` without credentials: the file path or host:port/database."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"


def probe(url: str) -> DatabaseStats:
    """Measure the database at ``url`` (``sqlite:///…`` or ``postgresql…://…``).

    Raises:
        ValueError: the URL names another backend.
        sqlite3.Error, sqlalchemy.exc.SQLAlchemyError: the database cannot be read.
    """
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return _probe_sqlite(make_url(url).database or "")
    if backend == "postgresql":
        return _probe_postgres(url)
    raise ValueError(f"unsupported database backend {backend!r}; use sqlite or postgresql")


def _probe_sqlite(path: str) -> DatabaseStats:
    uri = f"{Path(path).resolve().as_uri()}?mode=ro"
    connection = sqlite3.connect(uri, uri=True, timeout=CONNECT_TIMEOUT_SECONDS)
    try:
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        page_count = connection.execute("PRAGMA page_count").fetchone()[0]
        names = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        counts = [
            {
                "table": name,
                "rows": connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0],
            }
            for name in names
        ]
    finally:
        connection.close()
    counts.sort(key=lambda row: row["rows"], reverse=True)
    return DatabaseStats("sqlite", page_size * page_count, len(names), counts[:LARGEST_TABLES])


def _probe_postgres(url: str) -> DatabaseStats:
    engine = create_engine(
        url, connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS}, poolclass=None
    )
    try:
        with engine.connect() as connection:
            size = connection.scalar(text("SELECT pg_database_size(current_database())"))
            tables = connection.scalar(
                text(
                    "SELECT count(*) FROM information_schema.tables "
                    "WHERE table_type = 'BASE TABLE' "
                    "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
                )
            )
            largest = connection.execute(
                text(
                    "SELECT relname, pg_total_relation_size(relid) AS bytes "
                    "FROM pg_catalog.pg_statio_user_tables ORDER BY bytes DESC LIMIT :limit"
                ),
                {"limit": LARGEST_TABLES},
            ).all()
    finally:
        engine.dispose()
    return DatabaseStats(
        "postgresql",
        int(size or 0),
        int(tables or 0),
        [{"table": row.relname, "bytes": int(row.bytes)} for row in largest],
    )
