"""Bounded parsing of JSON text."""

from __future__ import annotations

import pickle

import pytest

from taskrun_center.contract import JsonTextError, parse_json_text
from taskrun_center.errors import TaskRunError


def test_plain_document_parsed() -> None:
    assert parse_json_text(b'{"a": [1, 2.5, "x", null, true]}') == {"a": [1, 2.5, "x", None, True]}


def test_utf8_bom_accepted() -> None:
    assert parse_json_text('\ufeff{"a": "完成"}'.encode()) == {"a": "完成"}


def test_duplicate_key_rejected_with_key_named() -> None:
    with pytest.raises(JsonTextError) as caught:
        parse_json_text('{"a": {"b": 1, "b": 2}}')

    assert "'b'" in caught.value.message("en")
    assert "twice" in caught.value.message("en")


def test_duplicate_secret_key_masked_in_message() -> None:
    key = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"

    with pytest.raises(JsonTextError) as caught:
        parse_json_text(f'{{"{key}": 1, "{key}": 2}}')

    assert key not in caught.value.message("en")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_constants_rejected(constant: str) -> None:
    with pytest.raises(JsonTextError) as caught:
        parse_json_text(f'{{"a": {constant}}}')

    assert constant in caught.value.message("en")


def test_ten_thousand_levels_rejected() -> None:
    with pytest.raises(JsonTextError) as caught:
        parse_json_text("[" * 10_000 + "]" * 10_000)

    assert "nested deeper" in caught.value.message("en")


def test_depth_limit_boundary() -> None:
    assert parse_json_text("[" * 64 + "]" * 64, max_depth=64) == parse_json_text(
        "[" * 64 + "]" * 64
    )

    with pytest.raises(JsonTextError):
        parse_json_text("[" * 65 + "]" * 65, max_depth=64)


def test_size_limit_boundary() -> None:
    assert parse_json_text(b'"' + b"x" * 8 + b'"', max_bytes=10) == "x" * 8

    with pytest.raises(JsonTextError) as caught:
        parse_json_text(b'"' + b"x" * 9 + b'"', max_bytes=10)
    assert "11 bytes" in caught.value.message("en")


def test_not_json_names_line_and_column() -> None:
    with pytest.raises(JsonTextError) as caught:
        parse_json_text('{\n  "a": 1,\n  oops\n}')

    assert "line 3" in caught.value.message("en")
    assert "第 3 行" in caught.value.message("zh-CN")


def test_invalid_utf8_rejected() -> None:
    with pytest.raises(JsonTextError) as caught:
        parse_json_text(b'{"a": "\xc3\x28"}')

    assert "UTF-8" in caught.value.message("en")


def test_overlong_integer_rejected() -> None:
    with pytest.raises(JsonTextError):
        parse_json_text("1" * 5000)


def test_error_is_a_taskrun_error() -> None:
    assert issubclass(JsonTextError, TaskRunError)


def test_error_survives_pickling() -> None:
    with pytest.raises(JsonTextError) as caught:
        parse_json_text("{")

    restored = pickle.loads(pickle.dumps(caught.value))

    assert restored.message("en") == caught.value.message("en")
    assert restored.message("zh-CN") == caught.value.message("zh-CN")
