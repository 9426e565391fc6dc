"""The API docs list every message_code the error mapping can return, with its status."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from taskrun_center.errors import StorageError, TaskRunError
from taskrun_center.storage import errors as storage_errors
from taskrun_center.web import errors as web_errors
from taskrun_center.web.errors import API_MESSAGE_CODES, WebError

DOCS = Path(__file__).resolve().parents[2] / "docs"
_CODE_ROW = re.compile(r"^\| (\d{3}) \| `([A-Z_]+)` \|", re.MULTILINE)


def _subclasses(root: type[TaskRunError]) -> list[type[TaskRunError]]:
    found = []
    for subclass in root.__subclasses__():
        found.append(subclass)
        found.extend(_subclasses(subclass))
    return found


def test_catalogue_has_every_web_error() -> None:
    for error_class in _subclasses(WebError):
        assert API_MESSAGE_CODES.get(error_class.code) == error_class.status_code, error_class


def test_catalogue_has_every_storage_error() -> None:
    assert storage_errors.DatabaseLockedError in _subclasses(StorageError)

    for error_class in [StorageError, *_subclasses(StorageError)]:
        assert API_MESSAGE_CODES.get(error_class.code) == 503, error_class


def test_catalogue_has_every_mapped_error() -> None:
    for error_class, status in web_errors._STATUS_BY_ERROR:
        assert API_MESSAGE_CODES.get(error_class.code) == status, error_class


@pytest.mark.parametrize("page", ["api.md", "api.zh-CN.md"])
def test_docs_table_matches_catalogue(page: str) -> None:
    rows = _CODE_ROW.findall((DOCS / page).read_text(encoding="utf-8"))
    documented = {code: int(status) for status, code in rows}

    assert len(rows) == len(documented), "a code is listed twice"
    assert documented == API_MESSAGE_CODES
