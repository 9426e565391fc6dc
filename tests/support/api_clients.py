"""A REST API client that signs in as a viewer with an API token, for tests outside tests/web."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from taskrun_center.storage.engine import Database
from taskrun_center.web.app import create_app
from taskrun_center.web.auth import passwords
from taskrun_center.web.auth.accounts import Role, create_token, create_user


@contextmanager
def viewer_client(database: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """Yield a client of the application on ``database`` that sends a viewer's API token.

    Passwords are hashed with the minimal Argon2 cost: these tests check reads, not hashing.
    """
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                             parallelism=1))
    with database.transaction() as session:
        create_user(session, "viewer", "viewer-password-1", Role.VIEWER)
        token = create_token(session, "viewer", "viewer-ci").secret
    application = create_app(database, secret_key="test-secret-key-0123456789abcdef")
    with TestClient(application, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client
