"""A read-only view of a stored summary (the envelope) for templates.

Stored rows may predate a rule or come from a buggy writer, so every accessor tolerates a
missing or mistyped field and returns an empty value instead of raising.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from taskrun_center.storage.types import is_invalid_json

TONES = ("info", "success", "warning", "danger")


@dataclass(frozen=True, slots=True)
class MetricView:
    """One metric as shown on a chip."""

    key: str
    label: str
    value: Any
    unit: str | None
    tone: str


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


class SummaryView:
    """Accessors over ``summary_json``; templates and renderers read the envelope through it."""

    def __init__(self, summary: Any, metric_labels: Mapping[str, str] | None = None) -> None:
        """Wrap ``summary``; ``metric_labels`` replace the stored labels of the keys they name.

        The console passes the registry's labels in the page's language, so an English page
        does not show the Chinese labels a task stored.
        """
        self.raw = _as_dict(summary)
        # Stored text that did not decode arrives as a marker (storage.types.TolerantJson).
        self.invalid = is_invalid_json(summary)
        self.metric_labels = dict(metric_labels or {})
        self.common = _as_dict(self.raw.get("common"))
        self.ext = _as_dict(self.raw.get("ext"))

    @property
    def metrics(self) -> list[MetricView]:
        result = []
        for entry in _as_list(self.common.get("metrics")):
            metric = _as_dict(entry)
            if "key" not in metric:
                continue
            tone = metric.get("tone")
            result.append(
                MetricView(
                    key=str(metric["key"]),
                    label=self.metric_labels.get(str(metric["key"]))
                    or str(metric.get("label") or metric["key"]),
                    value=metric.get("value"),
                    unit=str(metric["unit"]) if metric.get("unit") else None,
                    tone=tone if tone in TONES else "info",
                )
            )
        return result

    def metric(self, key: str) -> MetricView | None:
        """Return the metric with ``key``, or None."""
        return next((metric for metric in self.metrics if metric.key == key), None)

    @property
    def highlights(self) -> list[str]:
        return [str(entry) for entry in _as_list(self.common.get("highlights"))]

    @property
    def flags(self) -> dict[str, Any]:
        return _as_dict(self.common.get("flags"))

    @property
    def skipped(self) -> bool:
        return self.flags.get("skipped") is True

    @property
    def skip_reason(self) -> str | None:
        reason = self.flags.get("skip_reason")
        return str(reason) if reason else None

    @property
    def inputs(self) -> dict[str, Any]:
        return _as_dict(self.common.get("inputs"))

    @property
    def scope(self) -> dict[str, Any]:
        return _as_dict(self.common.get("scope"))

    @property
    def scope_time(self) -> dict[str, Any]:
        return _as_dict(self.scope.get("time"))

    @property
    def scope_target(self) -> dict[str, Any]:
        return _as_dict(self.scope.get("target"))

    @property
    def ext_type(self) -> str | None:
        value = self.ext.get("type")
        return str(value) if value else None

    @property
    def data(self) -> dict[str, Any]:
        return _as_dict(self.ext.get("data"))
