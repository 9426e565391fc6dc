"""Accepting a wrapped command's metric lines: one line at a time, never the whole summary.

Each ``::taskrun metric`` line is checked on its own against the summary contract as it is
parsed, so one bad line (a key naming a secret, a non-finite number) is listed as ignored and the
rest of the summary (exit status, duration, the other metrics) is still stored. Keys that
``taskrun exec`` writes itself are reserved. Lines past the summary's capacity are listed as
ignored too, with the capacity rule, instead of vanishing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from taskrun_center.config import SummaryLimits, get_settings
from taskrun_center.contract import (
    SummaryValidationError,
    TaskTypeRegistry,
    build_base_summary,
    check_summary,
    mask_text,
)

# Summary metrics written by ``taskrun exec`` itself; a printed line cannot replace them.
RESERVED_METRIC_KEYS = frozenset({"exit_code", "duration_ms", "duration_seconds", "signal"})
RESERVED_RULE = "exec.reserved_key"
ARRAY_RULE = "capacity.array_items"
BYTES_RULE = "capacity.summary_bytes"

# Room left in the summary for the envelope, ext.data and the built-in metrics when printed
# metrics are added up against ``SummaryLimits.max_bytes``.
ENVELOPE_RESERVE_BYTES = 2048

# A probe envelope checked with an empty registry, so only the metric itself is judged.
_PROBE_KEY = "exec_metric_probe"
_PROBE_REGISTRY = TaskTypeRegistry()


def metric_rules(metric: dict[str, Any]) -> list[str]:
    """Return the rule codes ``metric`` breaks on its own, or an empty list when it is valid.

    The codes come from the summary contract (secret key names, non-finite numbers, strings
    that are too long…) plus ``exec.reserved_key`` for a key ``taskrun exec`` writes itself.
    """
    if metric["key"] in RESERVED_METRIC_KEYS:
        return [RESERVED_RULE]
    probe = build_base_summary(_PROBE_KEY, registry=_PROBE_REGISTRY)
    probe["common"]["metrics"] = [metric]
    try:
        check_summary(probe, task_key=_PROBE_KEY, registry=_PROBE_REGISTRY)
    except SummaryValidationError as error:
        return sorted(set(error.rules))
    return []


def describe_rejected(where: str, metric: dict[str, Any], rules: Sequence[str]) -> str:
    """Word an ignored metric line by its place, key and rule codes, never by its value."""
    key = mask_text(metric["key"]).value
    return f"{where}: metric {key!r} rejected ({', '.join(rules)})"


@dataclass
class MetricSelection:
    """The printed metrics that fit into the summary and the ignored lines, in order."""

    metrics: list[dict[str, Any]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def select_metrics(
    printed: Sequence[tuple[str, dict[str, Any]]],
    *,
    builtin_count: int,
    limits: SummaryLimits | None = None,
) -> MetricSelection:
    """Keep the printed metrics that fit next to ``builtin_count`` built-in ones.

    ``printed`` contains (place, metric) pairs of lines that passed ``metric_rules``. A key printed
    again replaces its earlier value and keeps its first position. A metric that would exceed
    the array limit or the summary's byte budget is listed as ignored with the capacity rule.
    """
    limits = limits or get_settings().summary_limits
    max_printed = max(0, limits.max_array_items - builtin_count)
    budget = max(0, limits.max_bytes - ENVELOPE_RESERVE_BYTES)

    latest: dict[str, tuple[str, dict[str, Any]]] = {}
    for where, metric in printed:
        latest[metric["key"]] = (where, metric)

    selection = MetricSelection()
    used_bytes = 0
    for where, metric in latest.values():
        size = len(json.dumps(metric, ensure_ascii=False).encode("utf-8")) + 1
        if len(selection.metrics) >= max_printed:
            selection.ignored.append(_over_capacity(where, metric, ARRAY_RULE, max_printed))
        elif used_bytes + size > budget:
            selection.ignored.append(_over_capacity(where, metric, BYTES_RULE, budget))
        else:
            selection.metrics.append(metric)
            used_bytes += size
    return selection


def _over_capacity(where: str, metric: dict[str, Any], rule: str, limit: int) -> str:
    key = mask_text(metric["key"]).value
    return f"{where}: metric {key!r} ignored, over capacity ({rule}, limit {limit})"
