"""Structural rules of the envelope."""

from __future__ import annotations

import copy
import pickle

import pytest

from taskrun_center.contract import (
    SummaryValidationError,
    TaskRunSummaryV1,
    check_summary,
    validate_summary,
)
from tests.contract.factories import DOCUMENTED_SHAPE, envelope


def rules_of(data: object, **kwargs: object) -> list[str]:
    with pytest.raises(SummaryValidationError) as caught:
        check_summary(data, **kwargs)  # type: ignore[arg-type]
    return caught.value.rules


def paths_of(data: object, **kwargs: object) -> list[str]:
    with pytest.raises(SummaryValidationError) as caught:
        check_summary(data, **kwargs)  # type: ignore[arg-type]
    return [violation.path for violation in caught.value.violations]


def test_documented_shape_accepted_unchanged() -> None:
    original = copy.deepcopy(DOCUMENTED_SHAPE)

    result = validate_summary(DOCUMENTED_SHAPE, task_key="sync_accounts")

    assert result == original
    assert original == DOCUMENTED_SHAPE


@pytest.mark.parametrize("field", ["skipped", "records", "periods_executed"])
def test_stray_top_level_field_rejected(field: str) -> None:
    data = envelope(**{field: 1})

    assert rules_of(data) == ["envelope.extra_field"]
    assert paths_of(data) == [f"$.{field}"]


@pytest.mark.parametrize(
    ("dotted", "path"),
    [
        ("common__extra", "$.common.extra"),
        ("common__scope__extra", "$.common.scope.extra"),
        ("common__flags__extra", "$.common.flags.extra"),
        ("ext__extra", "$.ext.extra"),
    ],
)
def test_stray_nested_field_rejected(dotted: str, path: str) -> None:
    assert paths_of(envelope(**{dotted: 1})) == [path]


def test_stray_metric_field_rejected() -> None:
    metric = {"key": "total", "label": "Total", "value": 1, "color": "red"}

    assert paths_of(envelope(common__metrics=[metric])) == ["$.common.metrics[0].color"]


def test_ext_type_differs_from_task_key_rejected() -> None:
    assert rules_of(envelope(), task_key="other_task") == ["envelope.ext_type_mismatch"]


def test_metrics_as_object_rejected() -> None:
    data = envelope(common__metrics={"total": 1})

    assert rules_of(data) == ["envelope.wrong_type"]
    assert paths_of(data) == ["$.common.metrics"]


@pytest.mark.parametrize("version", [2, 0, "1", True, 1.0, None])
def test_version_other_than_integer_one_rejected(version: object) -> None:
    assert rules_of(envelope(version=version)) == ["envelope.version"]


def test_tone_outside_set_rejected() -> None:
    metrics = [
        {"key": "a", "label": "A", "value": 1, "tone": "info"},
        {"key": "b", "label": "B", "value": 1, "tone": "red"},
    ]

    assert rules_of(envelope(common__metrics=metrics)) == ["envelope.tone"]
    assert paths_of(envelope(common__metrics=metrics)) == ["$.common.metrics[1].tone"]


@pytest.mark.parametrize("day", ["2026-02-30", "2026-13-01", "20260101", "2026-1-1", ""])
def test_bad_scope_date_rejected(day: str) -> None:
    time = {"type": "date", "timezone": "Asia/Shanghai", "date": day}

    assert rules_of(envelope(common__scope__time=time)) == ["envelope.scope_date"]


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../etc/passwd", "asia/shanghai "])
def test_unknown_time_zone_rejected(zone: str) -> None:
    time = {"type": "date", "timezone": zone, "date": "2026-01-02"}

    assert rules_of(envelope(common__scope__time=time)) == ["envelope.scope_timezone"]


def test_valid_scope_time_accepted() -> None:
    time = {"type": "date", "timezone": "Asia/Shanghai", "date": "2024-02-29"}

    assert validate_summary(envelope(common__scope__time=time))["common"]["scope"]["time"] == time


def test_missing_field_rejected() -> None:
    data = envelope()
    del data["common"]["highlights"]

    assert rules_of(data) == ["envelope.missing_field"]
    assert paths_of(data) == ["$.common.highlights"]


def test_metric_unit_tone_optional() -> None:
    metrics = [
        {"key": "a", "label": "A", "value": 1},
        {"key": "b", "label": "B", "value": None, "unit": None, "tone": None},
    ]

    assert validate_summary(envelope(common__metrics=metrics))["common"]["metrics"] == metrics


def test_duplicate_metric_keys_rejected() -> None:
    metrics = [{"key": "a", "label": "A", "value": 1}, {"key": "a", "label": "A2", "value": 2}]

    assert rules_of(envelope(common__metrics=metrics)) == ["envelope.duplicate_metric_key"]


@pytest.mark.parametrize("value", [[1], {"a": 1}])
def test_metric_value_container_rejected(value: object) -> None:
    metrics = [{"key": "a", "label": "A", "value": value}]

    assert rules_of(envelope(common__metrics=metrics)) == ["envelope.metric_value"]


def test_skipped_without_reason_rejected() -> None:
    flags = {"skipped": True, "skip_reason": "  "}

    assert rules_of(envelope(common__flags=flags)) == ["envelope.skip_reason_missing"]


def test_reason_without_skipped_rejected() -> None:
    flags = {"skipped": False, "skip_reason": "no new data"}

    assert rules_of(envelope(common__flags=flags)) == ["envelope.skip_reason_unexpected"]


def test_skipped_with_reason_accepted() -> None:
    flags = {"skipped": True, "skip_reason": "今天没有新数据"}

    assert validate_summary(envelope(common__flags=flags))["common"]["flags"] == flags


@pytest.mark.parametrize("data", [[], "x", 1, None])
def test_non_object_summary_rejected(data: object) -> None:
    assert rules_of(data) == ["envelope.not_object"]


def test_every_violation_reported_together() -> None:
    data = envelope(version=2, skipped=True, common__metrics={"a": 1})
    data["ext"]["version"] = 0

    rules = rules_of(data, task_key="other")

    assert sorted(rules) == sorted(
        [
            "envelope.version",
            "envelope.extra_field",
            "envelope.wrong_type",
            "envelope.ext_version",
            "envelope.ext_type_mismatch",
        ]
    )


def test_error_text_names_rule_and_path_only() -> None:
    data = envelope(common__inputs={"password": "hunter2-secret"})

    with pytest.raises(SummaryValidationError) as caught:
        check_summary(data)

    assert "secret.key_name" in str(caught.value)
    assert "$.common.inputs.password" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in caught.value.message("en")
    assert "hunter2" not in caught.value.message("zh-CN")


def test_envelope_model_instance_accepted() -> None:
    model = TaskRunSummaryV1.model_validate(
        envelope(common__metrics=[{"key": "rows", "label": "行数", "value": 3, "tone": "info"}])
    )

    summary = validate_summary(model)

    assert summary["common"]["metrics"] == [
        {"key": "rows", "label": "行数", "value": 3, "unit": None, "tone": "info"}
    ]


def test_ten_thousand_levels_in_python_rejected() -> None:
    deep: list[object] = []
    for _ in range(10_000):
        deep = [deep]

    metric_rules = rules_of(envelope(common__metrics=[{"key": "a", "label": "A", "value": deep}]))
    input_rules = rules_of(envelope(common__inputs={"deep": deep}))

    assert "json.too_deep" in metric_rules
    assert "json.too_deep" in input_rules
    assert "capacity.depth" in input_rules


def test_error_survives_pickling() -> None:
    with pytest.raises(SummaryValidationError) as caught:
        check_summary(envelope(skipped=True), task_key="other")

    restored = pickle.loads(pickle.dumps(caught.value))

    assert restored.violations == caught.value.violations
    assert restored.task_key == "other"
    assert str(restored) == str(caught.value)


def test_path_escapes_control_characters_in_keys() -> None:
    with pytest.raises(SummaryValidationError) as caught:
        check_summary(envelope(**{"x\x1b[2J": 1}))

    assert caught.value.violations[0].path == '$["x\\u001b[2J"]'
