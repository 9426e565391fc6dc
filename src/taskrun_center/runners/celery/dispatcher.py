"""Send pending runs to Celery workers, and revoke them when they are cancelled.

The Celery task id of a run's message is the run's run_id, so no mapping is stored: cancel
revokes the run_id itself. A run whose items are spread over workers uses its run_id as the
task id of its finalize step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from celery import Celery
from kombu.exceptions import KombuError

from taskrun_center.runners.celery.names import EXECUTE_RUN
from taskrun_center.storage.engine import Database

logger = structlog.get_logger(__name__)


class CeleryDispatcher:
    """A ``Dispatcher`` that sends each pending run to the Celery queue; for ``enqueue_run``.

    ``countdown`` delays the start by that many seconds. ``first_run_id`` and ``attempt``
    mark the message as a retry (see ``retries``); callers other than the worker leave them.
    """

    def __init__(
        self,
        app: Celery | None = None,
        *,
        countdown: float | None = None,
        first_run_id: str | None = None,
        attempt: int = 0,
    ) -> None:
        self._app = app
        self.countdown = countdown
        self.first_run_id = first_run_id
        self.attempt = attempt

    @property
    def app(self) -> Celery:
        """The Celery application messages go through (built from the settings by default)."""
        if self._app is None:
            from taskrun_center.runners.celery.app import default_app

            self._app = default_app()
        return self._app

    def submit(
        self,
        task_key: str,
        run_id: str,
        arguments: Mapping[str, Any],
        trigger_source: str,
        created_by: str | None,
    ) -> None:
        """Send the pending run ``run_id`` to the queue; a worker resumes it.

        Raises:
            kombu.exceptions.OperationalError: the broker cannot be reached; ``enqueue_run``
                then marks the pending run failed.
        """
        kwargs = {
            "task_key": task_key,
            "run_id": run_id,
            "arguments": dict(arguments),
            "trigger_source": trigger_source,
            "created_by": created_by,
            "attempt": self.attempt,
            "first_run_id": self.first_run_id,
        }
        self.app.send_task(EXECUTE_RUN, kwargs=kwargs, task_id=run_id, countdown=self.countdown)
        logger.info("run_sent_to_celery", run_id=run_id, task_key=task_key, attempt=self.attempt)


def celery_dispatcher_for(database: Database) -> CeleryDispatcher:
    """Return a dispatcher on this process's Celery application (``database`` is not needed).

    The signature matches the scheduler's ``dispatcher_factory``.
    """
    del database
    return CeleryDispatcher()


def revoke_run(run_id: str, app: Celery | None = None) -> bool:
    """Ask every Celery worker to drop the message of run ``run_id``; False when it failed.

    Call it after the run was cancelled in the database. A worker that has not started the
    run discards its message; a worker already running it keeps going until the task's next
    cancellation check, which reads the run's status. A broker that cannot be reached is
    logged and tolerated because of that check: the worker then starts the message, sees the
    run cancelled and stops at once.
    """
    if app is None:
        from taskrun_center.runners.celery.app import default_app

        app = default_app()
    try:
        app.control.revoke(run_id)
    except (KombuError, OSError) as error:
        logger.warning("celery_revoke_failed", run_id=run_id, error=str(error))
        return False
    logger.info("celery_run_revoked", run_id=run_id)
    return True
