"""The example app: one item per database, a skip with its reason, a failing item."""

from __future__ import annotations

from pathlib import Path

import pytest
from examples.dbstats import collect_database_stats  # noqa: F401 - declares the task

from taskrun_center.runners import run_task
from taskrun_center.states import RunStatus
from taskrun_center.storage.engine import Database
from tests.runners.rows import load_items, load_run


def test_measures_sqlite_and_postgres(
    sqlite_database: Database, sqlite_url: str, postgres_url: str
) -> None:
    outcome = run_task(
        "dbstats_collect",
        database=sqlite_database,
        arguments={"targets": [sqlite_url, postgres_url]},
    )

    assert outcome.status == RunStatus.COMPLETED
    items = load_items(sqlite_database, outcome.run_id)
    assert len(items) == 2
    by_backend = {(item.details_json or {})["backend"]: item for item in items.values()}
    assert set(by_backend) == {"sqlite", "postgresql"}
    for item in items.values():
        assert item.status == "completed"
        assert (item.metrics_json or {})["size_bytes"] > 0
        assert (item.metrics_json or {})["tables"] >= 4
    run = load_run(sqlite_database, outcome.run_id)
    assert run.summary_json["ext"]["data"]["databases"] == 2
    assert "password" not in str(items)


def test_skips_without_targets(sqlite_database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBSTATS_TARGETS", raising=False)

    outcome = run_task("dbstats_collect", database=sqlite_database)

    run = load_run(sqlite_database, outcome.run_id)
    assert run.is_skipped is True
    assert "DBSTATS_TARGETS" in run.summary_json["common"]["flags"]["skip_reason"]


def test_bad_targets_fail_their_items_only(
    sqlite_database: Database, sqlite_url: str, tmp_path: Path
) -> None:
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not a database file" * 200)
    missing = tmp_path / "missing.db"
    unreachable = "postgresql+psycopg://app:pw-in-url@127.0.0.1:1/nothing"
    targets = [sqlite_url, f"sqlite:///{corrupt}", f"sqlite:///{missing}", unreachable]

    outcome = run_task("dbstats_collect", database=sqlite_database, arguments={"targets": targets})

    assert outcome.status == RunStatus.COMPLETED_WITH_ERRORS
    items = load_items(sqlite_database, outcome.run_id)
    statuses = {key: item.status for key, item in items.items()}
    assert list(statuses.values()).count("completed") == 1
    assert list(statuses.values()).count("failed") == 3
    assert not missing.exists()
    messages = " ".join(item.error_message or "" for item in items.values())
    assert "not a database" in messages
    assert "pw-in-url" not in messages + str(list(items))
    run = load_run(sqlite_database, outcome.run_id)
    data = run.summary_json["ext"]["data"]
    assert (data["databases"], data["failed"]) == (1, 3)
    assert data["total_tables"] >= 4
