"""Driver settings that ``create_engine_for`` adds to a database URL."""

from __future__ import annotations

from taskrun_center.storage.engine import POSTGRES_CONNECT_TIMEOUT_SECONDS, postgres_connect_args


def test_postgres_connect_timeout_defaults() -> None:
    args = postgres_connect_args("postgresql+psycopg://u@127.0.0.1/db")

    assert args == {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS}


def test_postgres_connect_timeout_in_url_wins() -> None:
    assert postgres_connect_args("postgresql+psycopg://u@127.0.0.1/db?connect_timeout=3") == {}
