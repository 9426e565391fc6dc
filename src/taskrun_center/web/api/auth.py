"""Routes under ``/api/v1/auth``: CSRF token, sign in, sign out, who am I."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Depends, Request, Response

from taskrun_center.i18n import Text
from taskrun_center.web.api.schemas import (
    FAILURE_RESPONSES,
    OK,
    ApiResponse,
    CsrfTokenData,
    LoginRequest,
    PrincipalData,
)
from taskrun_center.web.auth.dependencies import ViewerPrincipal, check_csrf
from taskrun_center.web.auth.login import ensure_session, log_in, log_out
from taskrun_center.web.context import DbSession
from taskrun_center.web.language import RequestLanguage

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], responses=FAILURE_RESPONSES)

SIGNED_IN = Text("已登录。", "Signed in.")
SIGNED_OUT = Text("已退出登录。", "Signed out.")


@router.get("/csrf-token", summary="Get the CSRF token of this session")
def get_csrf_token(
    request: Request, response: Response, language: RequestLanguage
) -> ApiResponse[CsrfTokenData]:
    """Return the CSRF token bound to the caller's session cookie, starting a session if needed.

    Anyone may call this: the token is useless without the cookie it is bound to, and the login
    request needs one too.
    """
    token = ensure_session(request, response)
    return ApiResponse(message=OK.render(language), data=CsrfTokenData(csrf_token=token))


@router.post(
    "/login", summary="Sign in with a username and password",
    dependencies=[Depends(check_csrf)],
)
def post_login(
    credentials: LoginRequest,
    request: Request,
    response: Response,
    session: DbSession,
    language: RequestLanguage,
) -> ApiResponse[PrincipalData]:
    """Check the credentials, then replace the session cookie with a signed-in one.

    Failures count toward login throttling per username and address, per client address, and
    per username from any address.
    """
    principal = log_in(request, response, session, credentials.username, credentials.password)
    data = PrincipalData(username=principal.username, role=principal.role.value, via="session")
    return ApiResponse(message=SIGNED_IN.render(language), data=data)


@router.post("/logout", summary="Sign out")
def post_logout(
    principal: ViewerPrincipal, response: Response, language: RequestLanguage
) -> ApiResponse[PrincipalData]:
    """End the session: the cookie is deleted."""
    log_out(response)
    log.info("user_signed_out", username=principal.username)
    data = PrincipalData(username=principal.username, role=principal.role.value, via=principal.via)
    return ApiResponse(message=SIGNED_OUT.render(language), data=data)


@router.get("/me", summary="Who is calling")
def get_me(principal: ViewerPrincipal, language: RequestLanguage) -> ApiResponse[PrincipalData]:
    """Return the caller's username, role and how they authenticated (session or token)."""
    data = PrincipalData(username=principal.username, role=principal.role.value, via=principal.via)
    return ApiResponse(message=OK.render(language), data=data)
