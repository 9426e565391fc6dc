"""Retry policies of tasks run on Celery: how often a failed run is tried again, and when.

The rule: a retry is a new run. A run that ends ``failed`` (the task raised) is terminal, so the
worker enqueues a new pending run of the same task with the same arguments and trigger source.
Its ``created_by`` is ``retry:<run_id of the first attempt>``, which links every attempt to the
first one. Its run_id is derived from the first run_id and the attempt number, so a message
delivered twice cannot start two retries of one attempt. Runs that end ``completed``,
``completed_with_errors`` or ``cancelled`` are never retried.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass

from taskrun_center.errors import ConfigurationError

# Namespace of the run_ids of retries (uuid5 of "<first run_id>:<attempt>").
RETRY_NAMESPACE = uuid.UUID("7d3f0b52-64a4-4d3c-9c43-0f5a7f0b8a11")
RETRY_CREATED_BY_PREFIX = "retry:"


@dataclass(frozen=True)
class RetryPolicy:
    """How a failed run of one task is retried on Celery.

    ``max_retries`` is the number of new runs after the first attempt; ``delay_seconds`` is the
    wait before each one (the Celery countdown).
    """

    max_retries: int = 0
    delay_seconds: float = 0.0


NO_RETRY = RetryPolicy()
_policies: dict[str, RetryPolicy] = {}
_lock = threading.Lock()


def set_retry_policy(task_key: str, *, max_retries: int, delay_seconds: float = 0.0) -> None:
    """Retry failed runs of ``task_key`` up to ``max_retries`` times on Celery workers.

    Call it in the module that declares the task, so every worker applies the same policy.

    Raises:
        ConfigurationError: ``max_retries`` or ``delay_seconds`` is negative.
    """
    if max_retries < 0 or delay_seconds < 0:
        raise ConfigurationError(
            f"retry policy of task {task_key!r}: max_retries and delay_seconds must be >= 0, "
            f"got {max_retries} and {delay_seconds}"
        )
    with _lock:
        _policies[task_key] = RetryPolicy(max_retries, delay_seconds)


def retry_policy(task_key: str) -> RetryPolicy:
    """Return the retry policy of ``task_key``; no retries unless one was set."""
    return _policies.get(task_key, NO_RETRY)


def retry_run_id(first_run_id: str, attempt: int) -> str:
    """Return the run_id of retry number ``attempt`` (1 for the first retry) of a run."""
    return str(uuid.uuid5(RETRY_NAMESPACE, f"{first_run_id}:{attempt}"))


def retry_created_by(first_run_id: str) -> str:
    """Return the ``created_by`` value that links a retry to the first attempt."""
    return f"{RETRY_CREATED_BY_PREFIX}{first_run_id}"
