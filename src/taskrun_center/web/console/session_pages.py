"""Login, logout and the language switch."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from taskrun_center.i18n import SUPPORTED_LANGUAGES
from taskrun_center.web.auth.dependencies import OptionalPrincipal, ViewerPrincipal, check_csrf
from taskrun_center.web.auth.login import ensure_session, log_in, log_out
from taskrun_center.web.console.page_context import base_context, redirect, render_page, safe_next
from taskrun_center.web.context import DbSession
from taskrun_center.web.errors import CsrfInvalid, CsrfMissing, LoginFailed, LoginThrottled
from taskrun_center.web.language import LANGUAGE_COOKIE, request_language

router = APIRouter(include_in_schema=False)

ONE_YEAR_SECONDS = 365 * 24 * 60 * 60


def _login_form(
    request: Request, next_url: str, username: str = "", error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    response = HTMLResponse("")
    ensure_session(request, response)
    context = base_context(request, None, "login")
    context.update(next_url=safe_next(next_url), username=username, error=error)
    page = render_page(request, "login.html", context, status_code=status_code)
    for header, value in response.headers.items():
        if header == "set-cookie":
            page.headers.append("set-cookie", value)
    return page


@router.get("/login")
def get_login(request: Request, principal: OptionalPrincipal, next: str = "/runs") -> Response:
    """Show the sign-in form, or go on to ``next`` when already signed in."""
    if principal is not None:
        return redirect(safe_next(next))
    return _login_form(request, next)


@router.post("/login")
async def post_login(
    request: Request,
    session: DbSession,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/runs",
) -> Response:
    """Check the form's CSRF token and credentials; on success go to ``next``."""
    language = request_language(request)
    try:
        await check_csrf(request)
    except (CsrfMissing, CsrfInvalid) as error:
        return _login_form(request, next, username, error.render(language, console=True), 403)
    response = redirect(safe_next(next))
    try:
        # Password hashing takes tens of milliseconds of CPU; keep it off the event loop.
        await run_in_threadpool(log_in, request, response, session, username, password)
    except (LoginFailed, LoginThrottled) as error:
        message = error.render(language, console=True)
        page = _login_form(request, next, username, message, error.status_code)
        if isinstance(error, LoginThrottled):
            page.headers["Retry-After"] = str(error.params["seconds"])
        return page
    return response


@router.post("/logout")
def post_logout(_: ViewerPrincipal) -> Response:
    """Sign out (the form carries the CSRF token) and show the sign-in page."""
    response = redirect("/login?notice=signed_out")
    log_out(response)
    return response


@router.get("/lang/{language}")
def switch_language(language: str, next: str = "/runs") -> Response:
    """Store the chosen language in the ``lang`` cookie and go back to ``next``."""
    response = redirect(safe_next(next))
    if language in SUPPORTED_LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=ONE_YEAR_SECONDS,
                            samesite="lax", path="/")
    return response


def login_redirect(request: Request) -> Response:
    """Send a visitor who is not signed in to the sign-in page, coming back afterwards."""
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect(f"/login?next={quote(path, safe='')}")
