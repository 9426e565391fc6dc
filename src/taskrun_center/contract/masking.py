"""Masking of secrets and personal data in free text and item JSON.

Used on everything stored outside the summary (item error messages, ``metrics_json``,
``details_json``) and on exception messages and command output. Only the secret span is replaced
by ``MASK``: the user and host of a URL, the name in ``password=…`` and the word ``Bearer`` stay
readable. Masked output contains nothing the guards reject, and masking it again changes nothing.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from taskrun_center.contract.detectors import MASK
from taskrun_center.contract.normalize import DEFAULT_MAX_DEPTH
from taskrun_center.contract.secret_keys import key_rejects_value
from taskrun_center.contract.text_scan import Finding, scan_text

# Joins the strings of one JSON value so that a single scan covers them; no pattern matches NUL.
_SEPARATOR = "\x00"


@dataclass(frozen=True, slots=True)
class MaskResult:
    """A masked value and the number of spans or values replaced."""

    value: Any
    count: int


# Scans after the first, in mask_text and mask_json. Each one needs a value that the previous
# masking brought within reach of its context or uncovered, which is rare, so a small bound is
# enough.
_MAX_EXTRA_PASSES = 3


def mask_text(text: str) -> MaskResult:
    """Replace every secret and personal-data span in ``text`` by ``MASK``; count them."""
    findings = scan_text(text) if text else []
    if not findings:
        return MaskResult(text, 0)
    masked, count = _apply(text, findings, 0, len(text)), len(findings)
    # Masking can shorten the text, which can bring a value within reach of the context that
    # makes it a secret (a mysql "-p" value within 256 characters of "-u"). A finding that
    # overlapped an earlier one was dropped, and once the earlier one is masked it can be found
    # ("password: hunter2x postgresql://app:pw@db" masks the URL password first). Scanning again
    # keeps masking idempotent, and costs a scan only when the text had a secret.
    for _ in range(_MAX_EXTRA_PASSES):
        again = scan_text(masked)
        if not again:
            break
        masked, count = _apply(masked, again, 0, len(masked)), count + len(again)
    return MaskResult(masked, count)


def mask_json(value: Any) -> MaskResult:
    """Mask a JSON value: values under secret keys become ``MASK`` and strings are masked.

    A key judged a secret by the key-name rule gets its whole value replaced when that value
    could carry the secret (a counter such as ``tokens_total: 5`` is kept). Other strings are
    masked as ``mask_text`` does, in one scan for the whole value. Keys themselves are kept as
    they are, so no two keys collide. Tuples become lists; other values are returned unchanged.
    A container nested deeper than ``DEFAULT_MAX_DEPTH`` levels is replaced by ``MASK`` whole,
    because it cannot be inspected without deep recursion.
    """
    collector = _StringCollector()
    collector.collect(value)
    masked_strings, count = _mask_many(collector.strings)
    rebuilt = _Rebuilder(iter(masked_strings)).rebuild(value)
    return MaskResult(rebuilt, count + collector.secret_values)


class _StringCollector:
    """Lists the strings of a value in the order ``_Rebuilder`` visits them."""

    def __init__(self) -> None:
        self.strings: list[str] = []
        self.secret_values = 0

    def collect(self, value: Any, depth: int = 0) -> None:
        if isinstance(value, str):
            self.strings.append(value)
        elif _is_container(value) and depth >= DEFAULT_MAX_DEPTH:
            self.secret_values += 1
        elif isinstance(value, Mapping):
            for key, item in value.items():
                if isinstance(key, str) and key_rejects_value(key, item):
                    self.secret_values += 1
                else:
                    self.collect(item, depth + 1)
        elif isinstance(value, list | tuple):
            for item in value:
                self.collect(item, depth + 1)


class _Rebuilder:
    """Copies a value, taking each string from the masked strings in collection order."""

    def __init__(self, masked: Iterator[str]) -> None:
        self.masked = masked

    def rebuild(self, value: Any, depth: int = 0) -> Any:
        if isinstance(value, str):
            return next(self.masked)
        if _is_container(value) and depth >= DEFAULT_MAX_DEPTH:
            return MASK
        if isinstance(value, Mapping):
            return {key: self.rebuild_member(key, item, depth) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.rebuild(item, depth + 1) for item in value]
        return value

    def rebuild_member(self, key: Any, value: Any, depth: int) -> Any:
        if isinstance(key, str) and key_rejects_value(key, value):
            return MASK
        return self.rebuild(value, depth + 1)


def _is_container(value: Any) -> bool:
    return isinstance(value, Mapping | list | tuple)


def _mask_many(
    strings: list[str], extra_passes: int = _MAX_EXTRA_PASSES
) -> tuple[list[str], int]:
    """Mask every string of ``strings`` with one scan; return them and the span count."""
    if not strings:
        return [], 0
    joined = _SEPARATOR.join(strings)
    findings = scan_text(joined)
    if not findings:
        return strings, 0

    starts = []
    offset = 0
    for text in strings:
        starts.append(offset)
        offset += len(text) + len(_SEPARATOR)

    by_string: dict[int, list[Finding]] = {}
    for finding in findings:
        by_string.setdefault(bisect_right(starts, finding.match_start) - 1, []).append(finding)
    masked = list(strings)
    for index, found in by_string.items():
        start = starts[index]
        masked[index] = _apply(joined, found, start, start + len(strings[index]))
    count = len(findings)
    if extra_passes > 0:
        # The strings that had findings are scanned again together, for the reasons given in
        # mask_text.
        indices = list(by_string)
        again, extra = _mask_many([masked[index] for index in indices], extra_passes - 1)
        for index, text in zip(indices, again, strict=True):
            masked[index] = text
        count += extra
    return masked, count


def _apply(text: str, findings: list[Finding], low: int, high: int) -> str:
    """Return ``text[low:high]`` with each finding's span replaced by ``MASK``."""
    pieces = []
    position = low
    for finding in sorted(findings, key=lambda found: found.start):
        pieces.append(text[position : finding.start])
        pieces.append(MASK)
        position = finding.end
    pieces.append(text[position:high])
    return "".join(pieces)
