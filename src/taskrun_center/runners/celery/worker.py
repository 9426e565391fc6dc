"""Entry point of Celery workers: ``celery -A taskrun_center.runners.celery.worker worker``.

Importing it declares the built-in tasks and every module in ``TASKRUN_TASK_MODULES`` (so the
workers know the same tasks as the console), then builds the application from the
``TASKRUN_CELERY_*`` settings. Its logs, Celery's own included, follow ``TASKRUN_LOG_LEVEL``
and ``TASKRUN_LOG_FORMAT`` like every other entry point.
"""

from __future__ import annotations

from typing import Any

from celery.signals import setup_logging

from taskrun_center.logging_setup import configure_logging
from taskrun_center.runners.celery.app import default_app
from taskrun_center.runners.loading import load_configured_tasks


@setup_logging.connect
def _configure_worker_logging(**_: Any) -> None:
    # Connecting this signal stops Celery from installing its own handlers, so the worker
    # logs in the same format as the console and the scheduler.
    configure_logging()


load_configured_tasks()
app = default_app()
