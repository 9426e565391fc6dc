"""``taskrun db upgrade|downgrade|current``: apply, revert and show schema migrations."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from taskrun_center.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    DatabaseUrlOption,
    cli_language,
    confirm_or_cancel,
    error_text,
    escape_hidden,
    fail,
    resolve_database_url,
    sigterm_as_interrupt,
    stdout,
    tr,
)
from taskrun_center.errors import StorageError
from taskrun_center.i18n import Text

_HELP = Text("管理数据库表结构（迁移）。", "Manage the database schema (migrations).")
_UPGRADE_HELP = Text(
    "把数据库迁移到指定版本（默认最新）；新建的数据库也用它建表。",
    "Migrate the database to a revision (the newest by default); "
    "this also creates the tables of a new database.",
)
_DOWNGRADE_HELP = Text(
    "把数据库回退到指定版本；回退到 base 会删除所有表和数据。",
    "Revert the database to a revision; reverting to base drops every table and its data.",
)
_CURRENT_HELP = Text(
    "显示数据库当前的迁移版本以及是否为最新。",
    "Show the database's current revision and whether it is the newest.",
)
_REVISION_HELP = Text(
    "目标版本号，例如 0001、head 或 base。", "Target revision, e.g. 0001, head or base."
)
_YES_HELP = Text("不询问，直接执行。", "Do not ask for confirmation.")
_ALLOW_OTHER_TABLES_HELP = Text(
    "允许把表加进已有其他程序的表的 SQLite 文件（默认拒绝，以免误指的文件被改动）。",
    "Add the tables to a SQLite file that already holds another program's tables (refused "
    "by default, so that a mistyped URL changes no other database).",
)

_UPGRADED = Text("数据库已迁移到版本 {revision}。", "Database migrated to revision {revision}.")
_DOWNGRADED = Text(
    "数据库已回退到版本 {revision}。", "Database reverted to revision {revision}."
)
_CONFIRM_DOWNGRADE = Text(
    "回退到 {revision} 可能删除表和数据，确定继续吗？",
    "Reverting to {revision} may drop tables and their data. Continue?",
)
_CURRENT = Text(
    "当前版本：{revision}（最新版本：{head}）", "Current revision: {revision} (newest: {head})"
)
_NO_SCHEMA = Text(
    "无（尚未迁移，请运行 taskrun db upgrade）", "none (not migrated; run taskrun db upgrade)"
)
_BEHIND = Text(
    "数据库不是最新版本，请运行 taskrun db upgrade。",
    "The database is not at the newest revision; run taskrun db upgrade.",
)
_NEWER = Text(
    "数据库已由更新版本的 TaskRun Center 迁移到 {revision}，本版本不认识这个版本号；"
    "请升级 TaskRun Center，不要运行 taskrun db upgrade。",
    "A newer release of TaskRun Center migrated the database to {revision}, which this "
    "release does not know; upgrade TaskRun Center instead of running taskrun db upgrade.",
)
_ABORTED = Text("已取消，数据库未改动。", "Cancelled; the database was not changed.")
_UNKNOWN_REVISION = Text(
    "未知的迁移版本 {revision}；可用的版本：{known}、head、base，或写在 -- 之后的相对写法，"
    "如 taskrun db downgrade -- -1。",
    "unknown revision {revision}; known revisions: {known}, head, base, or a relative step "
    "after --, such as taskrun db downgrade -- -1.",
)


def register(app: typer.Typer) -> None:
    """Add the ``db`` command group to ``app``."""
    # Alembic logs each of its plugins at INFO when it loads; only migration steps matter here.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    language = cli_language()
    group = typer.Typer(help=_HELP.render(language), no_args_is_help=True)
    group.command("upgrade", help=_UPGRADE_HELP.render(language))(upgrade)
    group.command("downgrade", help=_DOWNGRADE_HELP.render(language))(downgrade)
    group.command("current", help=_CURRENT_HELP.render(language))(current)
    app.add_typer(group, name="db")


YesOption = Annotated[bool, typer.Option("--yes", "-y", help=_YES_HELP.render(cli_language()))]
RevisionArgument = Annotated[
    str, typer.Argument(help=_REVISION_HELP.render(cli_language()), show_default=True)
]


def _check_revision(revision: str) -> None:
    """Exit 2 for a plain revision name that no migration of this package has."""
    from taskrun_center.storage import migrate

    known = migrate.known_revisions()
    relative = any(sign in revision for sign in "+-")
    if revision in ("head", "heads", "base") or relative or revision in known:
        return
    fail(tr(_UNKNOWN_REVISION, revision=escape_hidden(repr(revision)), known=", ".join(known)),
         EXIT_USAGE)


AllowOtherTablesOption = Annotated[bool, typer.Option(
    "--allow-other-tables", help=_ALLOW_OTHER_TABLES_HELP.render(cli_language()))]


def upgrade(revision: RevisionArgument = "head", database_url: DatabaseUrlOption = None,
            allow_other_tables: AllowOtherTablesOption = False) -> None:
    """Migrate the database forward and print the revision reached."""
    from taskrun_center.storage import migrate

    _check_revision(revision)
    url = resolve_database_url(database_url, create_sqlite_file=True)
    try:
        migrate.upgrade(url, revision, allow_other_tables=allow_other_tables)
        reached = migrate.current(url)
    except StorageError as error:
        fail(error_text(error), EXIT_FAILED)
    stdout.print(tr(_UPGRADED, revision=reached or "base"), highlight=False)


def downgrade(
    revision: RevisionArgument,
    database_url: DatabaseUrlOption = None,
    yes: YesOption = False,
) -> None:
    """Revert the database after a confirmation and print the revision reached."""
    from taskrun_center.storage import migrate

    _check_revision(revision)
    with sigterm_as_interrupt() as received:
        question = tr(_CONFIRM_DOWNGRADE, revision=revision)
        if not yes and not confirm_or_cancel(question, tr(_ABORTED), received):
            fail(tr(_ABORTED), EXIT_FAILED)
    url = resolve_database_url(database_url)
    try:
        migrate.downgrade(url, revision)
        reached = migrate.current(url)
    except StorageError as error:
        fail(error_text(error), EXIT_FAILED)
    stdout.print(tr(_DOWNGRADED, revision=reached or "base"), highlight=False)


def current(database_url: DatabaseUrlOption = None) -> None:
    """Print the current and newest revision; exit 1 when the database is not at the newest."""
    from taskrun_center.storage import migrate

    url = resolve_database_url(database_url)
    try:
        revision = migrate.current(url)
    except StorageError as error:
        fail(error_text(error), EXIT_FAILED)
    newest = migrate.head()
    stdout.print(tr(_CURRENT, revision=revision or tr(_NO_SCHEMA), head=newest), highlight=False)
    if revision and revision != newest and not migrate.is_known_revision(revision):
        fail(tr(_NEWER, revision=revision), EXIT_FAILED)
    if revision != newest:
        fail(tr(_BEHIND), EXIT_FAILED)
