"""Maintenance: retention purge, full wipe, audit of stored rows, reaper of abandoned runs.

Each operation is a Python function returning a result object, called by the ``taskrun purge``,
``taskrun audit`` and ``taskrun reap`` commands and by the built-in maintenance tasks. On Ctrl-C
each raises ``MaintenanceInterrupted`` with the partial result.
"""

from taskrun_center.maintenance.audit import AuditFinding, AuditProgress, AuditResult, audit_runs
from taskrun_center.maintenance.durations import format_duration, parse_duration
from taskrun_center.maintenance.interrupts import MaintenanceInterrupted
from taskrun_center.maintenance.purge import (
    PurgeError,
    PurgeProgress,
    PurgeResult,
    purge_runs,
    wipe_all_runs,
)
from taskrun_center.maintenance.reaper import ReapResult, reap_runs

__all__ = [
    "AuditFinding",
    "AuditProgress",
    "AuditResult",
    "MaintenanceInterrupted",
    "PurgeError",
    "PurgeProgress",
    "PurgeResult",
    "ReapResult",
    "audit_runs",
    "format_duration",
    "parse_duration",
    "purge_runs",
    "reap_runs",
    "wipe_all_runs",
]
