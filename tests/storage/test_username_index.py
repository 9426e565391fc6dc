"""The unique index on lower(username) (revision 0006) and the user creation that relies on it.

Every test runs on SQLite and on PostgreSQL unless its name says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from taskrun_center.cli.app import app
from taskrun_center.errors import StorageError
from taskrun_center.storage import migrate
from taskrun_center.storage.engine import Database, create_engine_for
from taskrun_center.web.auth import accounts
from taskrun_center.web.auth.accounts import (
    UserExistsError,
    create_user,
    ensure_initial_admin,
)

INDEX = "uq_users_lower_username"
BEFORE_INDEX = "0005"
INSERT_USER = text(
    "INSERT INTO users (username, password_hash, role, is_active, created_at, updated_at) "
    "VALUES (:username, 'not-a-hash', 'viewer', :active, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
)

runner = CliRunner()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A plain engine on the test database, for SQL that bypasses the application."""
    created = create_engine_for(database_url)
    yield created
    created.dispose()


def insert_user(engine: Engine, username: str) -> None:
    """Insert a user with raw SQL in its own committed transaction."""
    with engine.begin() as connection:
        connection.execute(INSERT_USER, {"username": username, "active": True})


def usernames(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(text("SELECT username FROM users ORDER BY id")).scalars())


def has_index(engine: Engine) -> bool:
    # SQLAlchemy's SQLite inspector skips expression indexes, so read the catalogues directly.
    query = (
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name = :name"
        if engine.dialect.name == "sqlite"
        else "SELECT indexname FROM pg_indexes WHERE indexname = :name"
    )
    with engine.connect() as connection:
        return connection.execute(text(query), {"name": INDEX}).first() is not None


def test_index_exists_at_head(database_url: str, engine: Engine) -> None:
    assert migrate.current(database_url) == migrate.head()
    assert has_index(engine)


def test_index_rejects_case_duplicate_raw_sql(engine: Engine) -> None:
    insert_user(engine, "ops")

    with pytest.raises(IntegrityError):
        insert_user(engine, "Ops")
    with pytest.raises(IntegrityError):
        insert_user(engine, "OPS")
    insert_user(engine, "ops2")

    assert usernames(engine) == ["ops", "ops2"]


def test_upgrade_with_collisions_stays_at_0005(database_url: str, engine: Engine) -> None:
    migrate.downgrade(database_url, BEFORE_INDEX)
    for username in ("Ops", "ops", "admin", "ADMIN", "Admin", "alice"):
        insert_user(engine, username)

    with pytest.raises(StorageError) as raised:
        migrate.upgrade(database_url)

    message = str(raised.value)
    assert "'Ops', 'ops'" in message
    assert "'ADMIN', 'Admin', 'admin'" in message
    assert "alice" not in message
    assert "taskrun db upgrade again" in message
    assert migrate.current(database_url) == BEFORE_INDEX
    assert not has_index(engine)


def test_upgrade_from_0004_with_collisions_stays_at_0004(
    database_url: str, engine: Engine
) -> None:
    migrate.downgrade(database_url, "0004")
    insert_user(engine, "Ops")
    insert_user(engine, "ops")

    with pytest.raises(StorageError):
        migrate.upgrade(database_url)

    # One upgrade run is one transaction, so revision 0005 is rolled back as well.
    assert migrate.current(database_url) == "0004"


def test_collision_message_counts_unlisted_groups(database_url: str, engine: Engine) -> None:
    migrate.downgrade(database_url, BEFORE_INDEX)
    for number in range(23):
        insert_user(engine, f"user{number:02d}")
        insert_user(engine, f"USER{number:02d}")

    with pytest.raises(StorageError) as raised:
        migrate.upgrade(database_url)

    message = str(raised.value)
    assert "'USER19', 'user19'" in message
    assert "user20" not in message
    assert "and 3 more groups" in message


def test_collision_message_in_chinese(database_url: str, engine: Engine) -> None:
    migrate.downgrade(database_url, BEFORE_INDEX)
    insert_user(engine, "Ops")
    insert_user(engine, "ops")

    with pytest.raises(StorageError) as raised:
        migrate.upgrade(database_url)

    render = getattr(raised.value, "render", None)
    assert render is not None
    chinese = render("zh-CN")
    assert "'Ops'、'ops'" in chinese
    assert "只差大小写" in chinese
    assert "taskrun db upgrade" in chinese


def test_upgrade_after_rename_succeeds(database_url: str, engine: Engine) -> None:
    migrate.downgrade(database_url, BEFORE_INDEX)
    insert_user(engine, "Ops")
    insert_user(engine, "ops")
    with pytest.raises(StorageError):
        migrate.upgrade(database_url)

    with engine.begin() as connection:
        connection.execute(text("UPDATE users SET username = 'ops-old' WHERE username = 'Ops'"))
    migrate.upgrade(database_url)

    assert migrate.current(database_url) == migrate.head()
    assert has_index(engine)


def test_downgrade_then_upgrade_round_trip(database_url: str, engine: Engine) -> None:
    migrate.downgrade(database_url, BEFORE_INDEX)

    assert not has_index(engine)
    insert_user(engine, "ops")
    insert_user(engine, "Ops")  # accepted: only the exact-case constraint is left
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM users WHERE username = 'Ops'"))

    migrate.upgrade(database_url)

    assert has_index(engine)
    with pytest.raises(IntegrityError):
        insert_user(engine, "Ops")


@pytest.mark.parametrize(("language", "advice"), [
    ("en", "taskrun db upgrade again"),
    ("zh", "然后再次运行 taskrun db upgrade"),
])
def test_db_upgrade_cli_names_collisions_sqlite(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, language: str, advice: str
) -> None:
    monkeypatch.setenv("TASKRUN_LANGUAGE", language)
    migrate.downgrade(sqlite_url, BEFORE_INDEX)
    engine = create_engine_for(sqlite_url)
    try:
        insert_user(engine, "Ops")
        insert_user(engine, "ops")
    finally:
        engine.dispose()

    result = runner.invoke(app, ["db", "upgrade", "--database-url", sqlite_url])

    assert result.exit_code == 1, result.output
    assert "'Ops'" in result.output
    assert "'ops'" in result.output
    assert advice in result.output.replace("\n", "")
    assert isinstance(result.exception, SystemExit)  # no uncaught error
    assert migrate.current(sqlite_url) == BEFORE_INDEX


def _precheck_losing_race(engine: Engine, winner: str) -> Callable[[Session, str], None]:
    """Build a pre-check that lets another transaction store ``winner``, then reports it free."""

    def find_nothing(_session: Session, _username: str) -> None:
        insert_user(engine, winner)

    return find_nothing


@pytest.mark.parametrize(("winner", "loser"), [("ops", "Ops"), ("ops", "ops")])
def test_create_user_race_raises_user_exists(
    database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch, winner: str, loser: str
) -> None:
    monkeypatch.setattr(accounts, "_find_username_ignoring_case",
                        _precheck_losing_race(engine, winner))
    database = Database(database_url)
    try:
        with pytest.raises(UserExistsError) as raised, database.transaction() as session:
            create_user(session, loser, "long-enough-1")
    finally:
        database.dispose()

    assert raised.value.username == loser
    assert raised.value.existing == winner
    assert isinstance(raised.value.__cause__, IntegrityError)
    assert usernames(engine) == [winner]


def test_create_user_race_keeps_transaction_usable(
    database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(accounts, "_find_username_ignoring_case",
                        _precheck_losing_race(engine, "ops"))
    database = Database(database_url)
    try:
        with database.transaction() as session:
            with pytest.raises(UserExistsError):
                create_user(session, "Ops", "long-enough-1")
            monkeypatch.setattr(accounts, "_find_username_ignoring_case",
                                lambda _session, _username: None)
            create_user(session, "dev", "long-enough-1")
    finally:
        database.dispose()

    assert usernames(engine) == ["ops", "dev"]


def test_users_create_cli_race_exits_1(
    database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKRUN_LANGUAGE", "en")
    monkeypatch.setattr(accounts, "_find_username_ignoring_case",
                        _precheck_losing_race(engine, "ops"))

    result = runner.invoke(app, ["users", "create", "Ops", "--password", "long-enough-1",
                                 "--database-url", database_url])

    assert result.exit_code == 1, result.output
    assert 'taken by the existing user "ops"' in result.output
    assert "regardless of case" in result.output
    assert isinstance(result.exception, SystemExit)  # no uncaught error
    assert usernames(engine) == ["ops"]


@pytest.mark.postgres
def test_initial_admin_race_returns_none_postgresql(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On SQLite the write transaction holds the database lock from the user count on, so
    # another process cannot store a user between the count and the insert.
    engine = create_engine_for(postgres_url)
    monkeypatch.setattr(accounts, "_find_username_ignoring_case",
                        _precheck_losing_race(engine, "admin"))
    database = Database(postgres_url)
    try:
        with database.transaction() as session:
            generated = ensure_initial_admin(session, None)

        assert generated is None
        assert usernames(engine) == ["admin"]
    finally:
        database.dispose()
        engine.dispose()
