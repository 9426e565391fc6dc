"""The value rule's message reads correctly for every kind of sensitive data it names."""

from __future__ import annotations

import pytest

from taskrun_center.contract import find_sensitive
from taskrun_center.contract.detectors import DETECTORS
from taskrun_center.contract.sensitive import _VALUE


def test_email_message_in_both_languages() -> None:
    [violation] = find_sensitive({"note": "mail zhang.san@example.com"}, path="$.details")

    assert violation.rule == "personal_data.email"
    assert "a e-mail" not in violation.message_en
    assert "the value contains sensitive data (e-mail address)" in violation.message_en
    assert "值中含有敏感信息（电子邮件地址）" in violation.message_zh


@pytest.mark.parametrize("label", [detector.label.en for detector in DETECTORS])
def test_no_article_before_kind(label: str) -> None:
    message = _VALUE.render("en", kind_zh="", kind_en=label)

    assert f"a {label}" not in message
    assert f"({label})" in message
