"""Parse the short durations that maintenance options take, such as ``30d``, ``12h`` or ``90m``."""

from __future__ import annotations

import re
from datetime import timedelta

from taskrun_center.errors import ConfigurationError

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}
_PATTERN = re.compile(r"(\d{1,9})\s*([smhdw])")
# Far beyond any retention anyone sets, and small enough that ``now - duration`` cannot overflow.
MAX_DURATION = timedelta(days=36_500)


def parse_duration(text: str, *, option: str = "duration") -> timedelta:
    """Parse ``text`` as a whole number followed by s, m, h, d or w (``90m``, ``30d``).

    Raises:
        ConfigurationError: the text is not such a duration, is zero or exceeds 100 years; the
            message names ``option``.
    """
    match = _PATTERN.fullmatch(text.strip().lower())
    if match is None:
        raise ConfigurationError(
            f"{option}: invalid duration {text!r}; expected a number and a unit s, m, h, d or w, "
            "for example 30d, 12h or 90m"
        )

    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds == 0:
        raise ConfigurationError(f"{option}: the duration must be greater than zero, got {text!r}")
    if seconds > MAX_DURATION.total_seconds():
        raise ConfigurationError(f"{option}: the duration {text!r} exceeds 100 years")
    return timedelta(seconds=seconds)


def format_duration(duration: timedelta) -> str:
    """Return ``duration`` in the largest unit that divides it, such as ``30d`` or ``90m``."""
    seconds = int(duration.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
