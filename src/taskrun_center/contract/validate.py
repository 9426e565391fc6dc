"""Checking a summary: normalise, validate the structure, then the secret and capacity guards.

``check_summary`` is what the write service calls before anything reaches the database. It runs
every check and raises one error listing all violations, so a task author fixes them in one go.
A fast pass (``fast_check``) accepts the common, plainly valid summary without building JSON
paths; anything it cannot vouch for goes through the full rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError, to_json

from taskrun_center.config import SummaryLimits, get_settings
from taskrun_center.contract.capacity import (
    capacity_violations,
    serialized_size,
    size_violation,
    size_warning,
)
from taskrun_center.contract.fast_check import quick_copy
from taskrun_center.contract.models import TaskRunSummaryV1
from taskrun_center.contract.normalize import normalize_collecting
from taskrun_center.contract.registry import TaskType, TaskTypeRegistry, default_registry
from taskrun_center.contract.sensitive import SEPARATOR as _SEPARATOR
from taskrun_center.contract.sensitive import SensitiveScan
from taskrun_center.contract.structure import error_violation, pydantic_violations
from taskrun_center.contract.text_scan import scan_text
from taskrun_center.contract.violations import (
    SummaryValidationError,
    Violation,
    make_violation,
    raise_if_any,
)
from taskrun_center.i18n import Text


@dataclass(frozen=True, slots=True)
class CheckedSummary:
    """A summary that passed every rule, normalised and ready to store."""

    summary: dict[str, Any]
    size_bytes: int
    warnings: list[Violation] = field(default_factory=list)


def check_summary(
    data: Any,
    *,
    task_key: str | None = None,
    limits: SummaryLimits | None = None,
    registry: TaskTypeRegistry | None = None,
) -> CheckedSummary:
    """Check ``data`` against the summary contract and return it normalised.

    Args:
        data: the envelope, as a mapping or a ``TaskRunSummaryV1`` model (Python values are
            normalised first).
        task_key: the run's task key; ``ext.type`` must equal it when given.
        limits: capacity limits; the configured ``summary_limits`` when omitted.
        registry: where the task type is looked up; ``default_registry`` when omitted.

    Raises:
        SummaryValidationError: listing every violation found, with path and rule code.
    """
    limits = limits or get_settings().summary_limits
    registry = default_registry if registry is None else registry
    checked = _check_quickly(data, task_key, limits, registry)
    if checked is None:
        checked = _check_fully(data, task_key, limits, registry)
    return checked


def _check_quickly(
    data: Any, task_key: str | None, limits: SummaryLimits, registry: TaskTypeRegistry
) -> CheckedSummary | None:
    """Return the checked summary when the fast pass finds nothing, else None."""
    quick = quick_copy(data, limits)
    if quick is None:
        return None
    summary, strings = quick

    size = _plain_size(summary)
    if size is None or size > limits.max_bytes:
        return None
    try:
        TaskRunSummaryV1.model_validate(summary)
    except ValidationError:
        return None
    if _ext_violations(summary, task_key, registry):
        return None
    if strings and scan_text(_SEPARATOR.join(strings)):
        return None

    warning = size_warning(size, limits)
    return CheckedSummary(summary, size, [warning] if warning else [])


def _plain_size(summary: dict[str, Any]) -> int | None:
    """Return the stored size, or None when a string contains NUL or an unpaired surrogate."""
    try:
        text = to_json(summary)
    except PydanticSerializationError:
        return None
    if b"\\u0000" in text:
        return None
    return len(text)


def _check_fully(
    data: Any, task_key: str | None, limits: SummaryLimits, registry: TaskTypeRegistry
) -> CheckedSummary:
    """Run every rule with paths; raise with all violations, or return the checked summary."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="python")
    if not isinstance(data, Mapping):
        raise SummaryValidationError([make_violation("$", "envelope.not_object", _NOT_OBJECT)],
                                     task_key=task_key)
    summary, violations = normalize_collecting(data)
    violations.extend(pydantic_violations(summary))
    violations.extend(_ext_violations(summary, task_key, registry))
    violations.extend(summary_sensitive_violations(summary))
    violations.extend(capacity_violations(summary, limits))

    size = serialized_size(summary)
    rejected = size_violation(size, limits)
    if rejected is not None:
        violations.append(rejected)
    raise_if_any(violations, task_key=task_key)

    warning = size_warning(size, limits)
    return CheckedSummary(summary, size, [warning] if warning else [])


def validate_summary(
    data: Any,
    *,
    task_key: str | None = None,
    limits: SummaryLimits | None = None,
    registry: TaskTypeRegistry | None = None,
) -> dict[str, Any]:
    """Return the normalised summary when ``data`` passes every rule.

    Raises:
        SummaryValidationError: listing every violation found.
    """
    return check_summary(data, task_key=task_key, limits=limits, registry=registry).summary


def summary_sensitive_violations(summary: dict[str, Any]) -> list[Violation]:
    """Return the secret and personal-data findings of a summary.

    Metric entries are judged by the key-name rule on their ``key`` together with their
    ``value``, as if the metric were ``{key: value}``.
    """
    scan = SensitiveScan()
    scan.visit(summary, ())
    common = summary.get("common")
    metrics = common.get("metrics") if isinstance(common, dict) else None
    if isinstance(metrics, list):
        for index, metric in enumerate(metrics):
            if isinstance(metric, dict) and isinstance(metric.get("key"), str):
                path = ("common", "metrics", index, "key")
                scan.check_key(metric["key"], metric.get("value"), path)
    return scan.finish()


def _ext_violations(
    summary: dict[str, Any], task_key: str | None, registry: TaskTypeRegistry
) -> list[Violation]:
    ext = summary.get("ext")
    if not isinstance(ext, dict):
        return []
    ext_type = ext.get("type")
    violations = []
    if task_key is not None and ext_type != task_key:
        violations.append(make_violation("$.ext.type", "envelope.ext_type_mismatch",
                                         _TYPE_MISMATCH, task_key=task_key))
    task_type = registry.get(ext_type) if isinstance(ext_type, str) else None
    if task_type is not None:
        violations.extend(_registered_ext_violations(ext, task_type))
    return violations


def _registered_ext_violations(ext: dict[str, Any], task_type: TaskType) -> list[Violation]:
    violations = []
    version = ext.get("version")
    is_integer = isinstance(version, int) and not isinstance(version, bool)
    if is_integer and version != task_type.ext_version:
        violations.append(make_violation("$.ext.version", "envelope.ext_version_mismatch",
                                         _VERSION_MISMATCH, expected=task_type.ext_version,
                                         task_key=task_type.key))
    data = ext.get("data")
    # An empty ext.data is the base envelope written when a run starts; it is always accepted.
    if task_type.data_model is not None and isinstance(data, dict) and data:
        violations.extend(_data_model_violations(task_type.data_model, data))
    return violations


def _data_model_violations(model: type[BaseModel], data: dict[str, Any]) -> list[Violation]:
    try:
        model.model_validate(data)
    except ValidationError as error:
        found = []
        for detail in error.errors(include_url=False):
            violation = error_violation(detail, ("ext", "data"))
            found.append(_as_ext_data_rule(violation))
        return found
    return []


def _as_ext_data_rule(violation: Violation) -> Violation:
    # Errors of a task type's own model get their own rule, so the audit can tell them apart.
    if violation.rule == "envelope.extra_field":
        return violation
    return make_violation(violation.path, "envelope.ext_data_invalid", _EXT_DATA,
                          reason_zh=violation.message_zh, reason_en=violation.message_en)


_NOT_OBJECT = Text(
    "摘要必须是 JSON 对象（包含 version、common、ext），不能是数组或其他值。",
    "a summary must be a JSON object (version, common, ext), not an array or another value.",
)
_TYPE_MISMATCH = Text(
    "ext.type 必须等于运行的任务键 {task_key}。",
    "ext.type must equal the run's task key {task_key}.",
)
_VERSION_MISMATCH = Text(
    "任务类型 {task_key} 的 ext.version 应为 {expected}。",
    "ext.version of task type {task_key} must be {expected}.",
)
_EXT_DATA = Text(
    "ext.data 不符合该任务类型的数据模型：{reason_zh}",
    "ext.data does not match the task type's data model: {reason_en}",
)
