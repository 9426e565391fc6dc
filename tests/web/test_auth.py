"""Authentication, CSRF, sessions, tokens and login throttling."""

from __future__ import annotations

from fastapi.testclient import TestClient

from taskrun_center.storage.engine import Database
from taskrun_center.web.auth.accounts import revoke_token, set_password
from taskrun_center.web.auth.sessions import SESSION_COOKIE
from taskrun_center.web.auth.throttle import MAX_FAILURES_PER_USER, LoginThrottle
from tests.factories import make_run
from tests.web.conftest import (
    ADMIN_PASSWORD,
    VIEWER_PASSWORD,
    Accounts,
    bearer,
    csrf_token,
    log_in,
)


def test_anonymous_request_gets_401_code(client: TestClient) -> None:
    response = client.get("/api/v1/task-runs")

    assert response.status_code == 401
    body = response.json()
    assert body["success"] is False
    assert body["message_code"] == "AUTHENTICATION_REQUIRED"
    assert body["message"]


def test_anonymous_cancel_is_401_before_csrf(client: TestClient, web_db: Database) -> None:
    run = make_run(web_db, status="running")

    response = client.post(f"/api/v1/task-runs/{run.run_id}/actions/cancel")

    assert response.status_code == 401
    assert response.json()["message_code"] == "AUTHENTICATION_REQUIRED"


def test_cancel_without_csrf_token_is_403_missing(client: TestClient, web_db: Database) -> None:
    run = make_run(web_db, status="running")
    log_in(client, "admin", ADMIN_PASSWORD)

    response = client.post(f"/api/v1/task-runs/{run.run_id}/actions/cancel")

    assert response.status_code == 403
    assert response.json()["message_code"] == "CSRF_MISSING"


def test_cancel_with_wrong_csrf_token_is_403_invalid(
    client: TestClient, web_db: Database
) -> None:
    run = make_run(web_db, status="running")
    log_in(client, "admin", ADMIN_PASSWORD)

    response = client.post(
        f"/api/v1/task-runs/{run.run_id}/actions/cancel", headers={"X-CSRFToken": "0" * 64}
    )

    assert response.status_code == 403
    assert response.json()["message_code"] == "CSRF_INVALID"


def test_cancel_with_session_and_csrf_succeeds(client: TestClient, web_db: Database) -> None:
    run = make_run(web_db, status="running")
    token = log_in(client, "admin", ADMIN_PASSWORD)

    response = client.post(
        f"/api/v1/task-runs/{run.run_id}/actions/cancel", headers={"X-CSRFToken": token}
    )

    assert response.status_code == 200
    assert response.json()["data"]["status"] == "cancelled"


def test_csrf_token_of_other_session_is_rejected(client: TestClient, web_db: Database) -> None:
    run = make_run(web_db, status="running")
    other = TestClient(client.app)
    foreign_token = csrf_token(other)
    log_in(client, "admin", ADMIN_PASSWORD)

    response = client.post(
        f"/api/v1/task-runs/{run.run_id}/actions/cancel", headers={"X-CSRFToken": foreign_token}
    )

    assert response.status_code == 403
    assert response.json()["message_code"] == "CSRF_INVALID"


def test_viewer_cancel_is_403_permission(client: TestClient, web_db: Database) -> None:
    run = make_run(web_db, status="running")
    token = log_in(client, "viewer", VIEWER_PASSWORD)

    response = client.post(
        f"/api/v1/task-runs/{run.run_id}/actions/cancel", headers={"X-CSRFToken": token}
    )

    assert response.status_code == 403
    assert response.json()["message_code"] == "PERMISSION_REQUIRED"


def test_role_is_checked_before_csrf(client: TestClient, web_db: Database) -> None:
    run = make_run(web_db, status="running")
    log_in(client, "viewer", VIEWER_PASSWORD)

    response = client.post(f"/api/v1/task-runs/{run.run_id}/actions/cancel")

    assert response.json()["message_code"] == "PERMISSION_REQUIRED"


def test_login_sets_hardened_session_cookie(client: TestClient) -> None:
    response = client.post(
        "/api/v1/auth/login",
        json={"username": "admin", "password": ADMIN_PASSWORD},
        headers={"X-CSRFToken": csrf_token(client)},
    )

    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith(SESSION_COOKIE)
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie


def test_cookie_is_secure_over_https(client: TestClient) -> None:
    secure = TestClient(client.app, base_url="https://testserver")

    response = secure.get("/api/v1/auth/csrf-token")

    assert "secure" in response.headers["set-cookie"].lower()


def test_login_rotates_session_id(client: TestClient) -> None:
    before = csrf_token(client)

    after = log_in(client, "admin", ADMIN_PASSWORD)

    assert after != before


def test_login_without_csrf_is_rejected(client: TestClient) -> None:
    response = client.post("/api/v1/auth/login",
                           json={"username": "admin", "password": ADMIN_PASSWORD})

    assert response.status_code == 403
    assert response.json()["message_code"] == "CSRF_MISSING"


def test_wrong_password_is_401_login_failed(client: TestClient) -> None:
    response = client.post(
        "/api/v1/auth/login",
        json={"username": "admin", "password": "wrong-password"},
        headers={"X-CSRFToken": csrf_token(client)},
    )

    assert response.status_code == 401
    assert response.json()["message_code"] == "LOGIN_FAILED"


def test_repeated_failures_throttle_login(client: TestClient) -> None:
    token = csrf_token(client)
    for _ in range(MAX_FAILURES_PER_USER):
        client.post("/api/v1/auth/login", json={"username": "admin", "password": "bad-guess"},
                    headers={"X-CSRFToken": token})

    response = client.post(
        "/api/v1/auth/login",
        json={"username": "admin", "password": ADMIN_PASSWORD},
        headers={"X-CSRFToken": token},
    )

    assert response.status_code == 429
    assert response.json()["message_code"] == "LOGIN_THROTTLED"
    assert int(response.headers["retry-after"]) > 0
    assert response.headers["retry-after"] in response.json()["message"]


def test_throttle_locks_address_after_many_usernames() -> None:
    throttle = LoginThrottle(max_failures_per_user=3, max_failures_per_address=6,
                             window_seconds=60, clock=lambda: 100.0)
    for name in ("a", "b", "c", "d", "e", "f"):
        throttle.record_failure(name, "10.0.0.1")

    assert throttle.retry_after("g", "10.0.0.1") > 0
    assert throttle.retry_after("g", "10.0.0.2") == 0


def test_throttle_keeps_other_user_at_same_address() -> None:
    throttle = LoginThrottle(max_failures_per_user=5, max_failures_per_address=20,
                             window_seconds=300, clock=lambda: 100.0)
    for _ in range(5):
        throttle.record_failure("viewer1", "10.0.0.1")

    assert throttle.retry_after("viewer1", "10.0.0.1") > 0
    assert throttle.retry_after("admin", "10.0.0.1") == 0
    assert throttle.retry_after("viewer1", "10.0.0.2") == 0


def test_throttle_username_match_ignores_case() -> None:
    throttle = LoginThrottle(max_failures_per_user=2, window_seconds=60, clock=lambda: 0.0)
    throttle.record_failure("Admin", "10.0.0.1")
    throttle.record_failure("admin", "10.0.0.1")

    assert throttle.retry_after("ADMIN", "10.0.0.1") == 60


def test_throttle_expires_after_window() -> None:
    now = [0.0]
    throttle = LoginThrottle(max_failures_per_user=2, window_seconds=60, clock=lambda: now[0])
    throttle.record_failure("a", "10.0.0.1")
    throttle.record_failure("a", "10.0.0.1")
    assert throttle.retry_after("a", "10.0.0.1") == 60

    now[0] = 61.0

    assert throttle.retry_after("a", "10.0.0.1") == 0


def test_typos_of_one_user_leave_admin_signing_in(client: TestClient) -> None:
    token = csrf_token(client)
    for _ in range(4):
        client.post("/api/v1/auth/login", json={"username": "viewer", "password": "typo"},
                    headers={"X-CSRFToken": token})
    client.post("/api/v1/auth/login", json={"username": "admin", "password": "typo"},
                headers={"X-CSRFToken": token})

    response = client.post(
        "/api/v1/auth/login",
        json={"username": "admin", "password": ADMIN_PASSWORD},
        headers={"X-CSRFToken": token},
    )

    assert response.status_code == 200, response.text


def test_logout_ends_session(client: TestClient) -> None:
    token = log_in(client, "admin", ADMIN_PASSWORD)

    response = client.post("/api/v1/auth/logout", headers={"X-CSRFToken": token})

    assert response.status_code == 200
    assert client.get("/api/v1/auth/me").status_code == 401


def test_password_change_ends_sessions(client: TestClient, web_db: Database) -> None:
    log_in(client, "viewer", VIEWER_PASSWORD)
    assert client.get("/api/v1/auth/me").status_code == 200

    with web_db.transaction() as session:
        set_password(session, "viewer", "a-new-password")

    assert client.get("/api/v1/auth/me").status_code == 401


def test_forged_session_cookie_is_ignored(client: TestClient) -> None:
    client.cookies.set(SESSION_COOKIE, "eyJzaWQiOiJ4IiwidWlkIjoxfQ.forged.signature")

    assert client.get("/api/v1/auth/me").status_code == 401


def test_token_authenticates_without_csrf(client: TestClient, accounts: Accounts,
                                          web_db: Database) -> None:
    run = make_run(web_db, status="running")

    response = client.post(f"/api/v1/task-runs/{run.run_id}/actions/cancel",
                           headers=bearer(accounts.admin_token))

    assert response.status_code == 200


def test_revoked_token_is_401(client: TestClient, accounts: Accounts, web_db: Database) -> None:
    with web_db.transaction() as session:
        revoke_token(session, "admin-ci")

    response = client.get("/api/v1/task-runs", headers=bearer(accounts.admin_token))

    assert response.status_code == 401
    assert response.json()["message_code"] == "AUTHENTICATION_REQUIRED"


def test_unknown_token_does_not_fall_back_to_cookie(client: TestClient) -> None:
    log_in(client, "admin", ADMIN_PASSWORD)

    response = client.get("/api/v1/task-runs", headers=bearer("trc_unknown"))

    assert response.status_code == 401


def test_me_reports_token_principal(client: TestClient, accounts: Accounts) -> None:
    response = client.get("/api/v1/auth/me", headers=bearer(accounts.viewer_token))

    assert response.json()["data"] == {"username": "viewer", "role": "viewer", "via": "token"}


def test_throttle_flood_keeps_username_lock() -> None:
    """Filling the counter bound from many addresses does not unlock the guessed account."""
    from taskrun_center.web.auth import throttle as throttle_module

    throttle = LoginThrottle(max_failures_per_username=50, window_seconds=300,
                             clock=lambda: 0.0)
    for attempt in range(50):
        throttle.record_failure("admin", f"10.0.0.{attempt}")
    assert throttle.retry_after("admin", "10.9.9.9") > 0

    keys_needed = throttle_module.MAX_TRACKED_KEYS
    for attempt in range(keys_needed):
        throttle.record_failure(f"user{attempt}", f"10.1.{attempt // 250}.{attempt % 250}")

    assert throttle.retry_after("admin", "10.9.9.9") > 0
    assert len(throttle._failures) <= throttle_module.MAX_TRACKED_KEYS
