"""``taskrun db upgrade|downgrade|current`` on a SQLite file."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from taskrun_center.cli.app import app
from taskrun_center.storage import migrate

runner = CliRunner()


def test_upgrade_then_current_succeeds(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"

    upgraded = runner.invoke(app, ["db", "upgrade", "--database-url", url])
    shown = runner.invoke(app, ["db", "current", "--database-url", url])

    assert upgraded.exit_code == 0, upgraded.output
    assert migrate.head() in upgraded.output
    assert shown.exit_code == 0, shown.output
    assert migrate.current(url) == migrate.head()


def test_current_of_empty_database_exits_1(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"

    shown = runner.invoke(app, ["db", "current", "--database-url", url])

    assert shown.exit_code == 1
    assert "taskrun db upgrade" in shown.output


def test_current_of_newer_release_says_upgrade_the_code(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrate.upgrade(url)
    with sqlite3.connect(tmp_path / "cli.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099'")

    result = runner.invoke(app, ["db", "current", "--database-url", url])

    assert result.exit_code == 1
    assert "0099" in result.output
    assert "请升级 TaskRun Center" in result.output


def test_downgrade_without_confirmation_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrate.upgrade(url)

    refused = runner.invoke(app, ["db", "downgrade", "base", "--database-url", url], input="n\n")

    assert refused.exit_code == 1
    assert migrate.current(url) == migrate.head()


def test_downgrade_prompt_end_of_input(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrate.upgrade(url)

    ended = runner.invoke(app, ["db", "downgrade", "base", "--database-url", url], input="")

    assert ended.exit_code == 1
    assert "已取消，数据库未改动。" in ended.output
    assert "Aborted" not in ended.output
    assert migrate.current(url) == migrate.head()


def test_downgrade_prompt_sigterm(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrate.upgrade(url)

    def terminated_prompt(*_args: object, **_kwargs: object) -> str:
        # The handler that the command installed records the signal, then interrupts.
        handler = signal.getsignal(signal.SIGTERM)
        assert callable(handler)
        with contextlib.suppress(KeyboardInterrupt):
            handler(signal.SIGTERM, None)
        raise typer.Abort

    monkeypatch.setattr(typer, "prompt", terminated_prompt)

    result = runner.invoke(app, ["db", "downgrade", "base", "--database-url", url])

    assert result.exit_code == 143
    assert "已取消，数据库未改动。" in result.output
    assert migrate.current(url) == migrate.head()


def test_downgrade_with_yes_reverts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrate.upgrade(url)

    reverted = runner.invoke(app, ["db", "downgrade", "base", "--yes", "--database-url", url])

    assert reverted.exit_code == 0, reverted.output
    assert migrate.current(url) is None


def test_url_from_environment(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"

    upgraded = runner.invoke(app, ["db", "upgrade"], env={"TASKRUN_DATABASE_URL": url})

    assert upgraded.exit_code == 0, upgraded.output
    assert migrate.current(url) == migrate.head()


def test_unknown_revision_is_usage_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"

    upgraded = runner.invoke(app, ["db", "upgrade", "0999", "--database-url", url])
    downgraded = runner.invoke(app, ["db", "downgrade", "0999", "--yes", "--database-url", url])
    relative = runner.invoke(app, ["db", "upgrade", "+1", "--database-url", url])

    assert upgraded.exit_code == 2, upgraded.output
    assert "0999" in upgraded.output
    assert "未知的迁移版本" in upgraded.output
    assert "0001" in upgraded.output
    assert "Can't locate" not in upgraded.output
    assert downgraded.exit_code == 2, downgraded.output
    assert relative.exit_code == 0, relative.output
    assert migrate.current(url) == "0001"


def _other_programs_file(path: Path, *tables: str) -> bytes:
    """Create a SQLite file with ``tables`` of another program; return its bytes."""
    with contextlib.closing(sqlite3.connect(path)) as connection:
        for table in tables:
            connection.execute(f'CREATE TABLE "{table}" (id INTEGER PRIMARY KEY, name TEXT)')
        connection.execute(f'INSERT INTO "{tables[0]}" (name) VALUES (\'kept\')')
        connection.commit()
    return path.read_bytes()


@pytest.mark.parametrize(("language", "expected"), [
    ("zh-CN", "已有其他程序的表（customers, orders, payments, …），但没有 TaskRun Center 的表"),
    ("en", "holds tables of another program (customers, orders, payments, …) and none of "
           "TaskRun Center"),
])
def test_upgrade_refuses_other_programs_file(tmp_path: Path, language: str,
                                             expected: str) -> None:
    path = tmp_path / "shop.db"
    before = _other_programs_file(path, "customers", "orders", "payments", "refunds")

    result = runner.invoke(app, ["db", "upgrade", "--database-url", f"sqlite:///{path}"],
                           env={"TASKRUN_LANGUAGE": language, "COLUMNS": "400"})

    assert result.exit_code == 1, result.output
    assert expected in result.output
    assert str(path) in result.output
    assert "--allow-other-tables" in result.output
    # Not one byte changed: no tables added and the journal mode is still the file's own.
    assert path.read_bytes() == before
    assert not Path(f"{path}-wal").exists()


def test_upgrade_with_allow_other_tables_keeps_them(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    _other_programs_file(path, "customers")
    url = f"sqlite:///{path}"

    result = runner.invoke(app, ["db", "upgrade", "--allow-other-tables", "--database-url", url])

    assert result.exit_code == 0, result.output
    assert migrate.current(url) == migrate.head()
    with contextlib.closing(sqlite3.connect(path)) as connection:
        assert connection.execute("SELECT name FROM customers").fetchall() == [("kept",)]
    # Once the schema is there, later upgrades need no flag.
    assert runner.invoke(app, ["db", "upgrade", "--database-url", url]).exit_code == 0


def test_refused_table_name_with_control_character_is_escaped(tmp_path: Path) -> None:
    path = tmp_path / "odd.db"
    _other_programs_file(path, "bad\x1b[31mname")

    result = runner.invoke(app, ["db", "upgrade", "--database-url", f"sqlite:///{path}"])

    assert result.exit_code == 1
    assert "\x1b" not in result.output
    assert "bad\\x1b[31mname" in result.output


@pytest.mark.parametrize("statements", [
    ["CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)",
     "INSERT INTO alembic_version VALUES ('deadbeef1234')",
     "CREATE TABLE orders (id INTEGER PRIMARY KEY)"],
    ["CREATE VIEW answer AS SELECT 42"],
    ["CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT)", "INSERT INTO t DEFAULT VALUES",
     "DROP TABLE t"],
    ["CREATE TABLE users (id INTEGER PRIMARY KEY)"],
], ids=["other-alembic-program", "view-only", "sequence-only", "table-with-our-name"])
def test_other_programs_schema_is_left_untouched(tmp_path: Path, statements: list[str]) -> None:
    """Any object of another program counts, including its own Alembic revision table."""
    path = tmp_path / "other.db"
    with contextlib.closing(sqlite3.connect(path)) as connection:
        for statement in statements:
            connection.execute(statement)
        connection.commit()
    before = path.read_bytes()

    upgraded = runner.invoke(app, ["db", "upgrade", "--database-url", f"sqlite:///{path}"])
    listed = runner.invoke(app, ["runs", "list", "--database-url", f"sqlite:///{path}"])

    assert upgraded.exit_code == 1, upgraded.output
    assert "--allow-other-tables" in upgraded.output
    assert listed.exit_code == 1
    assert path.read_bytes() == before
    assert not Path(f"{path}-wal").exists()


def test_refusal_names_the_file_of_a_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _other_programs_file(tmp_path / "shop.db", "customers")

    result = runner.invoke(app, ["db", "upgrade", "--database-url",
                                 "sqlite:///file:shop.db?mode=rw&uri=true"])

    assert result.exit_code == 1
    assert str(tmp_path / "shop.db") in result.output.replace("\n", "")
    assert "file:" not in result.output
