"""A SQLite file that is no database, or a damaged one, is named with the next step.

The CLI prints the path and what to do in its language. The API returns 503
``STORAGE_FILE_INVALID`` without the path.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from taskrun_center.storage import migrate
from taskrun_center.storage.engine import Database
from taskrun_center.web.app import create_app
from tests.runners.processes import run_in
from tests.web.conftest import SECRET_KEY

# Bytes kept of a migrated file. Its schema needs more pages, so SQLite reads it as damaged.
_KEPT_BYTES = 8192


def _text_file(folder: Path) -> Path:
    path = folder / "notes.db"
    path.write_text("shopping list: milk, bread\n" * 40)
    return path


def _damaged_file(folder: Path) -> Path:
    path = folder / "damaged.db"
    migrate.upgrade(f"sqlite:///{path}")
    with path.open("r+b") as handle:
        handle.truncate(_KEPT_BYTES)
    return path


@pytest.mark.parametrize(("make", "words"), [
    (_text_file, "不是数据库文件"),
    (_damaged_file, "已损坏"),
], ids=["text", "damaged"])
def test_cli_names_file_and_step(tmp_path: Path, make: Callable[[Path], Path],
                                      words: str) -> None:
    path = make(tmp_path)
    size = path.stat().st_size

    completed = run_in(tmp_path, "runs", "list", TASKRUN_DATABASE_URL=f"sqlite:///{path}")

    assert completed.returncode == 1
    assert f"SQLite 文件 {path} {words}" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert path.stat().st_size == size


def test_cli_in_english_says_how_to_start_anew(tmp_path: Path) -> None:
    path = _text_file(tmp_path)

    completed = run_in(tmp_path, "db", "upgrade", TASKRUN_DATABASE_URL=f"sqlite:///{path}",
                       TASKRUN_LANGUAGE="en")

    assert completed.returncode == 1
    assert f"the SQLite file {path} is not a database" in completed.stderr
    assert "name a file that does not exist yet" in completed.stderr


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """The application on a SQLite file that is no database."""
    database = Database(f"sqlite:///{_text_file(tmp_path)}")
    app = create_app(database, secret_key=SECRET_KEY)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    database.dispose()


@pytest.mark.parametrize(("language", "words"), [
    ("zh-CN", "不是数据库或已损坏"), ("en", "is not a database or is damaged"),
])
def test_api_answers_503_without_path(client: TestClient, tmp_path: Path, language: str,
                                      words: str) -> None:
    response = client.get("/api/v1/task-runs",
                          headers={"Authorization": "Bearer trc_invalidfile0123456789",
                                   "Accept-Language": language})

    assert response.status_code == 503
    assert "retry-after" not in response.headers
    body = response.json()
    assert body["message_code"] == "STORAGE_FILE_INVALID"
    assert words in body["message"]
    assert str(tmp_path) not in response.text


def test_other_programs_database_keeps_its_journal_mode(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE notes (body TEXT)")
    connection.close()
    header = path.read_bytes()[:100]

    completed = run_in(tmp_path, "runs", "list", TASKRUN_DATABASE_URL=f"sqlite:///{path}")

    assert completed.returncode == 1
    assert "taskrun db upgrade" in completed.stderr
    assert path.read_bytes()[:100] == header


def test_empty_file_stays_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()

    run_in(tmp_path, "runs", "list", TASKRUN_DATABASE_URL=f"sqlite:///{path}")

    assert path.stat().st_size == 0


def test_upgraded_file_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "new.db"

    completed = run_in(tmp_path, "db", "upgrade", TASKRUN_DATABASE_URL=f"sqlite:///{path}")

    assert completed.returncode == 0, completed.stderr
    with sqlite3.connect(path) as connection:
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
    connection.close()
    assert mode == "wal"
