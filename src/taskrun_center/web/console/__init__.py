"""The server-rendered console: pages, templates, static files and the renderer registry."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from taskrun_center.web.console import run_pages, session_pages, task_pages
from taskrun_center.web.console.builtin_renderers import register_builtin_renderers
from taskrun_center.web.console.page_context import STATIC_PREFIX, base_context, render_page
from taskrun_center.web.console.renderers import default_renderers
from taskrun_center.web.console.templating import build_environment

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

register_builtin_renderers(default_renderers)

ERROR_HEADINGS = {
    400: ("请求参数有误", "Invalid request"),
    403: ("没有权限", "Not allowed"),
    404: ("找不到该页面", "Page not found"),
    409: ("操作无法完成", "The action cannot be done"),
}


def render_error_page(request: Request, status: int, message: str, code: str) -> Response:
    """Render an error page in the visitor's language; unauthenticated GETs go to sign-in."""
    if code == "AUTHENTICATION_REQUIRED":
        return session_pages.login_redirect(request)
    context = base_context(request, None, "")
    heading = ERROR_HEADINGS.get(status, ("出错了", "Something went wrong"))
    context.update(
        status=status,
        code=code,
        message=message,
        heading=heading[1] if context["lang"] == "en" else heading[0],
    )
    return render_page(request, "error.html", context, status_code=status)


def get_favicon() -> FileResponse:
    """Send the console's icon to browsers that ask for /favicon.ico without reading a page."""
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})


def install_console(app: FastAPI) -> None:
    """Add the console's pages, static files and HTML error pages to ``app``."""
    app.state.console_templates = build_environment(default_renderers)
    app.state.render_error_page = render_error_page
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="static")
    app.add_api_route("/favicon.ico", get_favicon, methods=["GET"], include_in_schema=False)
    for router in (session_pages.router, run_pages.router, task_pages.router):
        app.include_router(router)
