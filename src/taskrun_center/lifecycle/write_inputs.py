"""Check and clean the values that callers pass to the write service.

Lengths follow the column sizes in ``storage.models``. SQLite would store a longer value and
PostgreSQL would reject it, so checking here gives the same clear error on both.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from taskrun_center.contract.masking import mask_json, mask_text
from taskrun_center.contract.text_scan import scan_text
from taskrun_center.errors import DuplicateItemError, InvalidValueError
from taskrun_center.lifecycle.item_data import clean_text
from taskrun_center.lifecycle.query_reasons import fill
from taskrun_center.lifecycle.value_reasons import (
    CONTAINS_SECRET,
    CONTROL_CHARACTER,
    EMPTY,
    NOT_STARTING_STATUS,
    NOT_TRIGGER_SOURCE,
    NOT_UUID,
    NUL_CHARACTER,
    TOO_LONG,
)
from taskrun_center.states import ItemStatus, RunStatus, TriggerSource
from taskrun_center.storage.types import utcnow

logger = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ItemSpec:
    """An item to declare with ``init_items``."""

    item_type: str
    item_key: str
    item_name: str | None = None



def trigger_source_value(value: TriggerSource | str) -> str:
    """Return the stored form of a trigger source.

    Raises:
        InvalidValueError: ``value`` is not a trigger source.
    """
    try:
        return TriggerSource(value).value
    except ValueError:
        choices = ", ".join(source.value for source in TriggerSource)
        raise InvalidValueError(
            "trigger_source", fill(NOT_TRIGGER_SOURCE, value=repr(value), allowed=choices)
        ) from None


def start_status_value(status: RunStatus | str) -> str:
    """Return the stored form of a start status (running or pending).

    Raises:
        InvalidValueError: ``status`` is another status.
    """
    if status not in (RunStatus.RUNNING, RunStatus.PENDING):
        raise InvalidValueError("status", fill(NOT_STARTING_STATUS, status=repr(status)))
    return RunStatus(status).value


def run_id_value(value: str | None) -> str:
    """Return ``value`` in canonical UUID form, or a new random UUID when it is None.

    Raises:
        InvalidValueError: ``value`` is not a UUID.
    """
    if value is None:
        return str(uuid.uuid4())
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        raise InvalidValueError("run_id", fill(NOT_UUID, value=repr(value))) from None


def check_text(field: str, value: str, max_chars: int) -> None:
    """Reject an empty ``value`` and everything ``check_optional`` rejects.

    Raises:
        InvalidValueError: names ``field``.
    """
    if not value or not value.strip():
        raise InvalidValueError(field, EMPTY)
    check_optional(field, value, max_chars)


def check_optional(field: str, value: str | None, max_chars: int) -> None:
    """Reject a ``value`` longer than ``max_chars`` or containing a NUL character.

    Raises:
        InvalidValueError: names ``field``.
    """
    if value is None:
        return
    if len(value) > max_chars:
        raise InvalidValueError(field, fill(TOO_LONG, length=len(value), maximum=max_chars))
    if "\x00" in value:
        raise InvalidValueError(field, NUL_CHARACTER)


def reject_control_characters(field: str, value: str) -> None:
    """Reject a label such as a task category that contains control characters (tab, ESC, …).

    A category is shown in the console and filtered on as typed. A control character there is
    invisible, or it moves the cursor of a terminal that prints it.

    Raises:
        InvalidValueError: names ``field``.
    """
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise InvalidValueError(field, CONTROL_CHARACTER)


def reject_secrets(field: str, values: Sequence[str]) -> None:
    """Reject identifiers (item keys, a task category) that contain a secret.

    Display names are masked instead, but an identifier is matched, joined and shown as it is
    stored, and two keys masked alike would collide. Personal-data rules (phone, card and ID
    numbers) do not apply, because such numbers are common record ids. One scan covers the
    whole batch; only values it changes are scanned again to tell secrets from personal data.

    Raises:
        InvalidValueError: names ``field`` and the rule, never the value.
    """
    masked = mask_json(list(values)).value
    for value, masked_value in zip(values, masked, strict=True):
        if value == masked_value:
            continue
        rules = {finding.detector.rule for finding in scan_text(value)}
        secrets = sorted(rule for rule in rules if not rule.startswith("personal_data."))
        if secrets:
            raise InvalidValueError(field, fill(CONTAINS_SECRET, rules=", ".join(secrets)))


def cut_name(name: str) -> str:
    """Return a display name with its secrets masked, cut to its 255-character column with …."""
    return _fit_name(mask_text(clean_text(name)).value)


def _fit_name(name: str) -> str:
    # A display name may be longer than its column; it is shortened rather than rejected. It is
    # masked before the cut, so that a cut can never leave half a secret that no rule matches.
    return name if len(name) <= 255 else name[:254] + "…"


def item_rows(run_id: str, items: Sequence[ItemSpec]) -> list[dict[str, Any]]:
    """Return the ``task_run_items`` rows that declare ``items`` as pending.

    Raises:
        InvalidValueError: an item type or key is empty or too long.
    """
    now = utcnow()
    # One scan for every name of the batch: masking them one by one costs 30 times as much.
    masked = mask_json([clean_text(item.item_name) if item.item_name else None
                        for item in items])
    if masked.count:
        logger.warning("item_names_masked", run_id=run_id, secrets=masked.count)
    names = masked.value
    rows = []
    reject_secrets("item_key", [item.item_key for item in items])
    for item, name in zip(items, names, strict=True):
        check_text("item_type", item.item_type, 64)
        check_text("item_key", item.item_key, 255)
        rows.append(
            {
                "run_id": run_id,
                "item_type": item.item_type,
                "item_key": item.item_key,
                "item_name": _fit_name(name) if name else None,
                "status": ItemStatus.PENDING.value,
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


def reject_repeated_keys(run_id: str, rows: list[dict[str, Any]]) -> None:
    """Raise when two rows share an (item_type, item_key) pair.

    Raises:
        DuplicateItemError: lists the repeated pairs.
    """
    seen: set[tuple[str, str]] = set()
    repeated: list[tuple[str, str]] = []
    for row in rows:
        pair = (row["item_type"], row["item_key"])
        if pair in seen:
            repeated.append(pair)
        seen.add(pair)
    if repeated:
        raise DuplicateItemError(run_id, repeated)

