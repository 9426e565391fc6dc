"""Run the web application with uvicorn; ``taskrun serve`` and ``taskrun up`` call ``serve``."""

from __future__ import annotations

import sys
from typing import Any

import structlog
import uvicorn

from taskrun_center.config import get_settings
from taskrun_center.errors import StorageError
from taskrun_center.i18n import Text
from taskrun_center.storage.engine import Database
from taskrun_center.web.app import create_app
from taskrun_center.web.auth.accounts import INITIAL_ADMIN, ensure_initial_admin
from taskrun_center.web.listen_address import check_listen_address

log = structlog.get_logger(__name__)

ADMIN_CREATED = Text(
    "已创建管理员账号 {username}，密码（仅显示这一次）：{password}\n"
    "请登录后用 `taskrun users set-password {username}` 修改密码。",
    "Created the admin user {username}; its password (shown only this once) is: {password}\n"
    "Change it with `taskrun users set-password {username}` after signing in.",
)


def create_initial_admin(database: Database, language: str | None = None) -> None:
    """Create the ``admin`` user on first start and print a generated password once.

    ``TASKRUN_ADMIN_PASSWORD`` sets the password instead; it is never printed. The message is
    in ``language`` (the CLI passes its ``--lang``), else in ``TASKRUN_LANGUAGE``.

    Raises:
        StorageError: the database failed, for example because SQLite stayed locked by
            another writer beyond the busy timeout. The error is logged before it is raised.
    """
    settings = get_settings()
    try:
        with database.transaction("create the initial admin") as session:
            generated = ensure_initial_admin(session, settings.admin_password)
    except StorageError as error:
        log.error("initial_admin_failed", error=str(error))
        raise
    if generated is not None:
        message = ADMIN_CREATED.render(language or settings.language, username=INITIAL_ADMIN,
                                       password=generated)
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
        log.info("initial_admin_created", username=INITIAL_ADMIN, password_source="generated")


def proxy_allow_list(value: str) -> list[str]:
    """Split a comma-separated list of proxy addresses or networks, dropping empty entries."""
    return [entry.strip() for entry in value.split(",") if entry.strip()]


def serve(
    database_url: str,
    host: str,
    port: int,
    *,
    scheduler: bool = True,
    scheduler_config: str | None = None,
    log_level: str = "info",
    forwarded_allow_ips: str | None = None,
    language: str | None = None,
) -> None:
    """Serve the console and the API until interrupted, with the scheduler when asked.

    The database must be migrated (``taskrun db upgrade``). With ``scheduler=True`` this process
    also runs the in-process scheduler, which leads only if no other process holds the lock.

    ``forwarded_allow_ips`` (default ``TASKRUN_FORWARDED_ALLOW_IPS``) lists the proxies whose
    ``X-Forwarded-For`` and ``X-Forwarded-Proto`` headers are trusted. Empty trusts none, so
    the client address that login throttling counts is the TCP peer and cannot be forged by a
    header. ``language`` sets the language of the first admin's password message.

    Raises:
        ListenAddressError: the server cannot listen on ``host:port``; nothing was started.
        StorageError: creating the first admin failed, so nothing was served. ``taskrun``
            prints it as one line and exits 1.
    """
    from taskrun_center.runners.loading import load_configured_tasks

    # Before anything else, so that a taken port creates no admin and starts no scheduler.
    check_listen_address(host, port)
    # Run-now and the task overview need the tasks declared in this process.
    load_configured_tasks()
    trusted_proxies = proxy_allow_list(
        get_settings().forwarded_allow_ips if forwarded_allow_ips is None else forwarded_allow_ips
    )
    database = Database(database_url)
    try:
        create_initial_admin(database, language)
    except StorageError:
        database.dispose()
        raise
    app = create_app(database)
    handle: Any = None
    if scheduler:
        from taskrun_center.runners.scheduler import start_scheduler_in_background

        handle = start_scheduler_in_background(database_url, scheduler_config)
    log.info("web_server_starting", host=host, port=port, scheduler=scheduler,
             trusted_proxies=",".join(trusted_proxies) or None)
    try:
        # uvicorn 0.55 trusts proxy headers from 127.0.0.1 by default, which would let any
        # local client pick its own address by sending X-Forwarded-For.
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False,
                    proxy_headers=bool(trusted_proxies),
                    forwarded_allow_ips=trusted_proxies or None)
    finally:
        if handle is not None:
            from taskrun_center.runners.scheduler import stop_cancelling_runs

            # A long scheduled run is cancelled rather than waited for.
            stop_cancelling_runs(handle)
        database.dispose()
        log.info("web_server_stopped", host=host, port=port)
