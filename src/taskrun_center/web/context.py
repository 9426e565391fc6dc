"""What the routes share: the database, the session codec, the login throttle, settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from taskrun_center.storage.engine import Database
from taskrun_center.web.auth.sessions import SessionCodec
from taskrun_center.web.auth.throttle import LoginThrottle


@dataclass
class WebContext:
    """State of one application instance, stored on ``app.state.web``."""

    database: Database
    codec: SessionCodec
    #: Signs session cookies, CSRF tokens and the read service's list cursors.
    secret_key: str
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    default_language: str = "zh-CN"
    #: Console polling interval for running runs, in milliseconds.
    poll_interval_ms: int = 3000


def get_context(request: Request) -> WebContext:
    """Return the application's shared state."""
    context: WebContext = request.app.state.web
    return context


# These dependencies are coroutines so that FastAPI runs them on the event loop, because it runs
# every plain-function dependency in the thread pool, at the cost of a thread hop per request.
async def _context_dependency(request: Request) -> WebContext:
    return get_context(request)


async def _session_dependency(request: Request) -> AsyncIterator[Session]:
    # Opening a session does no I/O (the route's thread connects on first use). Closing it
    # returns the connection to the pool with one short rollback.
    session = get_context(request).database.session()
    try:
        yield session
    finally:
        session.close()


Context = Annotated[WebContext, Depends(_context_dependency)]
DbSession = Annotated[Session, Depends(_session_dependency)]
