"""``taskrun users``: a password that breaks the length rule is a usage error (exit 2)."""

from __future__ import annotations

from typer.testing import CliRunner

from taskrun_center.cli.app import app

runner = CliRunner()


def test_short_password_on_command_line(sqlite_url: str) -> None:
    # The CLI reads --lang from sys.argv, which CliRunner does not set, so TASKRUN_LANGUAGE is set.
    result = runner.invoke(app, ["users", "create", "bob", "--password", "short",
                                 "--database-url", sqlite_url], env={"TASKRUN_LANGUAGE": "en"})

    assert result.exit_code == 2
    assert "The password is too short (5 characters); use at least 8." in result.output


def test_short_password_from_stdin(sqlite_url: str) -> None:
    runner.invoke(app, ["users", "create", "carol", "--password", "first-password",
                        "--database-url", sqlite_url])

    result = runner.invoke(app, ["users", "set-password", "carol", "--database-url", sqlite_url],
                           input="short\n")

    assert result.exit_code == 2
    assert "至少需要 8 个字符" in result.output


def test_taken_username_exits_1(sqlite_url: str) -> None:
    runner.invoke(app, ["users", "create", "dave", "--password", "dave-password",
                        "--database-url", sqlite_url])

    result = runner.invoke(app, ["users", "create", "DAVE", "--password", "dave-password",
                                 "--database-url", sqlite_url])

    assert result.exit_code == 1
    assert "已被现有用户" in result.output
