"""Builders: the easy path to a valid envelope.

``build_base_summary`` is what starting a run stores; ``build_summary`` is the final summary a
task writes before it completes. Both return only envelopes that pass ``check_summary``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from taskrun_center.config import SummaryLimits
from taskrun_center.contract.models import SUMMARY_VERSION, is_time_zone
from taskrun_center.contract.registry import TaskType, TaskTypeRegistry, default_registry
from taskrun_center.contract.validate import validate_summary
from taskrun_center.contract.violations import SummaryValidationError, make_violation
from taskrun_center.i18n import DEFAULT_LANGUAGE, Text

MetricsArgument = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None


def date_scope(day: date, timezone: str) -> dict[str, str]:
    """Return ``common.scope.time`` for one calendar day in ``timezone``.

    Raises:
        SummaryValidationError: when ``timezone`` is not an IANA time zone (rule
            ``envelope.scope_timezone``).
    """
    if not is_time_zone(timezone):
        raise SummaryValidationError([
            make_violation("$.common.scope.time.timezone", "envelope.scope_timezone", _BAD_ZONE)
        ])
    return {"type": "date", "timezone": timezone, "date": day.isoformat()[:10]}


def build_base_summary(
    task_key: str, *, registry: TaskTypeRegistry | None = None
) -> dict[str, Any]:
    """Return the base envelope for ``task_key``: empty inputs, metrics and ``ext.data``.

    Raises:
        SummaryValidationError: when ``task_key`` is not a valid task key.
    """
    registry = default_registry if registry is None else registry
    flags = {"skipped": False, "skip_reason": None}
    envelope = _envelope(
        task_key,
        task_type=registry.get(task_key),
        inputs={},
        metrics=[],
        highlights=[],
        scope_time=None,
        scope_target={},
        flags=flags,
        ext_data={},
    )
    return validate_summary(envelope, task_key=task_key, registry=registry)


def build_summary(
    task_key: str,
    *,
    metrics: MetricsArgument = None,
    highlights: Iterable[str] = (),
    skipped: bool = False,
    skip_reason: str | None = None,
    scope_time: Mapping[str, Any] | None = None,
    scope_target: Mapping[str, Any] | None = None,
    inputs: Mapping[str, Any] | None = None,
    ext_data: Any = None,
    language: str | None = None,
    registry: TaskTypeRegistry | None = None,
    limits: SummaryLimits | None = None,
) -> dict[str, Any]:
    """Return the final envelope of a run of ``task_key``, validated.

    Args:
        metrics: either ``{key: value}``, whose labels, units and default tones come from the
            task type's metric definitions (the key is the label for an unregistered type), or a
            list of ``{key, label, value, unit?, tone?}`` dicts taken as they are.
        highlights: short sentences for the list page; a single string is one highlight.
        skipped, skip_reason: set both when the run had nothing to do.
        scope_time: ``date_scope(day, timezone)`` or None.
        scope_target, inputs: small free-form objects.
        ext_data: the task type's aggregated data, a mapping or a pydantic model.
        language: language of labels taken from definitions; Chinese by default.
        registry: where the task type is looked up; ``default_registry`` when omitted.
        limits: capacity limits; the configured ones when omitted.

    Raises:
        SummaryValidationError: with every violation, instead of returning an invalid envelope;
            rule ``builder.unknown_metric`` for a metric the registered type does not define.
    """
    registry = default_registry if registry is None else registry
    task_type = registry.get(task_key)
    metric_list = _metric_entries(metrics, task_type, language or DEFAULT_LANGUAGE)
    envelope = _envelope(
        task_key,
        task_type=task_type,
        inputs=inputs or {},
        metrics=metric_list,
        highlights=[highlights] if isinstance(highlights, str) else list(highlights),
        scope_time=dict(scope_time) if isinstance(scope_time, Mapping) else scope_time,
        scope_target=scope_target or {},
        flags={"skipped": skipped, "skip_reason": skip_reason},
        ext_data=ext_data if ext_data is not None else {},
    )
    return validate_summary(envelope, task_key=task_key, limits=limits, registry=registry)


def _envelope(
    task_key: str,
    *,
    task_type: TaskType | None,
    inputs: Any,
    metrics: list[Any],
    highlights: list[Any],
    scope_time: Any,
    scope_target: Any,
    flags: dict[str, Any],
    ext_data: Any,
) -> dict[str, Any]:
    return {
        "version": SUMMARY_VERSION,
        "common": {
            "inputs": inputs,
            "scope": {"time": scope_time, "target": scope_target},
            "metrics": metrics,
            "highlights": highlights,
            "flags": flags,
        },
        "ext": {
            "type": task_key,
            "version": task_type.ext_version if task_type else 1,
            "data": ext_data,
        },
    }


def _metric_entries(
    metrics: MetricsArgument, task_type: TaskType | None, language: str
) -> list[Any]:
    if metrics is None:
        return []
    if not isinstance(metrics, Mapping):
        return [dict(entry) if isinstance(entry, Mapping) else entry for entry in metrics]

    entries = []
    unknown = []
    for key, value in metrics.items():
        definition = task_type.metric(key) if task_type is not None else None
        if definition is None:
            if task_type is not None and task_type.metrics:
                unknown.append(key)
            entries.append({"key": key, "label": key, "value": value})
            continue
        entry: dict[str, Any] = {
            "key": key,
            "label": definition.label(language),
            "value": value,
        }
        if definition.unit is not None:
            entry["unit"] = definition.unit
        if definition.tone is not None:
            entry["tone"] = definition.tone.value
        entries.append(entry)

    if unknown and task_type is not None:
        raise SummaryValidationError(
            [
                make_violation(f"$.common.metrics[{index}].key", "builder.unknown_metric",
                               _UNKNOWN_METRIC, task_key=task_type.key)
                for index, entry in enumerate(entries)
                if entry["key"] in unknown
            ],
            task_key=task_type.key,
        )
    return entries


_BAD_ZONE = Text(
    "未知的时区；请使用 IANA 时区名，例如 Asia/Shanghai。",
    "unknown time zone; use an IANA name such as Asia/Shanghai.",
)
_UNKNOWN_METRIC = Text(
    "任务类型 {task_key} 没有定义这个指标；请在任务类型的 metrics 中声明它，或改用列表形式传入。",
    "task type {task_key} does not define this metric; declare it in the type's metrics, or pass "
    "the metrics as a list.",
)
