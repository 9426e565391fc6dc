"""Rules on usernames and token names, checked before anything reaches the database."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from taskrun_center.cli.app import app
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import ApiToken, User
from taskrun_center.web.auth.accounts import (
    InvalidTokenNameError,
    InvalidUsernameError,
    Role,
    UserExistsError,
    authenticate,
    create_token,
    create_user,
)
from taskrun_center.web.auth.passwords import hash_password

runner = CliRunner()

HIDDEN_USERNAMES = [
    "\u202enimda",  # right-to-left override: displays as "admin"
    "ad\u200bmin",  # zero-width space
    "ad\u0000min",  # NUL
    "admin\u2066",  # left-to-right isolate
    "\u3164",  # Hangul filler, a letter that renders blank
    "ad\u2028min",  # line separator
]


@pytest.mark.parametrize("username", HIDDEN_USERNAMES)
def test_create_user_rejects_hidden_characters(username: str, sqlite_url: str) -> None:
    database = Database(sqlite_url)

    with pytest.raises(InvalidUsernameError), database.transaction() as session:
        create_user(session, username, "long-enough-1")

    with database.session() as session:
        assert session.query(User).count() == 0


def test_create_user_accepts_non_latin_letters(sqlite_url: str) -> None:
    database = Database(sqlite_url)

    with database.transaction() as session:
        create_user(session, "运维-ops", "long-enough-1")

    with database.session() as session:
        assert authenticate(session, "运维-ops", "long-enough-1") is not None


def test_usernames_unique_ignoring_case(database_url: str) -> None:
    database = Database(database_url)
    with database.transaction() as session:
        create_user(session, "admin", "long-enough-1", Role.ADMIN)

    for other in ("ADMIN", "Admin", "\uff41\uff44\uff4d\uff49\uff4e"):
        with pytest.raises(UserExistsError) as raised, database.transaction() as session:
            create_user(session, other, "long-enough-1")
        assert raised.value.existing == "admin"

    with database.session() as session:
        assert [user.username for user in session.query(User)] == ["admin"]


def test_existing_width_duplicates_still_sign_in(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    # Rows written before usernames were compared without case and width. Names that differ
    # only in ASCII case cannot coexist since revision 0006, but width variants still can.
    with database.transaction() as session:
        session.add(User(username="ops", password_hash=hash_password("narrow-pass-1"),
                         role="viewer"))
        session.add(User(username="\uff4f\uff50\uff53", password_hash=hash_password("wide-pass-1"),
                         role="viewer"))

    with database.session() as session:
        narrow = authenticate(session, "ops", "narrow-pass-1")
        wide = authenticate(session, "\uff4f\uff50\uff53", "wide-pass-1")
        crossed = authenticate(session, "ops", "wide-pass-1")

    assert narrow is not None
    assert narrow.username == "ops"
    assert wide is not None
    assert wide.username == "\uff4f\uff50\uff53"
    assert crossed is None


@pytest.mark.parametrize("name", ["x" * 65, "", "   ", "ci\u202e", "ci\u0000"])
def test_create_token_rejects_bad_name(name: str, database_url: str) -> None:
    database = Database(database_url)
    with database.transaction() as session:
        create_user(session, "admin", "long-enough-1", Role.ADMIN)

    with pytest.raises(InvalidTokenNameError), database.transaction() as session:
        create_token(session, "admin", name)

    with database.session() as session:
        assert session.query(ApiToken).count() == 0


def test_create_token_accepts_64_characters(database_url: str) -> None:
    database = Database(database_url)
    with database.transaction() as session:
        create_user(session, "admin", "long-enough-1", Role.ADMIN)

    with database.transaction() as session:
        issued = create_token(session, "admin", "é" * 64)

    assert issued.name == "é" * 64


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "Invalid token name"),
    ("zh-CN", "令牌名称"),
])
def test_tokens_create_long_name_exits_2(
    language: str, expected: str, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKRUN_LANGUAGE", language)
    runner.invoke(app, ["users", "create", "admin", "--role", "admin",
                        "--password", "admin-password", "--database-url", database_url])

    result = runner.invoke(app, ["tokens", "create", "t" * 100, "--user", "admin",
                                 "--database-url", database_url])

    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "64" in result.output
    assert "Traceback" not in result.output


def test_users_create_bidi_name_exits_2(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKRUN_LANGUAGE", "en")

    result = runner.invoke(app, ["users", "create", "\u202enimda", "--password",
                                 "long-enough-1", "--database-url", sqlite_url])

    assert result.exit_code == 2, result.output
    assert '"\\u202enimda"' in result.output
    assert "\u202e" not in result.output


def test_users_create_case_duplicate_names_existing(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKRUN_LANGUAGE", "en")
    runner.invoke(app, ["users", "create", "admin", "--password", "long-enough-1",
                        "--database-url", sqlite_url])

    result = runner.invoke(app, ["users", "create", "ADMIN", "--password", "long-enough-1",
                                 "--database-url", sqlite_url])

    assert result.exit_code == 1, result.output
    assert '"admin"' in result.output
    assert "regardless of case" in result.output
