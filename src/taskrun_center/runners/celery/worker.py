"""Entry point of Celery workers: ``celery -A taskrun_center.runners.celery.worker worker``.

Importing it declares the built-in tasks and every module in ``TASKRUN_TASK_MODULES`` (so the
workers know the same tasks as the console), then builds the application from the
``TASKRUN_CELERY_*`` settings.
"""

from __future__ import annotations

from taskrun_center.runners.celery.app import default_app
from taskrun_center.runners.loading import load_configured_tasks

load_configured_tasks()
app = default_app()
