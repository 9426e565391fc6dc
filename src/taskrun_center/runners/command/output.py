"""A wrapped command's output: pass-through, the last lines kept, and metric lines parsed.

A command reports a metric by printing a line of this form on stdout or stderr::

    ::taskrun metric key=rows_copied value=1200 [unit=rows] [tone=success] [label="Rows copied"]

``key`` is snake_case; ``value`` becomes an integer, a decimal number, ``true``/``false``,
``null`` or else stays a string; ``tone`` is one of info, success, warning, danger. Values with
spaces are quoted as in a shell. A line that starts with ``::taskrun metric`` but breaks these
rules, or whose metric the summary contract rejects on its own (see ``metrics``), is listed as
ignored with its reason; the command's output is otherwise untouched.

Lines are made storable before they are kept or parsed: NUL and the other control characters
except tab become their visible Unicode control pictures (NUL is shown as ``\u2400``), and text
that is not valid UTF-8 becomes U+FFFD, because JSON columns reject NUL and unpaired surrogates.
"""

from __future__ import annotations

import re
import shlex
import threading
from collections import deque
from collections.abc import Sequence
from typing import IO, Any

from taskrun_center.contract import MASK, mask_text
from taskrun_center.runners.command.metrics import describe_rejected, metric_rules

METRIC_PREFIX = "::taskrun metric"
METRIC_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
METRIC_FIELDS = frozenset({"key", "value", "unit", "tone", "label"})
TONES = frozenset({"info", "success", "warning", "danger"})
_INTEGER = re.compile(r"^[+-]?\d{1,18}$")
_DECIMAL = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")
# Spelled as numbers, these parse to non-finite floats so that the contract rejects them.
_NON_FINITE = frozenset({"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity",
                         "-infinity"})
# C0 controls (except tab) and DEL map to the Control Pictures block, U+2400 to U+2421.
_CONTROL_PICTURES = {code: 0x2400 + code for code in range(0x20) if code != 0x09}
_CONTROL_PICTURES[0x7F] = 0x2421
_SURROGATES = re.compile("[\ud800-\udfff]")

# Kept per stream: 40 lines of at most 400 characters stay well inside the 64 KiB cap of an
# item's details even after JSON escaping.
DEFAULT_TAIL_LINES = 40
MAX_LINE_CHARS = 400
READ_CHUNK_BYTES = 65536


class MetricLineError(ValueError):
    """Raised when a ``::taskrun metric`` line does not follow the documented form."""


def storable_text(text: str) -> str:
    """Return ``text`` with NUL, other control characters and lone surrogates shown visibly."""
    text = text.translate(_CONTROL_PICTURES)
    return _SURROGATES.sub("\ufffd", text)


def parse_metric_line(line: str) -> dict[str, Any] | None:
    """Return the metric of a ``::taskrun metric`` line, or None for any other line.

    Raises:
        MetricLineError: the line starts with the prefix but is malformed.
    """
    stripped = line.strip()
    if not stripped.startswith(METRIC_PREFIX):
        return None
    try:
        tokens = shlex.split(stripped[len(METRIC_PREFIX) :])
    except ValueError as error:
        raise MetricLineError(f"unbalanced quotes: {error}") from None

    fields: dict[str, str] = {}
    for token in tokens:
        name, sep, value = token.partition("=")
        if not sep or name not in METRIC_FIELDS:
            raise MetricLineError(
                f"expected one of {sorted(METRIC_FIELDS)} as name=value, got {token!r}"
            )
        fields[name] = value
    key = fields.get("key", "")
    if not METRIC_KEY.match(key):
        raise MetricLineError(
            f"key {key!r} must be snake_case (a-z, 0-9, _), at most 64 characters"
        )
    if "value" not in fields:
        raise MetricLineError(f"metric {key!r} has no value=")
    tone = fields.get("tone")
    if tone is not None and tone not in TONES:
        raise MetricLineError(f"tone {tone!r} is not one of {sorted(TONES)}")

    metric: dict[str, Any] = {
        "key": key,
        "label": fields.get("label") or key,
        "value": _value(fields["value"]),
    }
    if fields.get("unit"):
        metric["unit"] = fields["unit"]
    if tone is not None:
        metric["tone"] = tone
    return metric


def _value(text: str) -> Any:
    if _INTEGER.match(text):
        return int(text)
    if _DECIMAL.match(text):
        return float(text)
    lowered = text.lower()
    if lowered in _NON_FINITE:
        return float(lowered)
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    return text


class OutputTail:
    """The last lines of one stream, each cut to ``MAX_LINE_CHARS``, plus the line count."""

    def __init__(self, max_lines: int = DEFAULT_TAIL_LINES) -> None:
        self._lines: deque[str] = deque(maxlen=max(0, max_lines))
        self.line_count = 0

    def add(self, line: str) -> None:
        """Keep ``line`` (without its line break)."""
        self.line_count += 1
        if len(line) > MAX_LINE_CHARS:
            line = line[: MAX_LINE_CHARS - 1] + "…"
        self._lines.append(line)

    def masked_lines(self) -> list[str]:
        """Return the kept lines with secrets and personal data masked."""
        return [mask_text(line).value for line in self._lines]


def without_secrets(line: str, secrets: Sequence[str]) -> str:
    """Replace each of ``secrets`` in ``line`` by ``MASK``; give the longest first.

    The longest go first, so that a secret that begins another one does not leave the rest of
    the other in place.
    """
    for secret in secrets:
        if secret in line:
            line = line.replace(secret, MASK)
    return line


class StreamPump:
    """Copy one pipe to a terminal stream as it arrives, keeping its tail and metric lines."""

    def __init__(
        self, source: IO[bytes], target: IO[bytes] | None, tail: OutputTail, name: str,
        known_secrets: Sequence[str] = (),
    ) -> None:
        self.tail = tail
        self.name = name
        # Values known to be secret (from the command line or the environment). A command may
        # print one bare, as ``echo $PGPASSWORD`` does, where no pattern can tell it from other
        # text. Each line loses them before it is cut and kept, and so does each metric read
        # from it.
        self._known_secrets = known_secrets
        # (place, metric) of every metric line the contract accepts on its own, in order.
        self.metrics: list[tuple[str, dict[str, Any]]] = []
        self.ignored_metric_lines: list[str] = []
        self._source = source
        self._target = target
        self._partial = b""
        self._thread = threading.Thread(target=self._pump, name="taskrun-exec-output", daemon=True)

    def start(self) -> StreamPump:
        """Start copying in a background thread; returns self."""
        self._thread.start()
        return self

    def join(self) -> None:
        """Wait until the pipe is closed and everything was copied."""
        self._thread.join()

    def _pump(self) -> None:
        read = getattr(self._source, "read1", self._source.read)
        while True:
            chunk = read(READ_CHUNK_BYTES)
            if not chunk:
                break
            if self._target is not None:
                self._target.write(chunk)
                self._target.flush()
            self._split(chunk)
        if self._partial:
            self._take_line(self._partial)
        self._source.close()

    def _split(self, chunk: bytes) -> None:
        data = self._partial + chunk
        *lines, self._partial = data.split(b"\n")
        for line in lines:
            self._take_line(line)
        # The tail keeps only the start of a line longer than the read chunk. The terminal
        # got the whole line.
        if len(self._partial) > READ_CHUNK_BYTES:
            self._take_line(self._partial)
            self._partial = b""

    def _take_line(self, raw: bytes) -> None:
        line = storable_text(raw.decode("utf-8", errors="replace").rstrip("\r"))
        self.tail.add(without_secrets(line, self._known_secrets))
        where = f"{self.name} line {self.tail.line_count}"
        try:
            # The rules judge what the command printed (a metric named "password" is rejected
            # whatever its value); what is kept loses the known secrets.
            metric = parse_metric_line(line)
        except MetricLineError as error:
            self.ignored_metric_lines.append(
                f"{where}: {without_secrets(str(error), self._known_secrets)}")
            return
        if metric is None:
            return
        rules = metric_rules(metric)
        metric = {key: without_secrets(value, self._known_secrets) if isinstance(value, str)
                  else value for key, value in metric.items()}
        if rules:
            self.ignored_metric_lines.append(describe_rejected(where, metric, rules))
        else:
            self.metrics.append((where, metric))
