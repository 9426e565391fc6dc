"""Secret and personal-data guards on summaries."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from taskrun_center.contract import (
    SummaryValidationError,
    check_summary,
    find_sensitive,
    validate_summary,
)
from tests.contract.factories import envelope
from tests.contract.samples import HARMLESS_VALUES, SENSITIVE_VALUES


def _placements(text: str) -> list[tuple[str, dict[str, Any]]]:
    """Return (expected path, summary) pairs with ``text`` in each part of the envelope."""
    metric_value = [{"key": "note", "label": "备注", "value": text}]
    metric_label = [{"key": "note", "label": text, "value": 1}]
    return [
        ("$.common.inputs.note", envelope(common__inputs={"note": text})),
        ("$.common.scope.target.host", envelope(common__scope__target={"host": text})),
        ("$.common.metrics[0].value", envelope(common__metrics=metric_value)),
        ("$.common.metrics[0].label", envelope(common__metrics=metric_label)),
        ("$.common.highlights[1]", envelope(common__highlights=["ok", text])),
        ("$.ext.data.note", envelope(ext__data={"note": text})),
        ("$.ext.data.a.b[0].c", envelope(ext__data={"a": {"b": [{"c": text}]}})),
        ("$.common.inputs.x.y.z", envelope(common__inputs={"x": {"y": {"z": text}}})),
    ]


@pytest.mark.parametrize(("rule", "kind", "text"), SENSITIVE_VALUES)
def test_sensitive_value_rejected_everywhere(rule: str, kind: str, text: str) -> None:
    for path, data in _placements(text):
        with pytest.raises(SummaryValidationError) as caught:
            check_summary(data)

        assert [(v.rule, v.path) for v in caught.value.violations] == [(rule, path)], (kind, path)


@pytest.mark.parametrize(("rule", "kind", "text"), SENSITIVE_VALUES)
def test_sensitive_value_never_printed(rule: str, kind: str, text: str) -> None:
    with pytest.raises(SummaryValidationError) as caught:
        check_summary(envelope(common__inputs={"note": text}))

    rendered = [str(caught.value), caught.value.message("en"), caught.value.message("zh-CN")]
    secret_part = text.rsplit(maxsplit=1)[-1]
    for output in rendered:
        assert secret_part not in output, kind


@pytest.mark.parametrize("text", HARMLESS_VALUES)
def test_harmless_value_accepted_everywhere(text: str) -> None:
    for _, data in _placements(text):
        original = copy.deepcopy(data)

        assert validate_summary(data) == original


def test_session_id_uuid_and_token_counters_accepted() -> None:
    data = envelope(
        common__inputs={"session_id": "6f1c3a9e-1c4b-4d0a-9e9b-1a2b3c4d5e6f", "skip_reason": "x"},
        common__metrics=[
            {"key": "tokens_total", "label": "令牌数", "value": 1234},
            {"key": "token_count_limit", "label": "上限", "value": 100000},
        ],
        ext__data={"tokens_total": 5, "token_type": "Bearer", "password_resets": 2},
    )

    assert validate_summary(data) == data


@pytest.mark.parametrize(
    "key",
    [
        "password", "passwd", "pwd", "secret", "token", "api_key", "apiKey", "APIKey", "x-api-key",
        "access_key", "private_key", "client_secret", "auth_token", "credential", "credentials",
        "authorization", "cookie", "dsn", "connection_string", "connectionString", "conn_str",
        "db_password", "Set-Cookie", "密码", "数据库口令",
    ],
)
def test_secret_key_with_string_rejected(key: str) -> None:
    with pytest.raises(SummaryValidationError) as caught:
        check_summary(envelope(common__inputs={"nested": {key: "value-1"}}))

    assert caught.value.rules == ["secret.key_name"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("password", None),
        ("password", ""),
        ("password", "******"),
        ("password", True),
        ("password_length", 12),
        ("tokens", 1500),
        ("tokens_total", 1500),
        ("token_count_limit", 1000),
        ("token_type", "Bearer"),
        ("secret_name", "prod-db"),
        ("access_key_id_count", 2),
        ("passport_no_count", 3),
        ("tokenizer", "bpe"),
        ("primary_key", "id"),
        ("session_id", "abc"),
        ("skip_reason", "no data"),
    ],
)
def test_key_rule_accepts_values_that_cannot_carry_secret(key: str, value: object) -> None:
    assert find_sensitive({key: value}) == []


@pytest.mark.parametrize(("key", "value"), [("password", 123456), ("api_key", 42), ("pwd", 0)])
def test_number_under_plain_secret_key_rejected(key: str, value: int) -> None:
    assert [v.rule for v in find_sensitive({key: value})] == ["secret.key_name"]


def test_metric_key_judged_with_its_value() -> None:
    metrics = [{"key": "api_key", "label": "API key", "value": "k-12345678"}]

    with pytest.raises(SummaryValidationError) as caught:
        check_summary(envelope(common__metrics=metrics))

    assert ("secret.key_name", "$.common.metrics[0].key") in [
        (v.rule, v.path) for v in caught.value.violations
    ]


def test_key_carrying_personal_data_masked_in_path() -> None:
    with pytest.raises(SummaryValidationError) as caught:
        check_summary(envelope(common__inputs={"zhang.san@example.com": 1}))

    assert caught.value.rules == ["personal_data.email"]
    assert "zhang.san" not in caught.value.violations[0].path


def test_find_sensitive_uses_given_root() -> None:
    violations = find_sensitive({"a": ["x", "mail a@example.com"]}, path="$.details")

    assert [(v.rule, v.path) for v in violations] == [("personal_data.email", "$.details.a[1]")]
