"""Violations of the summary contract and the error that carries them.

A violation names the JSON path and a stable rule code, never the offending value, so that it can
be printed, logged and counted by the audit without leaking what it found.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from taskrun_center.errors import TaskRunError
from taskrun_center.i18n import DEFAULT_LANGUAGE, Text, normalize_language

# A key that reads as an identifier is written ``.key``; any other key is quoted in brackets.
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# Longer keys are cut in paths; a path names a place, it does not reproduce the data.
_MAX_KEY_SHOWN = 64

# One error carries at most this many violations; a summary of a few KiB stays far below it.
MAX_VIOLATIONS = 100

PathSegment = str | int
JsonPath = tuple[PathSegment, ...]


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: where (JSON path), which rule (stable dotted code), and why (zh/en)."""

    path: str
    rule: str
    message_zh: str
    message_en: str

    def message(self, language: str | None = None) -> str:
        """Return the message in ``language`` (Chinese unless English is asked for)."""
        return self.message_en if normalize_language(language) == "en" else self.message_zh

    def to_dict(self, language: str | None = None) -> dict[str, str]:
        """Return ``{"path", "rule", "message"}`` for JSON output."""
        return {"path": self.path, "rule": self.rule, "message": self.message(language)}


def make_violation(path: str, rule: str, text: Text, **params: object) -> Violation:
    """Build a violation whose messages are ``text`` rendered in both languages."""
    return Violation(
        path=path,
        rule=rule,
        message_zh=text.render("zh-CN", **params),
        message_en=text.render("en", **params),
    )


def format_path(segments: Iterable[PathSegment], root: str = "$") -> str:
    """Render path segments as ``$.common.metrics[2].tone``.

    A key that itself carries a secret or personal data is shown masked, because paths are printed
    and logged.
    """
    from taskrun_center.contract.masking import mask_text

    parts = [root]
    for segment in segments:
        if isinstance(segment, int):
            parts.append(f"[{segment}]")
            continue
        displayed = mask_text(segment[:_MAX_KEY_SHOWN]).value
        if len(segment) > _MAX_KEY_SHOWN:
            displayed += "…"
        if _PLAIN_KEY.match(displayed):
            parts.append(f".{displayed}")
        else:
            parts.append("[" + _quote(displayed) + "]")
    return "".join(parts)


def _quote(key: str) -> str:
    # JSON quoting also escapes control characters, so a key cannot move a terminal's cursor.
    return json.dumps(key, ensure_ascii=False)


class SummaryValidationError(TaskRunError):
    """Raised when a summary breaks the contract; carries every violation found.

    ``str()`` lists the rule and path of each violation and never a value.
    """

    code = "SUMMARY_INVALID"

    def __init__(
        self,
        violations: Sequence[Violation],
        *,
        task_key: str | None = None,
        omitted: int = 0,
    ) -> None:
        self.violations: list[Violation] = list(violations)
        self.task_key = task_key
        self.omitted = omitted
        super().__init__(self._describe())

    def __reduce__(self) -> tuple[Any, ...]:
        # Celery and multiprocessing pickle exceptions; the default rebuilds from str(self).
        return (_rebuild_error, (self.violations, self.task_key, self.omitted))

    @property
    def rules(self) -> list[str]:
        """Rule codes of the violations, in order, with repeats."""
        return [violation.rule for violation in self.violations]

    def message(self, language: str | None = DEFAULT_LANGUAGE) -> str:
        """Return a one-paragraph message listing each violation in ``language``."""
        headline = _HEADLINE if self.task_key else _HEADLINE_NO_KEY
        head = headline.render(
            language or DEFAULT_LANGUAGE,
            count=len(self.violations) + self.omitted,
            task_key=self.task_key,
        )
        lines = [head]
        lines.extend(f"  {v.path} [{v.rule}] {v.message(language)}" for v in self.violations)
        if self.omitted:
            lines.append(_OMITTED.render(language or DEFAULT_LANGUAGE, count=self.omitted))
        return "\n".join(lines)

    def to_dict(self, language: str | None = None) -> dict[str, Any]:
        """Return ``{"task_key", "violations": [...], "omitted"}`` for JSON output."""
        return {
            "task_key": self.task_key,
            "violations": [violation.to_dict(language) for violation in self.violations],
            "omitted": self.omitted,
        }

    def _describe(self) -> str:
        listed = "; ".join(f"{v.rule} at {v.path}" for v in self.violations)
        more = f"; and {self.omitted} more" if self.omitted else ""
        key = f" of task {self.task_key!r}" if self.task_key else ""
        return f"summary{key} is invalid: {listed}{more}"


def _rebuild_error(
    violations: list[Violation], task_key: str | None, omitted: int
) -> SummaryValidationError:
    return SummaryValidationError(violations, task_key=task_key, omitted=omitted)


def raise_if_any(violations: Sequence[Violation], *, task_key: str | None = None) -> None:
    """Raise SummaryValidationError when ``violations`` is not empty.

    Raises:
        SummaryValidationError: with at most MAX_VIOLATIONS violations; the rest are counted.
    """
    if violations:
        listed = list(violations[:MAX_VIOLATIONS])
        raise SummaryValidationError(
            listed, task_key=task_key, omitted=len(violations) - len(listed)
        )


_HEADLINE = Text(
    "任务 {task_key} 的运行摘要不符合约定，共 {count} 处问题：",
    "The summary of task {task_key} breaks the contract in {count} place(s):",
)
_HEADLINE_NO_KEY = Text(
    "运行摘要不符合约定，共 {count} 处问题：",
    "The summary breaks the contract in {count} place(s):",
)
_OMITTED = Text("  另有 {count} 处问题未列出。", "  {count} more not listed.")
