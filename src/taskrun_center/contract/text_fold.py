"""The folded view of a text that the detectors search, and the way back to the original.

Look-alike characters must not hide a secret or personal data from the detectors. The folded
view applies NFKC to each character (full-width ``１３８``, ``＠`` and ``：`` become ``138``,
``@`` and ``:``) and removes format characters (Unicode category Cf: zero-width space and
joiners, soft hyphen, bidirectional marks, byte order mark). ``FoldedText`` records where each
character of the view came from, so a span found in the view masks the original characters.

Folding one character at a time costs a Python step per character. So ``fold_quickly`` first
builds the view with whole-string NFKC, which runs in C. ``text_scan`` builds a ``FoldedText``
only when that view differs from the text and has a finding. Per-character NFKC
composes nothing across characters (``e`` plus a combining accent stays two characters), which no
detector pattern depends on because all of them look for ASCII text.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from functools import lru_cache

# Every code point of category Cf in Unicode 14.0, the database of Python 3.11; a test compares
# this class with unicodedata of the running Python.
FORMAT_CHARACTERS = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)
# Separates the strings of a document scanned at once; folding keeps it in place.
_SEPARATOR = "\x00"
_CONTROLS = (_SEPARATOR, "\n", "\r", "\t")
_FULL_WIDTH_PUNCTUATION = tuple(
    (char, unicodedata.normalize("NFKC", char)) for char in "，：；！？（）\u3000"
)


def fold_quickly(text: str) -> str | None:
    """Return the folded view of ``text`` built with whole-string NFKC, or None when unchanged.

    NFKC keeps the NUL separators in place, so a joined document folds in one call.
    """
    if text.isascii():
        return None
    printable = _is_printable(text)
    if printable and unicodedata.is_normalized("NFKC", text):
        return None
    folded = _normalize(text)
    if not printable:
        folded = FORMAT_CHARACTERS.sub("", folded)
    return folded if folded != text else None


def _normalize(text: str) -> str:
    # Chinese text is rarely NFKC only because of full-width punctuation. Replacing those marks
    # by their ASCII forms costs a fraction of NFKC and gives the same result, because these
    # marks never compose with a neighbour. NFKC still runs when anything else is left.
    for full_width, ascii_form in _FULL_WIDTH_PUNCTUATION:
        if full_width in text:
            text = text.replace(full_width, ascii_form)
    if unicodedata.is_normalized("NFKC", text):
        return text
    return unicodedata.normalize("NFKC", text)


def _is_printable(text: str) -> bool:
    # isprintable() runs in C and is False for every Cf character, but also for the separator
    # and line breaks, which are replaced first. A regular expression costs ten times as much.
    for control in _CONTROLS:
        if control in text:
            text = text.replace(control, " ")
    return text.isprintable()


def fold_text(text: str) -> str:
    """Return the folded view of a short text, such as an object key, in one piece."""
    if text.isascii():
        return text
    return FORMAT_CHARACTERS.sub("", unicodedata.normalize("NFKC", text))


@lru_cache(maxsize=8192)
def fold_character(char: str) -> str:
    """Return the folded form of one character: its NFKC form, or "" for a format character."""
    if unicodedata.category(char) == "Cf":
        return ""
    return unicodedata.normalize("NFKC", char)


class FoldedText:
    """A text folded one character at a time, with the original offsets of the view's parts.

    The view is cut into segments. A copied segment is a run of characters that folding kept,
    so offsets inside it map one to one. A replaced segment is the fold of one character, so
    any offset inside it maps to that whole character.
    """

    def __init__(self, text: str) -> None:
        self.view_starts: list[int] = []
        self.origin_starts: list[int] = []
        self.origin_ends: list[int] = []
        self.copied: list[bool] = []
        pieces: list[str] = []
        view_length = 0
        run_start = 0
        for index, char in enumerate(text):
            if char.isascii():
                continue
            folded = fold_character(char)
            if folded == char:
                continue
            view_length = self._add_copied(text, run_start, index, pieces, view_length)
            if folded:
                self._add_segment(view_length, index, index + 1, copied=False)
                pieces.append(folded)
                view_length += len(folded)
            run_start = index + 1
        self._add_copied(text, run_start, len(text), pieces, view_length)
        self.view = "".join(pieces)

    def _add_copied(
        self, text: str, start: int, end: int, pieces: list[str], view_length: int
    ) -> int:
        if start < end:
            self._add_segment(view_length, start, end, copied=True)
            pieces.append(text[start:end])
        return view_length + (end - start)

    def _add_segment(self, view_start: int, start: int, end: int, *, copied: bool) -> None:
        self.view_starts.append(view_start)
        self.origin_starts.append(start)
        self.origin_ends.append(end)
        self.copied.append(copied)

    def origin_start(self, position: int) -> int:
        """Return the original offset of the character at ``position`` of the view."""
        segment = bisect_right(self.view_starts, position) - 1
        if self.copied[segment]:
            return self.origin_starts[segment] + position - self.view_starts[segment]
        return self.origin_starts[segment]

    def origin_end(self, position: int) -> int:
        """Return the original offset just past the view's characters before ``position``."""
        segment = bisect_right(self.view_starts, position - 1) - 1
        if self.copied[segment]:
            return self.origin_starts[segment] + position - self.view_starts[segment]
        return self.origin_ends[segment]
