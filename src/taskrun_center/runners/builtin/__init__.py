"""Built-in maintenance tasks, declared like users' own: purge, audit and reap.

Importing this package declares ``task_runs_purge``, ``task_runs_audit`` and
``task_runs_reap``; the scheduler runs them by default (see ``scheduler.jobs.DEFAULT_JOBS``).
"""

from taskrun_center.runners.builtin import audit, purge, reap

__all__ = ["audit", "purge", "reap"]
