"""The REST API's run-now and cancel with TASKRUN_CELERY_ENABLED, against a real worker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from celery import Celery
from fastapi.testclient import TestClient

from taskrun_center.config import get_settings
from taskrun_center.runners.celery.app import default_app
from taskrun_center.states import RunStatus
from taskrun_center.storage.engine import Database
from taskrun_center.web.app import create_app as create_web_app
from taskrun_center.web.auth import passwords
from taskrun_center.web.auth.accounts import Role, create_token, create_user
from tests.celery.rows import find_run, load_run
from tests.celery.workers import WorkerProcess, wait_for


@pytest.fixture
def celery_enabled(celery_app: Celery, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Enable Celery in this process, on the test broker and the prefork workers' queue."""
    monkeypatch.setenv("TASKRUN_CELERY_ENABLED", "true")
    monkeypatch.setenv("TASKRUN_CELERY_BROKER_URL", celery_app.conf.broker_url)
    monkeypatch.setenv("TASKRUN_CELERY_QUEUE",
                       celery_app.conf.task_routes["taskrun.execute_run"]["queue"])
    get_settings.cache_clear()
    default_app.cache_clear()
    yield
    get_settings.cache_clear()
    default_app.cache_clear()


@pytest.fixture
def admin_headers(celery_database: Database, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The Authorization header of a new admin's API token."""
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                             parallelism=1))
    username = f"admin-{uuid.uuid4().hex[:8]}"
    with celery_database.transaction() as session:
        create_user(session, username, "admin-password-1", Role.ADMIN)
        token = create_token(session, username, "celery-test").secret
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.usefixtures("celery_enabled")
def test_api_run_now_and_cancel_use_celery(
    prefork_worker: WorkerProcess, celery_database: Database, admin_headers: dict[str, str]
) -> None:
    """Run-now reaches a worker; cancel stops the task there and revokes its message."""
    app = create_web_app(celery_database, secret_key="test-secret-key-0123456789abcdef")
    with TestClient(app) as client:
        response = client.post(
            "/api/v1/task-types/celery_slow/actions/run",
            json={"arguments": {"count": 400, "delay": 0.05}},
            headers=admin_headers,
        )
        assert response.status_code == 202, response.text
        run_id = response.json()["data"]["run_id"]
        wait_for(lambda: load_run(celery_database, run_id).progress_completed,
                 lambda done: done >= 1, what="the worker to complete an item")

        response = client.post(f"/api/v1/task-runs/{run_id}/actions/cancel",
                               headers=admin_headers)
        assert response.status_code == 200, response.text

    wait_for(prefork_worker.log_text,
             lambda text: any("run_cancelled_stopped" in line and run_id in line
                              for line in text.splitlines()),
             what="the task to stop")
    run = find_run(celery_database, run_id)
    assert run is not None
    assert run.status == RunStatus.CANCELLED.value
    assert run.trigger_source == "api"
    assert run.progress_completed < 400
    wait_for(prefork_worker.log_text,
             lambda text: any("Tasks flagged as revoked" in line and run_id in line
                              for line in text.splitlines()),
             what="the worker to receive the revoke")
