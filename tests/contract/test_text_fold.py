"""Look-alike characters: the folded view the detectors search and the way back to the text."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from taskrun_center.contract import (
    MASK,
    SummaryValidationError,
    check_summary,
    find_sensitive,
    mask_json,
    mask_text,
)
from taskrun_center.contract.text_fold import FORMAT_CHARACTERS, FoldedText, fold_quickly
from tests.contract.factories import envelope


def test_format_class_matches_unicode_database() -> None:
    expected = {
        code for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code)) == "Cf"
    }

    matched = {code for code in expected if FORMAT_CHARACTERS.fullmatch(chr(code))}

    assert matched == expected
    assert FORMAT_CHARACTERS.search("普通文本 plain text，：") is None


def test_fold_quickly_leaves_plain_text() -> None:
    assert fold_quickly("ascii only\x00second") is None
    assert fold_quickly("同步完成 3 个实例") is None


def test_fold_quickly_keeps_separators() -> None:
    assert fold_quickly("ａ\x00b\u200bc") == "a\x00bc"


def test_folded_text_maps_view_back() -> None:
    text = "x１\u200b２ﬁy"

    folded = FoldedText(text)

    assert folded.view == "x12fiy"
    assert folded.origin_start(1) == 1
    assert folded.origin_start(2) == 3
    assert folded.origin_end(3) == 4
    assert folded.origin_start(4) == 4
    assert folded.origin_end(4) == 5
    assert folded.origin_end(6) == 6


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tel １３８１２３４５６７８ ok", f"tel {MASK} ok"),
        ("tel 1\u200b3812345678 ok", f"tel {MASK} ok"),
        ("mail bob＠example.com。", f"mail {MASK}。"),
        ("\u200b密码：hunter2hunter2，完成", f"\u200b密码：{MASK}，完成"),
        ("ｐａｓｓｗｏｒｄ＝hunter2 end", f"ｐａｓｓｗｏｒｄ＝{MASK} end"),
    ],
)
def test_masking_replaces_original_characters(text: str, expected: str) -> None:
    result = mask_text(text)

    assert result.value == expected
    assert result.count == 1
    assert mask_text(result.value).count == 0


def test_masking_in_json_maps_each_string() -> None:
    value = {"a": "ok，完成", "b": ["联系 １３８１２３４５６７８", "bob＠example.com"]}

    result = mask_json(value)

    assert result.value == {"a": "ok，完成", "b": [f"联系 {MASK}", MASK]}
    assert result.count == 2


@pytest.mark.parametrize(
    "key", ["pass\u200bword", "ｐａｓｓｗｏｒｄ", "api\u200d_key", "密\u200b码"]
)
def test_secret_key_with_look_alikes_rejected(key: str) -> None:
    violations = find_sensitive({key: "hunter2hunter2"})

    assert [violation.rule for violation in violations] == ["secret.key_name"]
    assert mask_json({key: "hunter2hunter2"}).value == {key: MASK}


def test_look_alike_key_rejected_by_check_summary() -> None:
    data = envelope(ext__data={"pass\u200bword": "hunter2hunter2"})

    with pytest.raises(SummaryValidationError) as caught:
        check_summary(data)

    rules = [violation.rule for violation in caught.value.violations]
    assert rules == ["secret.key_name"]


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("１３８１２３４５６７８", "personal_data.mobile"),
        ("1\u200b3812345678", "personal_data.mobile"),
        ("bob＠example.com", "personal_data.email"),
        ("--password hunter2hunter2", "secret.value"),
        ("--password=hunter2hunter2", "secret.value"),
        ("密码：hunter2hunter2", "secret.value"),
        ("密码=hunter2hunter2", "secret.value"),
        ("口令: hunter2hunter2", "secret.value"),
        ("passwd hunter2hunter2", "secret.value"),
        ("key=password value=hunter2", "secret.value"),
        ("mysql -u root -pHunter2Hunter2", "secret.value"),
    ],
)
def test_find_sensitive_reports_rule(text: str, rule: str) -> None:
    violations = find_sensitive({"note": text})

    assert [violation.rule for violation in violations] == [rule]
    assert violations[0].path == "$.note"
