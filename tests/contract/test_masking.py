"""Masking of free text and item JSON."""

from __future__ import annotations

import pytest

from taskrun_center.contract import MASK, find_sensitive, mask_json, mask_text
from tests.contract.samples import SENSITIVE_VALUES


def test_url_password_masked_user_and_host_kept() -> None:
    result = mask_text("connect failed: postgresql://app:s3cr3t@db.internal:5432/main")

    assert result.value == f"connect failed: postgresql://app:{MASK}@db.internal:5432/main"
    assert result.count == 1


def test_clean_text_unchanged() -> None:
    text = "同步完成：3 个实例，耗时 12 秒，host db.internal:5432"

    assert mask_text(text).value == text
    assert mask_text(text).count == 0


def test_several_kinds_counted() -> None:
    text = "user a@example.com phone 13812345678 password=hunter2 Bearer abcdef0123456789"

    result = mask_text(text)

    assert result.count == 4
    for secret in ("a@example.com", "13812345678", "hunter2", "abcdef0123456789"):
        assert secret not in result.value


def test_masking_twice_changes_nothing() -> None:
    once = mask_text("password=hunter2 postgresql://app:pw@db/x 13812345678").value

    twice = mask_text(once)

    assert twice.value == once
    assert twice.count == 0


def test_masked_text_passes_guards() -> None:
    masked = mask_text("password=hunter2 postgresql://app:pw@db/x 13812345678").value

    assert find_sensitive({"message": masked}) == []


def test_json_secret_key_value_masked_counter_kept() -> None:
    result = mask_json({"password": "hunter2", "tokens_total": 5, "nested": [{"api_key": "k"}]})

    assert result.value == {"password": MASK, "tokens_total": 5, "nested": [{"api_key": MASK}]}
    assert result.count == 2


def test_json_strings_masked_anywhere() -> None:
    result = mask_json({"log": ["ok", "mail ops@example.com"], "n": 1})

    assert result.value == {"log": ["ok", f"mail {MASK}"], "n": 1}
    assert result.count == 1


def test_json_nested_too_deep_masked_whole() -> None:
    deep: list[object] = []
    for _ in range(10_000):
        deep = [deep]

    result = mask_json({"data": deep, "note": "ok"})

    assert result.value["note"] == "ok"
    assert result.count == 1


@pytest.mark.parametrize(("rule", "kind", "text"), SENSITIVE_VALUES)
def test_every_sensitive_kind_masked(rule: str, kind: str, text: str) -> None:
    result = mask_text(text)

    assert result.count >= 1, kind
    assert text.rsplit(maxsplit=1)[-1] not in result.value, kind
    assert MASK in result.value


@pytest.mark.parametrize(
    "text",
    [
        "a" * 65536, "1" * 65536, "1 " * 32768, "@" * 65536, "a@" * 32768, "://" * 21845,
        "http://" + "u:" * 32000, "bearer " * 9000, "eyJ." * 16000, "key" * 21000,
        "AKIA" * 16000, "gh" * 32000, "1-" * 32768, "号1" * 32768, ("a." * 30 + "@b.") * 1000,
        "-px " * 16384, "密码" * 32768, "key=token " * 6500, "password " * 7000, "１" * 65536,
    ],
    ids=lambda text: repr(text[:8]),
)
def test_pathological_64k_text_has_no_finding(text: str) -> None:
    result = mask_text(text)

    assert result.count == 0
    assert result.value == text


def test_masking_twice_changes_nothing_more() -> None:
    # The long token keeps "-u app" more than 256 characters before "-p2222" until it is
    # masked; a single pass then left "-p2222" for the next one.
    text = "mysql -u app -pHunter2Hunter2 Bearer " + "a" * 300 + " ssh -p2222 deploy@host"

    once = mask_text(text)
    twice = mask_text(once.value)

    assert twice.value == once.value
    assert twice.count == 0
