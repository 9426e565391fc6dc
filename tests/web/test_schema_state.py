"""The health check and error pages when the database schema is missing, old or newer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog.testing
from fastapi.testclient import TestClient
from sqlalchemy import text

from taskrun_center.storage.engine import Database
from taskrun_center.storage.migrate import downgrade
from taskrun_center.web.app import create_app
from tests.web.conftest import SECRET_KEY, Accounts, bearer


def _client(database: Database) -> TestClient:
    return TestClient(create_app(database, secret_key=SECRET_KEY),
                      raise_server_exceptions=False)


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[Database]:
    """A SQLite file that was never migrated."""
    database = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    yield database
    database.dispose()


def test_healthz_never_migrated_is_503(empty_database: Database) -> None:
    with _client(empty_database) as client:
        response = client.get("/healthz", headers={"Accept-Language": "en"})

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["message_code"] == "STORAGE_SCHEMA_MISSING"
    assert response.json()["data"] == {"status": "degraded", "database": "schema_missing"}
    assert "taskrun db upgrade" in response.json()["message"]


def test_healthz_answers_head_probes(empty_database: Database) -> None:
    with _client(empty_database) as client:
        response = client.head("/healthz")

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"


def test_healthz_older_revision_is_503(sqlite_url: str) -> None:
    downgrade(sqlite_url, "0001")
    database = Database(sqlite_url)

    with _client(database) as client:
        response = client.get("/healthz")
    database.dispose()

    assert response.status_code == 503
    assert response.json()["data"]["database"] == "schema_outdated"
    assert "taskrun db upgrade" in response.json()["message"]


def test_healthz_newer_revision_stays_200(web_db: Database) -> None:
    with web_db.transaction() as session:
        session.execute(text("UPDATE alembic_version SET version_num = 'from_a_newer_release'"))

    with _client(web_db) as client:
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["data"] == {"status": "ok", "database": "schema_newer"}


def test_healthz_dropped_table_is_503(web_db: Database) -> None:
    with web_db.transaction() as session:
        session.execute(text("DROP TABLE task_run_items"))

    with _client(web_db) as client:
        response = client.get("/healthz", headers={"Accept-Language": "en"})

    assert response.status_code == 503
    assert response.json()["data"]["database"] == "schema_tables_missing"
    assert "backup" in response.json()["message"]


def test_healthz_failures_logged_once_a_minute(empty_database: Database) -> None:
    with _client(empty_database) as client, structlog.testing.capture_logs() as logs:
        for _ in range(3):
            client.get("/healthz")

    failures = [line for line in logs if line["event"] == "health_check_failed"]
    assert len(failures) <= 1


def test_missing_table_gives_upgrade_advice(web_db: Database, accounts: Accounts) -> None:
    with web_db.transaction() as session:
        session.execute(text("DROP TABLE task_run_items"))
        session.execute(text("DROP TABLE task_runs"))

    with _client(web_db) as client:
        api = client.get("/api/v1/task-runs", headers=bearer(accounts.viewer_token))
        page = client.get("/runs", headers=bearer(accounts.viewer_token))

    assert api.status_code == 503
    assert api.json()["message_code"] == "STORAGE_SCHEMA_MISSING"
    assert "taskrun db upgrade" in api.json()["message"]
    assert page.status_code == 503
    assert "taskrun db upgrade" in page.text
