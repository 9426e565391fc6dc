"""Find secrets and personal data in JSON: the key-name rule and the value rules.

``find_sensitive`` reports each finding as a violation naming the JSON path and the kind, never
the value. See ``secret_keys`` for how keys are judged and ``detectors`` for the value patterns.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from typing import Any

from taskrun_center.contract.detectors import Detector
from taskrun_center.contract.normalize import DEFAULT_MAX_DEPTH
from taskrun_center.contract.secret_keys import key_rejects_value
from taskrun_center.contract.text_scan import scan_text
from taskrun_center.contract.violations import (
    JsonPath,
    SummaryValidationError,
    Violation,
    format_path,
    make_violation,
)
from taskrun_center.i18n import Text

# Joins the strings of a document so that one scan covers all of them. No pattern matches a NUL,
# and normalised JSON strings never contain one.
SEPARATOR = "\x00"


def find_sensitive(value: Any, *, path: str = "$") -> list[Violation]:
    """Return a violation for each secret-named key and each sensitive span in ``value``.

    Args:
        value: normalised JSON data (dicts, lists, strings and scalars).
        path: JSON path of ``value``, used as the root of every violation's path.

    Raises:
        SummaryValidationError: rule ``json.too_deep`` when ``value`` nests deeper than
            normalisation allows, because such data was never normalised.
    """
    collector = SensitiveScan(root=path)
    collector.visit(value, ())
    return collector.finish()


class SensitiveScan:
    """Collects key findings during a walk and searches all collected strings at the end."""

    def __init__(self, root: str = "$") -> None:
        self.root = root
        self.violations: list[Violation] = []
        self.paths: list[JsonPath] = []
        self.strings: list[str] = []

    def visit(self, value: Any, path: JsonPath) -> None:
        """Walk ``value``: judge each key with its value, and collect keys and strings.

        Raises:
            SummaryValidationError: rule ``json.too_deep`` beyond ``DEFAULT_MAX_DEPTH`` levels.
        """
        if len(path) > DEFAULT_MAX_DEPTH:
            violation = make_violation(format_path(path[:DEFAULT_MAX_DEPTH], self.root),
                                       "json.too_deep", _TOO_DEEP, limit=DEFAULT_MAX_DEPTH)
            raise SummaryValidationError([violation])
        if isinstance(value, str):
            self.add_string(value, path)
        elif isinstance(value, dict):
            for key, item in value.items():
                child = (*path, key)
                self.add_string(key, child)
                self.check_key(key, item, child)
                self.visit(item, child)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.visit(item, (*path, index))

    def check_key(self, key: str, value: Any, path: JsonPath) -> None:
        """Report ``key`` when it names a secret and ``value`` could carry one."""
        if key_rejects_value(key, value):
            self.violations.append(
                make_violation(format_path(path, self.root), "secret.key_name", _KEY_NAME)
            )

    def add_string(self, text: str, path: JsonPath) -> None:
        """Queue ``text`` for the value rules; findings are reported at ``path``."""
        if text:
            self.strings.append(text)
            self.paths.append(path)

    def finish(self) -> list[Violation]:
        """Run the value rules over every queued string and return all violations."""
        if self.strings:
            self.violations.extend(self._search_values())
        return self.violations

    def _search_values(self) -> Iterable[Violation]:
        joined = SEPARATOR.join(self.strings)
        starts = _string_starts(self.strings)
        for finding in scan_text(joined):
            index = bisect_right(starts, finding.match_start) - 1
            yield self._value_violation(finding.detector, self.paths[index])

    def _value_violation(self, detector: Detector, path: JsonPath) -> Violation:
        return make_violation(
            format_path(path, self.root),
            detector.rule,
            _VALUE,
            kind_zh=detector.label.zh,
            kind_en=detector.label.en,
        )


def _string_starts(strings: list[str]) -> list[int]:
    starts = []
    offset = 0
    for text in strings:
        starts.append(offset)
        offset += len(text) + len(SEPARATOR)
    return starts


_TOO_DEEP = Text(
    "嵌套超过 {limit} 层，无法检查；请先用 normalize_json 规范化。",
    "nested deeper than {limit} levels and cannot be checked; normalise it with normalize_json.",
)
_KEY_NAME = Text(
    "键名表明这是密码、令牌或密钥一类的机密，摘要中不允许存放；请删除该字段，或只记录数量、类型等描述。",
    "the key names a secret (password, token, key…), which a summary must not hold; remove the "
    "field, or record only a count or a type about it.",
)
_VALUE = Text(
    "值中含有敏感信息（{kind_zh}），摘要中不允许存放；请删除，或改存不含敏感信息的描述。",
    "the value contains sensitive data ({kind_en}), which a summary must not hold; remove it "
    "or store a description without it.",
)
