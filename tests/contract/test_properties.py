"""Property-based tests: builders, the validator and normalisation on generated data."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskrun_center.config import SummaryLimits
from taskrun_center.contract import (
    SummaryValidationError,
    TaskTypeRegistry,
    Tone,
    build_summary,
    check_summary,
    find_sensitive,
    mask_json,
    mask_text,
    normalize_json,
)
from taskrun_center.contract.validate import _check_fully, _check_quickly
from tests.contract.factories import envelope, registry_with_sync_accounts
from tests.contract.samples import HARMLESS_VALUES, SENSITIVE_VALUES

LIMITS = SummaryLimits()
PROFILE = settings(max_examples=150, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.text(max_size=12), children, max_size=5),
    ),
    max_leaves=25,
)
# Words that never form a secret, personal data or a secret-named key.
plain_words = st.sampled_from(
    ["rows", "instances", "同步", "实例", "ok", "prod", "east", "batch", "完成", "daily", "v2"]
)
plain_text = st.lists(plain_words, min_size=1, max_size=6).map(" ".join)
plain_keys = st.sampled_from(
    ["rows", "instances", "mode", "cluster", "region", "batch_size", "dry_run", "engine",
     "failed", "skipped_total", "duration_seconds", "shard", "host_count", "owner_team"]
)
plain_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(10**9), 10**9), plain_text),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(plain_keys, children, max_size=4),
    ),
    max_leaves=12,
)
metric_values = st.one_of(st.none(), st.booleans(), st.integers(-(10**9), 10**9),
                          st.floats(allow_nan=False, allow_infinity=False), plain_text)


@PROFILE
@given(
    metrics=st.dictionaries(plain_keys, metric_values, max_size=8),
    highlights=st.lists(plain_text, max_size=5),
    inputs=st.dictionaries(plain_keys, plain_json, max_size=5),
    target=st.dictionaries(plain_keys, plain_json, max_size=5),
    ext_data=st.dictionaries(plain_keys, plain_json, max_size=5),
    skip_reason=st.one_of(st.none(), plain_text),
    day=st.one_of(st.none(), st.dates(min_value=date(1970, 1, 1))),
)
def test_builder_output_validates(
    *,
    metrics: dict[str, Any],
    highlights: list[str],
    inputs: dict[str, Any],
    target: dict[str, Any],
    ext_data: dict[str, Any],
    skip_reason: str | None,
    day: date | None,
) -> None:
    registry = TaskTypeRegistry()
    time = {"type": "date", "timezone": "Asia/Shanghai", "date": day.isoformat()} if day else None

    summary = build_summary(
        "generated_task",
        metrics=metrics,
        highlights=highlights,
        skipped=skip_reason is not None,
        skip_reason=skip_reason,
        scope_time=time,
        scope_target=target,
        inputs=inputs,
        ext_data=ext_data,
        registry=registry,
    )

    assert check_summary(summary, task_key="generated_task", registry=registry).summary == summary


@PROFILE
@given(failed=st.integers(0, 10**6), total=st.integers(0, 10**6), language=st.sampled_from(
    ["zh-CN", "en"]))
def test_builder_with_definitions_validates(failed: int, total: int, language: str) -> None:
    registry = registry_with_sync_accounts()

    summary = build_summary(
        "sync_accounts",
        metrics={"instances_total": total, "failed": failed},
        ext_data={"instances_total": total},
        language=language,
        registry=registry,
    )

    assert summary["common"]["metrics"][1]["tone"] == Tone.DANGER.value
    assert check_summary(summary, task_key="sync_accounts", registry=registry).summary == summary


@PROFILE
@given(data=json_values)
def test_validator_raises_only_contract_error_on_any_json(data: Any) -> None:
    try:
        check_summary(data)
    except SummaryValidationError as error:
        assert error.violations
        assert all(violation.path.startswith("$") for violation in error.violations)


@PROFILE
@given(
    inputs=json_values,
    metrics=json_values,
    highlights=json_values,
    flags=json_values,
    ext_data=json_values,
)
def test_validator_raises_only_contract_error_on_envelope_shapes(
    *, inputs: Any, metrics: Any, highlights: Any, flags: Any, ext_data: Any
) -> None:
    data = envelope(common__inputs=inputs, common__metrics=metrics,
                    common__highlights=highlights, common__flags=flags, ext__data=ext_data)
    try:
        check_summary(data)
    except SummaryValidationError as error:
        assert error.violations


@PROFILE
@given(
    inputs=st.dictionaries(st.text(max_size=12), json_values, max_size=6),
    ext_data=st.dictionaries(st.text(max_size=12), json_values, max_size=6),
    highlights=st.lists(st.text(max_size=60), max_size=4),
    secret=st.sampled_from([text for _, _, text in SENSITIVE_VALUES] + HARMLESS_VALUES),
)
def test_fast_pass_never_accepts_what_full_rules_reject(
    inputs: dict[str, Any], ext_data: dict[str, Any], highlights: list[str], secret: str
) -> None:
    data = envelope(common__inputs=inputs, common__highlights=[*highlights, secret],
                    ext__data=ext_data)
    registry = TaskTypeRegistry()

    quick = _check_quickly(data, None, LIMITS, registry)
    if quick is None:
        return
    full = _check_fully(data, None, LIMITS, registry)

    assert full.summary == quick.summary
    assert full.size_bytes == quick.size_bytes
    assert full.warnings == quick.warnings


python_values = st.recursive(
    st.one_of(
        json_scalars,
        st.dates(),
        st.datetimes(timezones=st.sampled_from([None, UTC, timezone(timedelta(hours=8))])),
        st.decimals(allow_nan=False, allow_infinity=False, places=3,
                    min_value=Decimal(-(10**12)), max_value=Decimal(10**12)),
        st.uuids(),
        st.sampled_from(list(Tone)),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.tuples(children, children),
        st.frozensets(st.integers(-100, 100), max_size=4),
        st.dictionaries(st.text(max_size=8), children, max_size=4),
    ),
    max_leaves=20,
)


@PROFILE
@given(value=python_values)
def test_normalisation_is_idempotent_and_json(value: Any) -> None:
    try:
        once = normalize_json(value)
    except SummaryValidationError as error:
        assert all(v.rule.startswith("json.") for v in error.violations)
        return

    assert normalize_json(once) == once
    assert json.loads(json.dumps(once)) == once


@PROFILE
@given(parts=st.lists(
    st.one_of(st.sampled_from([text for _, _, text in SENSITIVE_VALUES] + HARMLESS_VALUES),
              st.text(max_size=30)),
    max_size=5,
))
def test_masking_is_idempotent_and_leaves_nothing(parts: list[str]) -> None:
    text = " ".join(parts).replace("\x00", "")

    masked = mask_text(text)

    assert mask_text(masked.value).value == masked.value
    assert mask_text(masked.value).count == 0
    assert find_sensitive({"text": masked.value}) == []


@PROFILE
@given(value=json_values)
def test_mask_json_output_passes_guards(value: Any) -> None:
    masked = mask_json({"data": value}).value

    assert [v for v in find_sensitive(masked) if v.rule == "secret.key_name"] == []


def test_normalisation_examples() -> None:
    value = {
        "day": date(2026, 1, 2),
        "naive": datetime(2026, 1, 2, 3, 4, 5),
        "aware": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=8))),
        "amount": Decimal("12.50"),
        "count": Decimal("3"),
        "id": UUID("6f1c3a9e-1c4b-4d0a-9e9b-1a2b3c4d5e6f"),
        "tone": Tone.SUCCESS,
        "pair": (1, 2),
        "set": {3, 1, 2},
    }

    assert normalize_json(value) == {
        "day": "2026-01-02",
        "naive": "2026-01-02T03:04:05+00:00",
        "aware": "2026-01-02T03:04:05+08:00",
        "amount": 12.5,
        "count": 3,
        "id": "6f1c3a9e-1c4b-4d0a-9e9b-1a2b3c4d5e6f",
        "tone": "success",
        "pair": [1, 2],
        "set": [1, 2, 3],
    }
