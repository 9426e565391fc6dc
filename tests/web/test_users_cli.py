"""``taskrun users`` and ``taskrun tokens``."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from taskrun_center.cli.app import app
from taskrun_center.storage.engine import Database
from taskrun_center.web.auth.accounts import authenticate, principal_for_token

runner = CliRunner()


def test_users_create_and_list(sqlite_url: str) -> None:
    created = runner.invoke(app, ["users", "create", "alice", "--role", "admin",
                                  "--password", "alice-password", "--database-url", sqlite_url])
    listed = runner.invoke(app, ["users", "list", "--format", "json",
                                 "--database-url", sqlite_url])

    assert created.exit_code == 0, created.output
    users = json.loads(listed.stdout)["users"]
    assert [(user["username"], user["role"]) for user in users] == [("alice", "admin")]


def test_users_create_rejects_short_password(sqlite_url: str) -> None:
    result = runner.invoke(app, ["users", "create", "bob", "--password", "short",
                                 "--database-url", sqlite_url])

    assert result.exit_code == 2
    assert "至少需要 8 个字符" in result.output


def test_users_create_rejects_bad_role(sqlite_url: str) -> None:
    result = runner.invoke(app, ["users", "create", "bob", "--role", "root",
                                 "--password", "bob-password", "--database-url", sqlite_url])

    assert result.exit_code == 2


def test_users_set_password_reads_stdin(sqlite_url: str) -> None:
    runner.invoke(app, ["users", "create", "carol", "--password", "first-password",
                        "--database-url", sqlite_url])

    result = runner.invoke(app, ["users", "set-password", "carol", "--database-url", sqlite_url],
                           input="second-password\n")

    assert result.exit_code == 0, result.output
    with Database(sqlite_url).session() as session:
        assert authenticate(session, "carol", "second-password") is not None
        assert authenticate(session, "carol", "first-password") is None


def test_tokens_create_then_revoke(sqlite_url: str) -> None:
    runner.invoke(app, ["users", "create", "admin", "--role", "admin",
                        "--password", "admin-password", "--database-url", sqlite_url])

    created = runner.invoke(app, ["tokens", "create", "ci", "--user", "admin",
                                  "--database-url", sqlite_url])
    secret = created.stdout.strip().splitlines()[-1]
    database = Database(sqlite_url)
    with database.session() as session:
        assert principal_for_token(session, secret) is not None

    revoked = runner.invoke(app, ["tokens", "revoke", "ci", "--database-url", sqlite_url])

    assert revoked.exit_code == 0, revoked.output
    with database.session() as session:
        assert principal_for_token(session, secret) is None


def test_tokens_revoke_unknown_fails(sqlite_url: str) -> None:
    result = runner.invoke(app, ["tokens", "revoke", "nothing", "--database-url", sqlite_url])

    assert result.exit_code == 1
