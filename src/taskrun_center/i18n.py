"""Bilingual user-facing text: Simplified Chinese by default, English on request.

Every part keeps its own messages next to its code as ``Text`` pairs, so there is no central
catalogue to edit. ``resolve_language`` turns a setting or an ``Accept-Language`` header into one of
the supported languages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Language = Literal["zh-CN", "en"]
SUPPORTED_LANGUAGES: tuple[Language, ...] = ("zh-CN", "en")
DEFAULT_LANGUAGE: Language = "zh-CN"


@dataclass(frozen=True, slots=True)
class Text:
    """A user-facing message in both languages; ``str.format`` placeholders allowed."""

    zh: str
    en: str

    def render(self, language: str = DEFAULT_LANGUAGE, /, **params: object) -> str:
        """Format the message in ``language`` (anything not English falls back to Chinese)."""
        template = self.en if normalize_language(language) == "en" else self.zh
        return template.format(**params) if params else template


def normalize_language(value: str | None) -> Language:
    """Map a language tag such as ``en-US``, ``zh``, ``zh_CN`` to a supported language."""
    return match_language(value or "") or DEFAULT_LANGUAGE


def match_language(tag: str) -> Language | None:
    """Return the supported language that ``tag`` names (``en-GB``, ``zh_CN``…), else None."""
    tag = tag.strip().replace("_", "-").lower()
    if tag == "en" or tag.startswith("en-"):
        return "en"
    if tag == "zh" or tag.startswith("zh-"):
        return "zh-CN"
    return None


def resolve_language(accept_language: str | None, default: str | None = None) -> Language:
    """Pick the language from an ``Accept-Language`` header, else ``default``.

    The first supported tag by quality wins; a header naming neither Chinese nor English
    falls back to ``default``.
    """
    candidates: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        # A quality of 0 marks a language as not acceptable.
        if tag and quality > 0:
            candidates.append((-quality, position, tag.lower()))
    for _, _, tag in sorted(candidates):
        matched = match_language(tag)
        if matched is not None:
            return matched
    return normalize_language(default)
