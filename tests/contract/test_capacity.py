"""Capacity limits, each at its boundary: the limit accepted, one more rejected."""

from __future__ import annotations

from typing import Any

import pytest

from taskrun_center.config import SummaryLimits
from taskrun_center.contract import SummaryValidationError, TaskTypeRegistry, check_summary
from taskrun_center.contract.validate import _check_quickly
from tests.contract.factories import envelope

LIMITS = SummaryLimits()


def rules_of(data: dict[str, Any], limits: SummaryLimits = LIMITS) -> list[str]:
    with pytest.raises(SummaryValidationError) as caught:
        check_summary(data, limits=limits)
    return caught.value.rules


def nested(levels: int) -> dict[str, Any]:
    """Return ``levels`` objects, each inside the previous (1 → ``{}``)."""
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"n": value}
    return value


def test_defaults_are_documented_numbers() -> None:
    assert LIMITS.max_bytes == 16 * 1024
    assert LIMITS.warn_bytes == 8 * 1024
    assert LIMITS.max_array_items == 50
    assert LIMITS.max_highlights == 20
    assert LIMITS.max_highlight_chars == 200
    assert LIMITS.max_object_keys == 50
    assert LIMITS.max_depth == 6
    assert LIMITS.max_string_chars == 1024


@pytest.mark.parametrize("part", ["common__inputs", "common__scope__target", "ext__data"])
def test_array_items_at_limit_accepted_one_more_rejected(part: str) -> None:
    check_summary(envelope(**{part: {"ids": list(range(50))}}))

    assert rules_of(envelope(**{part: {"ids": list(range(51))}})) == ["capacity.array_items"]


def test_metrics_array_limit_applies() -> None:
    metrics = [{"key": f"m{i}", "label": "M", "value": i} for i in range(51)]

    check_summary(envelope(common__metrics=metrics[:50]))

    assert rules_of(envelope(common__metrics=metrics)) == ["capacity.array_items"]


@pytest.mark.parametrize("part", ["common__inputs", "common__scope__target", "ext__data"])
def test_object_keys_at_limit_accepted_one_more_rejected(part: str) -> None:
    check_summary(envelope(**{part: {f"k{i}": i for i in range(50)}}))

    assert rules_of(envelope(**{part: {f"k{i}": i for i in range(51)}})) == [
        "capacity.object_keys"
    ]


@pytest.mark.parametrize("part", ["common__inputs", "common__scope__target", "ext__data"])
def test_depth_at_limit_accepted_one_more_rejected(part: str) -> None:
    check_summary(envelope(**{part: nested(6)}))

    assert rules_of(envelope(**{part: nested(7)})) == ["capacity.depth"]


def test_depth_counts_lists() -> None:
    check_summary(envelope(common__inputs={"a": [[[[[1]]]]]}))

    assert rules_of(envelope(common__inputs={"a": [[[[[[1]]]]]]})) == ["capacity.depth"]


def test_string_at_limit_accepted_one_more_rejected() -> None:
    check_summary(envelope(ext__data={"note": "x" * 1024}))

    assert rules_of(envelope(ext__data={"note": "x" * 1025})) == ["capacity.string_chars"]


def test_key_length_limit_applies() -> None:
    check_summary(envelope(ext__data={"k" * 1024: 1}))

    assert rules_of(envelope(ext__data={"k" * 1025: 1})) == ["capacity.string_chars"]


def test_highlights_count_at_limit_accepted_one_more_rejected() -> None:
    check_summary(envelope(common__highlights=["ok"] * 20))

    assert rules_of(envelope(common__highlights=["ok"] * 21)) == ["capacity.highlights"]


def test_highlight_chars_at_limit_accepted_one_more_rejected() -> None:
    check_summary(envelope(common__highlights=["完" * 200]))

    assert rules_of(envelope(common__highlights=["完" * 201])) == ["capacity.highlight_chars"]


def _summary_of_size(size: int) -> dict[str, Any]:
    base = envelope(ext__data={"pad": ""})
    filler_length = size - check_summary(base).size_bytes
    pieces = {f"p{i}": "x" * 1000 for i in range(filler_length // 1010)}
    data = envelope(ext__data={"pad": "", **pieces})
    rest = size - check_summary(data).size_bytes
    data["ext"]["data"]["pad"] = "x" * rest
    return data


def test_summary_bytes_at_limit_accepted_one_more_rejected() -> None:
    at_limit = _summary_of_size(16 * 1024)

    checked = check_summary(at_limit)

    assert checked.size_bytes == 16 * 1024
    assert [w.rule for w in checked.warnings] == ["capacity.summary_bytes_warning"]
    assert rules_of(_summary_of_size(16 * 1024 + 1)) == ["capacity.summary_bytes"]


def test_size_counts_utf8_bytes() -> None:
    checked = check_summary(envelope(ext__data={"note": "完成"}))
    ascii_checked = check_summary(envelope(ext__data={"note": "ok"}))

    assert checked.size_bytes - ascii_checked.size_bytes == 6 - 2


def test_warning_threshold_boundary() -> None:
    assert check_summary(_summary_of_size(8 * 1024)).warnings == []

    warnings = check_summary(_summary_of_size(8 * 1024 + 1)).warnings

    assert [w.rule for w in warnings] == ["capacity.summary_bytes_warning"]
    assert "8193" in warnings[0].message_en


def test_capacity_message_names_limit_actual_and_items() -> None:
    with pytest.raises(SummaryValidationError) as caught:
        check_summary(envelope(common__inputs={"ids": list(range(51))}))

    violation = caught.value.violations[0]
    assert violation.path == "$.common.inputs.ids"
    assert "51" in violation.message_en
    assert "50" in violation.message_en
    assert "details_json" in violation.message_en
    assert "details_json" in violation.message_zh


def test_custom_limits_enforced() -> None:
    limits = SummaryLimits(max_array_items=3)

    check_summary(envelope(common__inputs={"ids": [1, 2, 3]}), limits=limits)

    assert rules_of(envelope(common__inputs={"ids": [1, 2, 3, 4]}), limits) == [
        "capacity.array_items"
    ]


def test_every_capacity_violation_reported() -> None:
    data = envelope(
        common__inputs={"ids": list(range(51)), "deep": nested(7)},
        common__highlights=["x" * 201] * 21,
    )

    rules = rules_of(data)

    assert sorted(set(rules)) == [
        "capacity.array_items",
        "capacity.depth",
        "capacity.highlight_chars",
        "capacity.highlights",
    ]
    assert rules.count("capacity.highlight_chars") == 21


def test_typical_summary_takes_fast_pass() -> None:
    data = envelope(common__inputs={"ids": list(range(50))}, common__highlights=["ok"] * 20)

    assert _check_quickly(data, None, LIMITS, TaskTypeRegistry()) is not None
