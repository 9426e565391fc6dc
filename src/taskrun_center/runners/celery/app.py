"""The Celery application: settings, task registration and worker process set-up.

``create_app`` builds an application from the ``TASKRUN_CELERY_*`` settings; ``install`` adds
the TaskRun Center tasks to an application the user already has. Either way the worker imports
the modules that declare TaskRun tasks before it forks, so every worker process has them declared.
"""

from __future__ import annotations

import functools
from typing import Any

import structlog
from celery import Celery, Task
from celery.signals import worker_process_init

from taskrun_center.config import get_settings
from taskrun_center.runners.celery.execution import RunMessage, execute_run
from taskrun_center.runners.celery.items import finalize_items, run_item
from taskrun_center.runners.celery.names import EXECUTE_RUN, FINALIZE_ITEMS, RUN_ITEM
from taskrun_center.runners.recording import default_database

logger = structlog.get_logger(__name__)


def create_app(
    *,
    broker_url: str | None = None,
    result_backend: str | None = None,
    queue: str | None = None,
    main: str = "taskrun",
) -> Celery:
    """Build a Celery application with the TaskRun Center tasks installed.

    Each argument defaults to its setting: ``TASKRUN_CELERY_BROKER_URL``,
    ``TASKRUN_CELERY_RESULT_BACKEND`` and ``TASKRUN_CELERY_QUEUE``. Without a result backend a
    Redis broker serves as one too; other brokers (RabbitMQ) get none, which only item runs
    (chords) need.
    """
    settings = get_settings()
    broker = broker_url or settings.celery_broker_url
    backend = result_backend or settings.celery_result_backend
    if backend is None and broker.startswith(("redis://", "rediss://")):
        backend = broker
    app = Celery(main, broker=broker, backend=backend)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        # Early acknowledgement (Celery's default): a message is acknowledged when a worker
        # starts it, so a worker killed mid-run never hands the run to a second worker. The
        # reaper ends that run once its heartbeats stop.
        task_acks_late=False,
        # Each worker process reserves at most one message: a message prefetched by a busy
        # process would wait behind a slow run instead of going to an idle worker.
        worker_prefetch_multiplier=1,
        result_expires=3600,
        broker_connection_retry_on_startup=True,
    )
    install(app, queue=queue or settings.celery_queue)
    return app


def install(app: Celery, *, queue: str | None = None) -> Celery:
    """Register the TaskRun Center tasks on ``app`` and route them to ``queue``.

    ``queue`` defaults to ``TASKRUN_CELERY_QUEUE``. Other settings of ``app`` are left as
    they are; keep ``task_acks_late`` off for these tasks (see the deployment guide).
    """
    queue = queue or get_settings().celery_queue
    routes = dict(app.conf.task_routes or {})
    for name in (EXECUTE_RUN, RUN_ITEM, FINALIZE_ITEMS):
        routes[name] = {"queue": queue}
    app.conf.task_routes = routes

    app.task(name=EXECUTE_RUN, bind=True, ignore_result=True)(_execute_run)
    # Item results are tiny status strings; the chord needs them stored to count the items.
    app.task(name=RUN_ITEM, bind=False, ignore_result=False)(run_item)
    app.task(name=FINALIZE_ITEMS, bind=False, ignore_result=True)(finalize_items)
    return app


def _execute_run(
    self: Task,
    *,
    task_key: str,
    run_id: str | None = None,
    arguments: dict[str, Any] | None = None,
    trigger_source: str | None = None,
    created_by: str | None = None,
    attempt: int = 0,
    first_run_id: str | None = None,
) -> dict[str, Any]:
    message = RunMessage(
        task_key=task_key,
        run_id=run_id or str(self.request.id),
        arguments=dict(arguments or {}),
        trigger_source=trigger_source,
        created_by=created_by,
        attempt=attempt,
        first_run_id=first_run_id,
    )
    return execute_run(self.app, message)


@functools.lru_cache(maxsize=1)
def default_app() -> Celery:
    """Return this process's Celery application built from the settings."""
    return create_app()


@worker_process_init.connect
def _reset_database_pool(**_: Any) -> None:
    # A prefork child inherits the parent's pooled connections; sharing a socket between two
    # processes corrupts the protocol, so the child drops them without closing them.
    database = default_database()
    database.engine.dispose(close=False)
    logger.debug("worker_process_database_reset")
