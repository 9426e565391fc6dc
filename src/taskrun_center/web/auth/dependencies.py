"""The one permission dependency every protected route declares: ``Depends(require(Role.X))``.

Checks run in a fixed order: authentication (401), then role (403 ``PERMISSION_REQUIRED``), then
CSRF on state-changing requests (403 ``CSRF_MISSING`` / ``CSRF_INVALID``). A request with an API
token skips the CSRF check: CSRF abuses credentials that a browser attaches by itself (cookies),
and a browser never attaches an ``Authorization: Bearer`` header on its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from taskrun_center.storage.models import User
from taskrun_center.web.auth.accounts import Principal, Role, principal_for_token
from taskrun_center.web.auth.sessions import (
    CSRF_FORM_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    SessionData,
    password_fingerprint,
)
from taskrun_center.web.context import DbSession, get_context
from taskrun_center.web.errors import (
    AuthenticationRequired,
    CsrfInvalid,
    CsrfMissing,
    PermissionRequired,
)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def request_session(request: Request) -> SessionData | None:
    """Return the verified session cookie of a request, or None."""
    return get_context(request).codec.decode(request.cookies.get(SESSION_COOKIE))


def _bearer_token(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def resolve_principal(
    request: Request, session: DbSession
) -> Principal | None:
    """Return who sent the request: an API token first, else the signed-in session, else None.

    A token that is sent but unknown, revoked or expired gives None rather than falling back to
    the cookie, so a broken machine credential is reported as such.

    The lookup's transaction ends here and returns its pooled connection. The route runs in
    another worker thread, and a request that kept the connection while it waited for one held
    it for nothing: with every worker thread taken, requests waited on each other until the
    pool timed out (503 after 30 s under 64 parallel clients).
    """
    try:
        return _principal_of(request, session)
    finally:
        session.rollback()


def _principal_of(request: Request, session: DbSession) -> Principal | None:
    token = _bearer_token(request)
    if token is not None:
        return principal_for_token(session, token)
    data = request_session(request)
    if data is None or data.uid is None:
        return None
    user = session.get(User, data.uid)
    if user is None or not user.is_active or password_fingerprint(user.password_hash) != data.pwv:
        return None
    return Principal(user.id, user.username, Role(user.role), "session", user.language)


async def _submitted_csrf_token(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FORM_FIELD)
        return value if isinstance(value, str) and value else None
    return None


async def check_csrf(request: Request) -> None:
    """Reject a state-changing request whose CSRF token is missing or not this session's.

    Raises:
        CsrfMissing: no token in the ``X-CSRFToken`` header or the ``csrf_token`` form field.
        CsrfInvalid: the token does not belong to the request's session cookie.
    """
    if request.method in SAFE_METHODS:
        return
    token = await _submitted_csrf_token(request)
    if token is None:
        raise CsrfMissing()
    data = request_session(request)
    if data is None or not get_context(request).codec.csrf_matches(data, token):
        raise CsrfInvalid()


def require(role: Role) -> Callable[..., Awaitable[Principal]]:
    """Build the dependency that admits principals with at least ``role``.

    Raises (from the dependency):
        AuthenticationRequired: no valid session or token.
        PermissionRequired: the principal's role is lower than ``role``.
        CsrfMissing, CsrfInvalid: a session request that changes state without a valid token.
    """

    async def dependency(
        request: Request,
        principal: Annotated[Principal | None, Depends(resolve_principal)],
    ) -> Principal:
        if principal is None:
            raise AuthenticationRequired()
        if not principal.has_role(role):
            raise PermissionRequired(role=principal.role.value, required=role.value)
        if principal.via == "session":
            await check_csrf(request)
        return principal

    return dependency


ViewerPrincipal = Annotated[Principal, Depends(require(Role.VIEWER))]
AdminPrincipal = Annotated[Principal, Depends(require(Role.ADMIN))]
OptionalPrincipal = Annotated[Principal | None, Depends(resolve_principal)]
