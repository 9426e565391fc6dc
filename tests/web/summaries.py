"""Summaries used by the web tests."""

from __future__ import annotations

from typing import Any

from tests.factories import base_summary

XSS_HIGHLIGHT = "<img src=x onerror=alert(1)>"


def rich_summary(task_key: str = "demo_task", **data: Any) -> dict[str, Any]:
    """Return a valid envelope with two metrics, a highlight and the given ext.data."""
    summary = base_summary(task_key, **data)
    summary["common"]["metrics"] = [
        {"key": "rows", "label": "行数", "value": 1200, "unit": "行", "tone": "success"},
        {"key": "errors", "label": "错误", "value": 3, "tone": "danger"},
    ]
    summary["common"]["highlights"] = ["同步完成"]
    return summary


def skipped_summary(reason: str, task_key: str = "demo_task") -> dict[str, Any]:
    """Return a valid envelope of a run that skipped with ``reason``."""
    summary = base_summary(task_key)
    summary["common"]["flags"] = {"skipped": True, "skip_reason": reason}
    return summary


def xss_summary(task_key: str = "demo_task") -> dict[str, Any]:
    """Return a valid envelope whose highlight and metric label are HTML markup."""
    summary = base_summary(task_key)
    summary["common"]["highlights"] = [XSS_HIGHLIGHT]
    summary["common"]["metrics"] = [
        {"key": "x", "label": "<script>alert(2)</script>", "value": 1, "tone": "info"}
    ]
    return summary
