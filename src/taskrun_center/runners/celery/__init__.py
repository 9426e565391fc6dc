"""Run declared tasks on Celery 5 workers, recorded like local runs, into one database.

- ``CeleryDispatcher`` is a dispatcher for ``enqueue_run``: the run is created as pending, then
  sent to the queue with its run_id as the Celery task id; a worker resumes exactly that run.
  With ``TASKRUN_CELERY_ENABLED=true`` run-now (console, API) uses it and cancel revokes the
  Celery task (``revoke_run``).
- A message sent straight through Celery to ``taskrun.execute_run`` is recorded too, with the
  trigger source ``celery`` and the Celery task id as run_id.
- A failed run is retried as a new, linked run (see ``retries``).
- ``enqueue_item_run`` spreads the items of one run over many workers (a chord), with counters
  kept exact by the database, and ends the run in one finalize step.
- Workers start with ``celery -A taskrun_center.runners.celery.worker worker``.
"""

from taskrun_center.runners.celery.app import create_app, default_app, install
from taskrun_center.runners.celery.dispatcher import (
    CeleryDispatcher,
    celery_dispatcher_for,
    revoke_run,
)
from taskrun_center.runners.celery.items import enqueue_item_run, item_handler
from taskrun_center.runners.celery.names import EXECUTE_RUN, FINALIZE_ITEMS, RUN_ITEM
from taskrun_center.runners.celery.retries import RetryPolicy, retry_policy, set_retry_policy

__all__ = [
    "EXECUTE_RUN",
    "FINALIZE_ITEMS",
    "RUN_ITEM",
    "CeleryDispatcher",
    "RetryPolicy",
    "celery_dispatcher_for",
    "create_app",
    "default_app",
    "enqueue_item_run",
    "install",
    "item_handler",
    "retry_policy",
    "revoke_run",
    "set_retry_policy",
]
