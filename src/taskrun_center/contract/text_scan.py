"""Running the detectors over a text: the findings that masking and the guards share.

CPython's regular expressions cost 10-20 ns per character when a pattern does not start with a
literal, so a pattern is never run over a whole text. It is tried only where a match can start:
just before an occurrence of one of its anchors in the lowercased text, or inside a run of
digits found with one ``bytes.translate``. ``benchmarks/bench_contract.py`` measures the cost.

The detectors search the folded view of a text (see ``text_fold``), so full-width characters and
zero-width characters hide nothing. Findings are reported at offsets of the original text.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from taskrun_center.contract.detectors import DETECTORS, Detector
from taskrun_center.contract.text_fold import FoldedText, fold_quickly


def _digit_table() -> bytes:
    # ASCII digits become "0" and the separators a phone or card number may contain stay as they
    # are. Every other byte, UTF-8 continuation bytes included, becomes "x".
    table = bytearray(b"x" * 256)
    table[ord("0") : ord("9") + 1] = b"0" * 10
    for separator in b" +-":
        table[separator] = separator
    return bytes(table)


_DIGIT_TABLE = _digit_table()
# Eleven digits, the shortest number a digit detector reports, with optional single separators.
_DIGIT_RUN = re.compile(rb"0(?:[ -]?0){10,}")
# A digit run may be preceded by "+86 " and followed by a check letter "X" and one more character
# that the pattern's look-ahead reads.
_DIGIT_WINDOW_BEFORE = 5
_DIGIT_WINDOW_AFTER = 2


# Candidate starts depend on a detector's anchors, reach before them and run characters only.
_StartsKey = tuple[tuple[str, ...], int, str | None]


@dataclass(frozen=True, slots=True)
class Finding:
    """A detector's match in a text; ``start``/``end`` delimit the span to mask."""

    detector: Detector
    match_start: int
    start: int
    end: int


def scan_text(text: str) -> list[Finding]:
    """Return the findings of all detectors in ``text``, without overlaps, in detector order.

    The detectors search the folded view of ``text``. The offsets of each finding are those of
    the original characters, and a span covers any format character inside it.
    """
    view = fold_quickly(text)
    if view is None:
        return _scan_view(text)
    # A text that folds rarely has a finding. The per-character view, slow to build, is built
    # only when the quick view has one, and is scanned again to map each finding back.
    if not _scan_view(view):
        return []
    folded = FoldedText(text)
    return [_to_origin(finding, folded) for finding in _scan_view(folded.view)]


def _to_origin(finding: Finding, folded: FoldedText) -> Finding:
    return Finding(
        finding.detector,
        folded.origin_start(finding.match_start),
        folded.origin_start(finding.start),
        folded.origin_end(finding.end),
    )


def _scan_view(text: str) -> list[Finding]:
    scanner = _Scanner(text)
    findings: list[Finding] = []
    claimed = _Spans()
    for detector in DETECTORS:
        for match in scanner.matches(detector):
            # Only the secret span is claimed: a match may reach across text that belongs to
            # another finding ("secret" … key on one line) without hiding it.
            start, end = match.span(detector.group)
            if not claimed.add(start, end):
                continue
            findings.append(Finding(detector, match.start(), start, end))
    return findings


class _Spans:
    """Disjoint spans kept sorted; ``add`` rejects a span that overlaps one already taken."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def add(self, start: int, end: int) -> bool:
        index = bisect_left(self.ends, start + 1)
        if index < len(self.starts) and self.starts[index] < end:
            return False
        self.starts.insert(index, start)
        self.ends.insert(index, end)
        return True


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.lowered = text.lower()
        # lower() changes the length of a few characters (İ). Anchor offsets would then not
        # line up with the text, so such a text is searched whole.
        self.aligned = len(self.lowered) == len(text)
        self._digit_windows: list[tuple[int, int]] | None = None
        self._anchor_found: dict[str, bool] = {}
        # Several detectors try the same starts, so they are kept by anchors, reach and run
        # characters. The starts that passed a name check are also kept by that check.
        self._starts: dict[_StartsKey, list[int]] = {}
        self._named_starts: dict[tuple[_StartsKey, Callable[[str, int], bool]], list[int]] = {}

    def matches(self, detector: Detector) -> Iterator[re.Match[str]]:
        """Yield the matches of ``detector`` that its ``accept`` check keeps."""
        if detector.digits or detector.whole_text or not self.aligned:
            for match in self._searched_matches(detector):
                if detector.accept is None or detector.accept(match):
                    yield match
        elif any(self._contains(anchor) for anchor in detector.anchors):
            yield from self._anchored_matches(detector)

    def _searched_matches(self, detector: Detector) -> Iterator[re.Match[str]]:
        if detector.digits:
            for low, high in self.digit_windows():
                yield from detector.pattern.finditer(self.text, low, high)
        elif detector.whole_text or any(self._contains(anchor) for anchor in detector.anchors):
            # Whole-text patterns, and anchored ones in a text whose lowercase form has another
            # length (see __init__).
            yield from detector.pattern.finditer(self.text)

    def _contains(self, anchor: str) -> bool:
        # Several detectors share anchors; each is searched for once per text.
        found = self._anchor_found.get(anchor)
        if found is None:
            found = self._anchor_found[anchor] = anchor in self.lowered
        return found

    def _anchored_matches(self, detector: Detector) -> Iterator[re.Match[str]]:
        covered_until = -1
        for start in self._candidate_starts(detector):
            if start < covered_until:
                continue
            match = detector.pattern.match(self.text, start)
            # A rejected match covers nothing, so "token: expired at noon, password: …" is
            # still tried at "password".
            if match is not None and (detector.accept is None or detector.accept(match)):
                covered_until = max(match.end(), start + 1)
                yield match

    def _candidate_starts(self, detector: Detector) -> list[int]:
        key = (detector.anchors, detector.reach_before, detector.run_before)
        known = self._starts.get(key)
        if known is None:
            known = self._starts[key] = self._find_candidate_starts(detector)
        check = detector.name_check
        if check is None:
            return known
        # The detectors of names share one check, so each start is judged once per text.
        named = self._named_starts.get((key, check))
        if named is None:
            text = self.text
            named = self._named_starts[key, check] = [
                start for start in known if check(text, start)
            ]
        return named

    def _find_candidate_starts(self, detector: Detector) -> list[int]:
        searched = self.lowered
        starts: set[int] = set()
        for anchor in detector.anchors:
            position = searched.find(anchor)
            while position != -1:
                if detector.run_before is not None:
                    starts.add(self._run_start(position, detector))
                else:
                    starts.update(range(max(position - detector.reach_before, 0), position + 1))
                position = searched.find(anchor, position + 1)
        return sorted(starts)

    def _run_start(self, position: int, detector: Detector) -> int:
        # rstrip walks back over the run in C, at most reach_before characters.
        window = self.text[max(position - detector.reach_before, 0) : position]
        return position - (len(window) - len(window.rstrip(detector.run_before or "")))

    def digit_windows(self) -> list[tuple[int, int]]:
        if self._digit_windows is None:
            self._digit_windows = self._find_digit_windows()
        return self._digit_windows

    def _find_digit_windows(self) -> list[tuple[int, int]]:
        raw = self.text.encode("utf-8", "surrogatepass")
        mapped = raw.translate(_DIGIT_TABLE)
        ascii_only = len(raw) == len(self.text)
        windows = []
        byte_offset = char_offset = 0
        for match in _DIGIT_RUN.finditer(mapped):
            start, end = match.span()
            if not ascii_only:
                # A run contains only ASCII, so its length is the same in bytes and characters.
                # Only its start needs converting, counted on from the previous run.
                char_offset += len(raw[byte_offset:start].decode("utf-8", "surrogatepass"))
                byte_offset = start
                start, end = char_offset, char_offset + (end - start)
            windows.append((start - _DIGIT_WINDOW_BEFORE, end + _DIGIT_WINDOW_AFTER))
        return _merge(windows, len(self.text))


def _merge(windows: list[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for first, last in sorted(windows):
        low, high = max(first, 0), min(last, length)
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged
