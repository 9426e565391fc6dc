"""The application factory: one FastAPI app serving the REST API v1 and the console."""

from __future__ import annotations

import secrets

import structlog
from fastapi import Depends, FastAPI

from taskrun_center.config import get_settings
from taskrun_center.storage.engine import Database
from taskrun_center.web.api import auth as auth_api
from taskrun_center.web.api import health as health_api
from taskrun_center.web.api import runs as runs_api
from taskrun_center.web.api import statistics as statistics_api
from taskrun_center.web.api import tasks as tasks_api
from taskrun_center.web.api.docs_page import OPENAPI_URL, install_docs_page
from taskrun_center.web.api.query import reject_unknown_parameters
from taskrun_center.web.auth.sessions import SessionCodec
from taskrun_center.web.context import WebContext
from taskrun_center.web.errors import install_error_handlers
from taskrun_center.web.metrics import build_registry
from taskrun_center.web.security_headers import SecurityHeadersMiddleware

log = structlog.get_logger(__name__)


def _secret_key(configured: str | None) -> str:
    if configured:
        return configured
    # Sessions then last only as long as this process; a restart signs everyone out.
    log.warning("secret_key_generated", hint="set TASKRUN_SECRET_KEY to keep sessions")
    return secrets.token_urlsafe(32)


def create_app(
    database: Database | str | None = None,
    *,
    secret_key: str | None = None,
    language: str | None = None,
    console: bool = True,
) -> FastAPI:
    """Build the application for a database (a ``Database``, a URL, or the configured URL).

    ``secret_key`` signs session cookies and CSRF tokens; without it (and without
    ``TASKRUN_SECRET_KEY``) a random key is generated for this process.
    """
    settings = get_settings()
    if not isinstance(database, Database):
        database = Database(database or settings.database_url)
    app = FastAPI(
        title="TaskRun Center",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url=OPENAPI_URL,
    )
    key = _secret_key(secret_key or settings.secret_key)
    context = WebContext(
        database=database,
        codec=SessionCodec(key),
        secret_key=key,
        default_language=language or settings.language,
    )
    app.state.web = context
    app.state.default_language = context.default_language
    app.state.metrics_registry = build_registry(database)
    install_error_handlers(app)
    app.add_middleware(SecurityHeadersMiddleware)
    install_docs_page(app)
    for router in (runs_api.router, auth_api.router, tasks_api.router, statistics_api.router):
        app.include_router(router, dependencies=[Depends(reject_unknown_parameters)])
    # A health probe may carry parameters of its own, such as a cache buster, so it accepts any.
    app.include_router(health_api.router)
    if console:
        from taskrun_center.web.console import install_console

        install_console(app)
    return app
