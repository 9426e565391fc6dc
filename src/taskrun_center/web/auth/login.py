"""Sign-in and sign-out shared by the API and the console: throttling, cookie rotation."""

from __future__ import annotations

import structlog
from fastapi import Request, Response
from sqlalchemy.orm import Session

from taskrun_center.web.auth.accounts import Principal, Role, authenticate
from taskrun_center.web.auth.sessions import (
    SESSION_COOKIE,
    SESSION_MAX_AGE_SECONDS,
    SessionData,
    password_fingerprint,
)
from taskrun_center.web.context import get_context
from taskrun_center.web.errors import LoginFailed, LoginThrottled

log = structlog.get_logger(__name__)


def set_session_cookie(request: Request, response: Response, session: SessionData) -> None:
    """Write the signed session cookie: HttpOnly, SameSite=Lax, Secure when served over HTTPS."""
    response.set_cookie(
        SESSION_COOKIE,
        get_context(request).codec.encode(session),
        max_age=SESSION_MAX_AGE_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def ensure_session(request: Request, response: Response) -> str:
    """Return the CSRF token of the request's session, creating an anonymous session if none."""
    codec = get_context(request).codec
    session = codec.decode(request.cookies.get(SESSION_COOKIE))
    if session is None:
        session = codec.new_session()
        set_session_cookie(request, response, session)
    # Let a later step of the same request (a template) find the token of a new session.
    request.state.session_data = session
    return codec.csrf_token(session)


def client_address(request: Request) -> str:
    """Return the client's address: the TCP peer, or the proxy's X-Forwarded-For entry.

    uvicorn replaces the peer with the header's value only for a proxy listed in
    ``TASKRUN_FORWARDED_ALLOW_IPS``; by default no proxy is trusted.
    """
    return request.client.host if request.client else "unknown"


def log_in(
    request: Request, response: Response, session: Session, username: str, password: str
) -> Principal:
    """Authenticate, then set a new session cookie with a fresh id (no session fixation).

    Raises:
        LoginThrottled: too many recent failures for this username at this client address,
            for this client address as a whole, or for this username from all addresses.
        LoginFailed: the username or the password is wrong, or the user is disabled.
    """
    context = get_context(request)
    address = client_address(request)
    wait = context.throttle.retry_after(username, address)
    if wait:
        log.warning("login_throttled", username=username, client=address)
        raise LoginThrottled(seconds=wait)
    user = authenticate(session, username, password)
    if user is None:
        context.throttle.record_failure(username, address)
        log.warning("login_failed", username=username, client=address)
        raise LoginFailed()
    context.throttle.reset(username, address)
    fresh = context.codec.new_session(uid=user.id, pwv=password_fingerprint(user.password_hash))
    set_session_cookie(request, response, fresh)
    request.state.session_data = fresh
    log.info("user_signed_in", username=user.username, client=address)
    return Principal(user.id, user.username, Role(user.role), "session", user.language)


def log_out(response: Response) -> None:
    """Delete the session cookie."""
    response.delete_cookie(SESSION_COOKIE, path="/")
