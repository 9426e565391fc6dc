"""An application on a migrated database, with an admin, a viewer and a token for each."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from taskrun_center.storage.engine import Database
from taskrun_center.web.app import create_app
from taskrun_center.web.auth import passwords
from taskrun_center.web.auth.accounts import Role, create_token, create_user

SECRET_KEY = "test-secret-key-0123456789abcdef"
ADMIN_PASSWORD = "admin-password-1"
VIEWER_PASSWORD = "viewer-password-1"


@dataclass(frozen=True)
class Accounts:
    """Credentials created for a test."""

    admin_token: str
    viewer_token: str


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash with minimal Argon2 cost: the tests check behaviour, not the cost parameters."""
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                             parallelism=1))


@pytest.fixture
def web_db(sqlite_url: str) -> Iterator[Database]:
    """The SQLite database behind the test application."""
    database = Database(sqlite_url)
    yield database
    database.dispose()


@pytest.fixture
def accounts(web_db: Database) -> Accounts:
    """Users ``admin`` and ``viewer`` with their passwords, and a token acting as each."""
    with web_db.transaction() as session:
        create_user(session, "admin", ADMIN_PASSWORD, Role.ADMIN)
        create_user(session, "viewer", VIEWER_PASSWORD, Role.VIEWER)
        admin_token = create_token(session, "admin", "admin-ci").secret
        viewer_token = create_token(session, "viewer", "viewer-ci").secret
    return Accounts(admin_token=admin_token, viewer_token=viewer_token)


@pytest.fixture
def client(web_db: Database, accounts: Accounts) -> Iterator[TestClient]:
    """A test client of the whole application; server errors become 500 responses."""
    app = create_app(web_db, secret_key=SECRET_KEY)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    """Return the Authorization header for an API token."""
    return {"Authorization": f"Bearer {token}"}


def csrf_token(client: TestClient) -> str:
    """Return the CSRF token of the client's current session cookie."""
    response = client.get("/api/v1/auth/csrf-token")
    assert response.status_code == 200
    return str(response.json()["data"]["csrf_token"])


def log_in(client: TestClient, username: str, password: str) -> str:
    """Sign the client in through the API; return the CSRF token of the new session."""
    response = client.post(
        "/api/v1/auth/login",
        json={"username": username, "password": password},
        headers={"X-CSRFToken": csrf_token(client)},
    )
    assert response.status_code == 200, response.text
    return csrf_token(client)
