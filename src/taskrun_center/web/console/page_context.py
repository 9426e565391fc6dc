"""What every console page needs: language, the signed-in user, CSRF token, helpers."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment
from starlette.background import BackgroundTask

from taskrun_center.i18n import Text
from taskrun_center.web.auth.accounts import Principal
from taskrun_center.web.auth.dependencies import request_session
from taskrun_center.web.context import get_context
from taskrun_center.web.language import request_language

STATIC_PREFIX = "/static"

NOTICES = {
    "cancelled": ("ok", Text("运行已取消。", "The run has been cancelled.")),
    "queued": ("ok", Text("已提交运行，稍后会出现在列表中。",
                          "The run has been queued; it appears in the list shortly.")),
    "signed_out": ("ok", Text("已退出登录。", "You have signed out.")),
}


def make_translator(language: str) -> Any:
    """Return ``tr(zh, en, **params)`` for templates: the text in ``language``, formatted."""

    def tr(zh: str, en: str, **params: object) -> str:
        return Text(zh, en).render(language, **params)

    return tr


def static_url(name: str) -> str:
    """Return the URL of a file in ``web/static``, versioned to bust caches on upgrades."""
    from taskrun_center import __version__

    return f"{STATIC_PREFIX}/{name}?v={__version__}"


def csrf_token_for(request: Request) -> str:
    """Return the CSRF token of the request's session (a session started in this request too)."""
    session = getattr(request.state, "session_data", None) or request_session(request)
    if session is None:
        return ""
    return get_context(request).codec.csrf_token(session)


def base_context(request: Request, principal: Principal | None, nav: str = "") -> dict[str, Any]:
    """Return the variables that ``base.html`` uses."""
    language = request_language(request)
    notice = NOTICES.get(request.query_params.get("notice", ""))
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return {
        "request": request,
        "lang": language,
        "tr": make_translator(language),
        "principal": principal,
        "csrf_token": csrf_token_for(request),
        "current_path": path,
        "nav": nav,
        "static_url": static_url,
        "poll_interval_ms": get_context(request).poll_interval_ms,
        "flash": {"kind": notice[0], "text": notice[1].render(language)} if notice else None,
    }


def render_page(
    request: Request,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
    background: BackgroundTask | None = None,
) -> HTMLResponse:
    """Render a console template into an HTML response."""
    environment: Environment = request.app.state.console_templates
    html = environment.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, background=background,
                        headers={"Cache-Control": "no-store"})


def redirect(url: str) -> Response:
    """Redirect after a form post (303, so the browser follows with GET)."""
    return RedirectResponse(url, status_code=303)


def safe_next(url: str | None) -> str:
    """Return ``url`` when it is a path on this site, else ``/runs`` (no open redirects)."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/runs"
    return url
