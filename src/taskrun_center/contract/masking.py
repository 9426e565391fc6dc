"""Masking of secrets and personal data in free text and item JSON.

Used on everything stored outside the summary (item error messages, ``metrics_json``,
``details_json``) and on exception messages and command output. Only the secret span is replaced
by ``MASK``: the user and host of a URL, the name in ``password=…`` and the word ``Bearer`` stay
readable. Masked output contains nothing the guards reject, and masking it again changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from taskrun_center.contract.detectors import MASK
from taskrun_center.contract.secret_keys import key_rejects_value
from taskrun_center.contract.text_scan import scan_text


@dataclass(frozen=True, slots=True)
class MaskResult:
    """A masked value and the number of spans or values replaced."""

    value: Any
    count: int


def mask_text(text: str) -> MaskResult:
    """Replace every secret and personal-data span in ``text`` by ``MASK``; count them."""
    findings = scan_text(text) if text else []
    if not findings:
        return MaskResult(text, 0)

    pieces = []
    position = 0
    for finding in sorted(findings, key=lambda found: found.start):
        pieces.append(text[position : finding.start])
        pieces.append(MASK)
        position = finding.end
    pieces.append(text[position:])
    return MaskResult("".join(pieces), len(findings))


def mask_json(value: Any) -> MaskResult:
    """Mask a JSON value: values under secret keys become ``MASK`` and strings are masked.

    A key judged a secret by the key-name rule gets its whole value replaced when that value
    could carry the secret (a counter such as ``tokens_total: 5`` is kept). Other strings go
    through ``mask_text``. Keys themselves are kept as they are, so no two keys collide.
    Tuples become lists; other non-container values are returned unchanged.
    """
    masker = _JsonMasker()
    return MaskResult(masker.walk(value), masker.count)


class _JsonMasker:
    def __init__(self) -> None:
        self.count = 0

    def walk(self, value: Any) -> Any:
        if isinstance(value, str):
            result = mask_text(value)
            self.count += result.count
            return result.value
        if isinstance(value, Mapping):
            return {key: self.walk_member(key, item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.walk(item) for item in value]
        return value

    def walk_member(self, key: Any, value: Any) -> Any:
        if isinstance(key, str) and key_rejects_value(key, value):
            self.count += 1
            return MASK
        return self.walk(value)
