"""A database that cannot be connected to raises ``DatabaseUnreachableError`` naming the cause.

The PostgreSQL cases run against the session's real server: a loopback port where nothing
listens, a role whose password is wrong, and a database that does not exist.
"""

from __future__ import annotations

import pickle
import socket
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text

from taskrun_center.errors import StorageError
from taskrun_center.storage import migrate
from taskrun_center.storage.engine import Database
from taskrun_center.storage.errors import (
    DatabaseUnreachableError,
    UnreachableReason,
    translate_errors,
)
from taskrun_center.storage.models import TaskRun
from tests.conftest import TEMPLATE_DATABASE
from tests.support.servers import PostgresServer
from tests.support.unreachable import (
    CASE_NAMES,
    EXPECTED_WORDS,
    MISSING_DATABASE,
    URL_PASSWORD,
    UnreachableCase,
    cases_by_name,
)

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def cases(postgres_server: PostgresServer) -> dict[str, UnreachableCase]:
    """The unreachable URLs on this session's server, by name."""
    return cases_by_name(postgres_server)


def _read_runs(url: str) -> DatabaseUnreachableError:
    """Read the runs of ``url`` as the CLI does and return the error it raised."""
    database = Database(url)
    try:
        with (
            pytest.raises(DatabaseUnreachableError) as caught,
            translate_errors("reading runs"),
            database.session() as session,
        ):
            session.execute(select(TaskRun.id)).all()
    finally:
        database.dispose()
    return caught.value


@pytest.mark.parametrize("name", CASE_NAMES)
def test_connect_failure_names_address_and_reason(
    cases: dict[str, UnreachableCase], name: str
) -> None:
    case = cases[name]

    error = _read_runs(case.url)

    assert isinstance(error, StorageError)
    assert error.code == "STORAGE_UNREACHABLE"
    assert error.operation == "reading runs"
    assert error.reason == case.reason
    assert error.database == case.address
    assert str(error).startswith(f"reading runs failed: cannot connect to the database "
                                 f"{case.address}: ")


@pytest.mark.parametrize("name", CASE_NAMES)
@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_message_names_failure_and_next_step(
    cases: dict[str, UnreachableCase], name: str, language: str
) -> None:
    case = cases[name]

    message = _read_runs(case.url).render(language)

    assert case.address in message
    for words in EXPECTED_WORDS[case.reason][language]:
        assert words in message


@pytest.mark.parametrize("name", CASE_NAMES)
def test_password_and_user_never_shown(cases: dict[str, UnreachableCase], name: str) -> None:
    error = _read_runs(cases[name].url)
    chain = "".join(traceback.format_exception(error))
    outputs = [str(error), repr(error), error.render("zh-CN"), error.render("en"),
               error.render_problem("en", show_address=False), chain]

    for output in outputs:
        assert URL_PASSWORD not in output
    assert "@" not in error.database


def test_write_transaction_raises_unreachable(cases: dict[str, UnreachableCase]) -> None:
    database = Database(cases["refused"].url)
    try:
        with (
            pytest.raises(DatabaseUnreachableError) as caught,
            database.transaction("create a user") as session,
        ):
            session.execute(text("SELECT 1"))
    finally:
        database.dispose()

    assert caught.value.operation == "create a user"
    assert caught.value.reason is UnreachableReason.REFUSED


def test_schema_revision_read_raises_unreachable(cases: dict[str, UnreachableCase]) -> None:
    with pytest.raises(DatabaseUnreachableError) as caught:
        migrate.current(cases["missing-database"].url)

    assert caught.value.operation == "read the schema revision"
    assert caught.value.reason is UnreachableReason.DATABASE_MISSING


def test_created_database_is_used_without_restart(postgres_server: PostgresServer) -> None:
    name = f"{MISSING_DATABASE}_later"
    database = Database(postgres_server.url(name))
    try:
        with (
            pytest.raises(DatabaseUnreachableError),
            database.transaction("start run") as session,
        ):
            session.execute(text("SELECT 1"))
        postgres_server.execute_autocommit(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DATABASE}")

        with database.transaction("start run") as session:
            count = session.execute(select(TaskRun.id)).all()
    finally:
        database.dispose()
        postgres_server.execute_autocommit(f"DROP DATABASE IF EXISTS {name}")

    assert count == []


def test_dropped_database_fails_pooled_reconnect(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    # The pooled connection fails its pre-ping once the database is gone, and opening the
    # replacement is the connect that fails.
    name = postgres_url.rsplit("/", 1)[1]
    database = Database(postgres_url)
    try:
        with database.transaction("start run") as session:
            session.execute(text("SELECT 1"))
        postgres_server.execute_autocommit(f"DROP DATABASE {name} WITH (FORCE)")

        with (
            pytest.raises(DatabaseUnreachableError) as caught,
            database.transaction("start run") as session,
        ):
            session.execute(text("SELECT 1"))
    finally:
        database.dispose()

    assert caught.value.reason is UnreachableReason.DATABASE_MISSING
    assert caught.value.database.endswith(f"/{name}")


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A loopback port that accepts connections and never sends a byte."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def test_unanswered_connect_times_out(silent_listener: int) -> None:
    # libpq and psycopg raise any connect_timeout below 2 seconds to 2.
    url = (f"postgresql+psycopg://u:{URL_PASSWORD}@127.0.0.1:{silent_listener}/taskrun"
           "?connect_timeout=2")

    error = _read_runs(url)

    assert error.reason is UnreachableReason.TIMED_OUT
    assert error.database == f"127.0.0.1:{silent_listener}/taskrun"
    assert "连接超时" in error.render("zh-CN")
    assert "the connection timed out" in error.render("en")


def test_connect_times_out_without_url_setting(silent_listener: int,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ``connect_timeout`` in the URL the engine's default ends the wait."""
    from taskrun_center.storage import engine

    # The smallest value libpq honours, so the test does not wait the default 10 seconds.
    monkeypatch.setattr(engine, "POSTGRES_CONNECT_TIMEOUT_SECONDS", 2)
    url = f"postgresql+psycopg://u:{URL_PASSWORD}@127.0.0.1:{silent_listener}/taskrun"

    error = _read_runs(url)

    assert error.reason is UnreachableReason.TIMED_OUT


def test_unknown_host_names_host(monkeypatch: pytest.MonkeyPatch) -> None:
    # psycopg resolves the host name itself with socket.getaddrinfo. Failing that call here
    # keeps the test off the network: no name server is asked.
    looked_up: list[str] = []

    def fail_lookup(host: str, *_args: object, **_kwargs: object) -> list[object]:
        looked_up.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail_lookup)

    error = _read_runs(f"postgresql+psycopg://u:{URL_PASSWORD}@db.example.invalid:5433/taskrun")

    assert looked_up == ["db.example.invalid"]
    assert error.reason is UnreachableReason.HOST_UNKNOWN
    assert error.database == "db.example.invalid:5433/taskrun"
    assert "主机名" in error.render("zh-CN")
    assert "Check the host name" in error.render("en")


@pytest.mark.parametrize("reason", list(UnreachableReason))
def test_every_reason_has_both_languages(reason: UnreachableReason) -> None:
    error = DatabaseUnreachableError("start run", "127.0.0.1:5432/taskrun", reason, "boom")

    chinese = error.render("zh-CN")
    english = error.render("en")

    assert chinese.startswith("start run失败：无法连接数据库 127.0.0.1:5432/taskrun：")
    assert english.startswith("start run failed: cannot connect to the database "
                              "127.0.0.1:5432/taskrun: ")
    assert "TASKRUN_DATABASE_URL" in chinese
    assert "TASKRUN_DATABASE_URL" in english


def test_address_is_left_out_for_clients() -> None:
    error = DatabaseUnreachableError("start run", "10.1.2.3:5432/taskrun", UnreachableReason.OTHER,
                                     'connection to server at "10.1.2.3" failed')

    for language in ("zh-CN", "en"):
        message = error.render_problem(language, show_address=False)
        assert "10.1.2.3" not in message
        assert "TASKRUN_DATABASE_URL" in message
    assert error.render_problem("en").startswith("Cannot connect to the database 10.1.2.3")


def test_error_survives_pickling() -> None:
    error = DatabaseUnreachableError("start run", "127.0.0.1:5432/taskrun",
                                     UnreachableReason.AUTHENTICATION_FAILED)

    copy = pickle.loads(pickle.dumps(error))

    assert isinstance(copy, DatabaseUnreachableError)
    assert copy.reason is UnreachableReason.AUTHENTICATION_FAILED
    assert str(copy) == str(error)


@pytest.mark.parametrize("folder_exists", [True, False], ids=["folder-as-file", "no-folder"])
def test_unopenable_sqlite_file_is_unreachable(tmp_path: Path, folder_exists: bool) -> None:
    path = tmp_path if folder_exists else tmp_path / "missing" / "taskrun.db"

    with pytest.raises(DatabaseUnreachableError) as caught:
        migrate.upgrade(f"sqlite:///{path}")

    error = caught.value
    assert error.reason is UnreachableReason.FILE_UNOPENABLE
    assert error.database == str(path)
    assert "无法打开 SQLite 数据库文件" in error.render("zh-CN")
    assert "its folder exists and is writable" in error.render("en")

