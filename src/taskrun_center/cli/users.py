"""``taskrun users create|set-password|list`` and ``taskrun tokens create|revoke|list``."""

from __future__ import annotations

import getpass
import sys
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from taskrun_center.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    DatabaseUrlOption,
    escape_hidden,
    fail,
    print_json,
    resolve_database_url,
    stdout,
    tr,
)
from taskrun_center.i18n import Text

if TYPE_CHECKING:
    from taskrun_center.storage.engine import Database
    from taskrun_center.web.auth.accounts import AccountError

users_app = typer.Typer(help=tr(Text("管理控制台用户。", "Manage console users.")),
                        no_args_is_help=True)
tokens_app = typer.Typer(
    help=tr(Text("管理供程序调用的 API 令牌。", "Manage API tokens for machines.")),
    no_args_is_help=True,
)

ROLE_HELP = Text("角色：viewer（只读）或 admin（可取消、立即运行）。",
                 "Role: viewer (read only) or admin (may cancel and run now).")
PASSWORD_HELP = Text("密码；省略时在终端中提示输入，或从标准输入读取一行。",
                     "Password; prompted for on a terminal, else one line read from stdin.")
FORMAT_HELP = Text("输出格式：table 或 json。", "Output format: table or json.")
USER_CREATED = Text("已创建用户 {username}（{role}）。", "Created user {username} ({role}).")
PASSWORD_CHANGED = Text("已修改 {username} 的密码，其现有会话已失效。",
                        "Changed the password of {username}; their sessions have ended.")
TOKEN_CREATED = Text(
    "已创建令牌 {name}（前缀 {prefix}），代表用户 {username}。令牌只显示这一次：",
    "Created token {name} (prefix {prefix}) acting as {username}. It is shown only this once:",
)
TOKENS_REVOKED = Text("已吊销 {count} 个令牌。", "Revoked {count} token(s).")
PASSWORD_PROMPT = Text("密码：", "Password: ")
PASSWORD_REPEAT = Text("再次输入密码：", "Repeat the password: ")
PASSWORD_MISMATCH = Text("两次输入的密码不一致。", "The passwords do not match.")
INVALID_ROLE = Text("--role 的值 {role} 无效：请用 viewer 或 admin。",
                    "Invalid --role {role}: use viewer or admin.")
NO_USERS = Text("还没有用户。", "No users yet.")


ACCOUNT_ERRORS = {
    "USER_EXISTS": Text("用户名 {username} 已被现有用户 {existing} 占用（用户名不区分大小写）。",
                        "The username {username} is taken by the existing user {existing} "
                        "(usernames are unique regardless of case)."),
    "USER_NOT_FOUND": Text("用户 {username} 不存在。", "User {username} does not exist."),
    "TOKEN_NOT_FOUND": Text("没有前缀或名称为 {reference} 的有效令牌。",
                            "No active token has the prefix or name {reference}."),
    "PASSWORD_TOO_SHORT": Text("密码太短（{length} 个字符），至少需要 8 个字符。",
                               "The password is too short ({length} characters); use at least 8."),
    "USERNAME_INVALID": Text(
        "用户名 {username} 无效：请使用 1 到 64 个字符，不含空白、控制字符或不可见字符。",
        "Invalid username {username}: use 1 to 64 characters without spaces, control or "
        "invisible characters.",
    ),
    "TOKEN_NAME_INVALID": Text(
        "令牌名称 {name} 无效：请使用 1 到 64 个字符，不含控制字符或不可见字符。",
        "Invalid token name {name}: use 1 to 64 characters without control or invisible "
        "characters.",
    ),
}
# Errors about the text given on the command line (or the password read from standard input)
# exit with the usage status. A name already taken or not found exits 1: the input is
# well-formed, and the database's state is what rejects it.
USAGE_ERRORS = frozenset({"USERNAME_INVALID", "TOKEN_NAME_INVALID", "PASSWORD_TOO_SHORT"})


def _fail_account(error: AccountError) -> NoReturn:
    from taskrun_center.quoting import quote_identifier

    text = ACCOUNT_ERRORS.get(error.code)
    if text is None:
        fail(str(error))
    # Names are quoted with hidden characters escaped, so a rejected "\u202enimda" does not
    # display as "admin" in the error line.
    params = {
        key: quote_identifier(value) if isinstance(value, str) else value
        for key, value in vars(error).items()
        if not key.startswith("_")
    }
    fail(tr(text, **params), EXIT_USAGE if error.code in USAGE_ERRORS else EXIT_FAILED)


def _read_password(given: str | None) -> str:
    if given is not None:
        return given
    if sys.stdin.isatty():
        first = getpass.getpass(tr(PASSWORD_PROMPT))
        if getpass.getpass(tr(PASSWORD_REPEAT)) != first:
            fail(tr(PASSWORD_MISMATCH), EXIT_USAGE)
        return first
    return sys.stdin.readline().rstrip("\n")


def _database(database_url: str | None) -> Database:
    from taskrun_center.storage.engine import Database

    return Database(resolve_database_url(database_url))


@users_app.command("create", help=tr(Text("创建用户。", "Create a user.")))
def create_user_command(
    username: Annotated[str, typer.Argument(help=tr(Text("用户名。", "Username.")))],
    role: Annotated[str, typer.Option("--role", help=tr(ROLE_HELP))] = "viewer",
    password: Annotated[str | None, typer.Option("--password", help=tr(PASSWORD_HELP))] = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Create a user."""
    from taskrun_center.web.auth.accounts import AccountError, Role, create_user

    if role not in {member.value for member in Role}:
        fail(tr(INVALID_ROLE, role=role), EXIT_USAGE)
    secret = _read_password(password)
    try:
        with _database(database_url).transaction("create a user") as session:
            create_user(session, username, secret, Role(role))
    except AccountError as error:
        _fail_account(error)
    stdout.print(tr(USER_CREATED, username=username, role=role), highlight=False)


@users_app.command("set-password", help=tr(Text(
    "修改用户密码；该用户已登录的会话随之失效。",
    "Change a user's password; their signed-in sessions end.",
)))
def set_password_command(
    username: Annotated[str, typer.Argument(help=tr(Text("用户名。", "Username.")))],
    password: Annotated[str | None, typer.Option("--password", help=tr(PASSWORD_HELP))] = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Change a user's password; their signed-in sessions end."""
    from taskrun_center.web.auth.accounts import AccountError, set_password

    secret = _read_password(password)
    try:
        with _database(database_url).transaction("change a password") as session:
            set_password(session, username, secret)
    except AccountError as error:
        _fail_account(error)
    stdout.print(tr(PASSWORD_CHANGED, username=username), highlight=False)


@users_app.command("list", help=tr(Text("列出用户及其角色。", "List users with their roles.")))
def list_users_command(
    output: Annotated[str, typer.Option("--format", help=tr(FORMAT_HELP))] = "table",
    database_url: DatabaseUrlOption = None,
) -> None:
    """List users with their roles."""
    from taskrun_center.storage.errors import translate_errors
    from taskrun_center.web.auth.accounts import list_users

    with translate_errors("list users"), _database(database_url).session() as session:
        rows = [
            {"username": user.username, "role": user.role, "is_active": user.is_active,
             "created_at": user.created_at.isoformat()}
            for user in list_users(session)
        ]
    if output == "json":
        print_json({"users": rows})
        return
    if not rows:
        stdout.print(tr(NO_USERS))
    for row in rows:
        stdout.print(f"{escape_hidden(str(row['username']))}\t{row['role']}\t{row['created_at']}",
                     highlight=False, markup=False)


@tokens_app.command("create", help=tr(Text(
    "创建 API 令牌；令牌只打印一次，数据库只保存其哈希。",
    "Create an API token; it is printed once and only its hash is stored.",
)))
def create_token_command(
    name: Annotated[
        str, typer.Argument(help=tr(Text("令牌名称，例如 ci。", "Token name, e.g. ci.")))
    ],
    user: Annotated[str, typer.Option("--user", help=tr(Text(
        "令牌代表的用户（决定其角色）。", "User the token acts as (sets its role).")))] = "admin",
    database_url: DatabaseUrlOption = None,
) -> None:
    """Create an API token; the token is printed once and only its hash is stored."""
    from taskrun_center.web.auth.accounts import AccountError, create_token

    try:
        with _database(database_url).transaction("create an API token") as session:
            issued = create_token(session, user, name)
    except AccountError as error:
        _fail_account(error)
    sys.stderr.write(tr(TOKEN_CREATED, name=name, prefix=issued.prefix, username=user) + "\n")
    sys.stdout.write(issued.secret + "\n")


@tokens_app.command("revoke", help=tr(Text(
    "吊销前缀或名称匹配的全部有效令牌。", "Revoke every active token with this prefix or name."
)))
def revoke_token_command(
    reference: Annotated[str, typer.Argument(help=tr(Text(
        "令牌前缀（如 trc_AbCdEfGh）或名称。", "Token prefix (such as trc_AbCdEfGh) or name.")))],
    database_url: DatabaseUrlOption = None,
) -> None:
    """Revoke every active token with this prefix or name."""
    from taskrun_center.web.auth.accounts import AccountError, revoke_token

    try:
        with _database(database_url).transaction("revoke an API token") as session:
            count = revoke_token(session, reference)
    except AccountError as error:
        _fail_account(error)
    stdout.print(tr(TOKENS_REVOKED, count=count), highlight=False)


@tokens_app.command("list", help=tr(Text(
    "按前缀和名称列出令牌；令牌本身不会再次显示。",
    "List tokens by prefix and name; the secrets are never shown again.",
)))
def list_tokens_command(
    output: Annotated[str, typer.Option("--format", help=tr(FORMAT_HELP))] = "table",
    database_url: DatabaseUrlOption = None,
) -> None:
    """List tokens by prefix and name; secrets are never shown again."""
    from taskrun_center.storage.errors import translate_errors
    from taskrun_center.web.auth.accounts import list_tokens

    with translate_errors("list API tokens"), _database(database_url).session() as session:
        rows = [
            {"name": token.name, "prefix": token.token_prefix, "username": username,
             "created_at": token.created_at.isoformat(),
             "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None}
            for token, username in list_tokens(session)
        ]
    if output == "json":
        print_json({"tokens": rows})
        return
    for row in rows:
        state = "revoked" if row["revoked_at"] else "active"
        name = escape_hidden(str(row["name"]))
        username = escape_hidden(str(row["username"]))
        stdout.print(f"{row['prefix']}…\t{name}\t{username}\t{state}", highlight=False,
                     markup=False)


def register(app: typer.Typer) -> None:
    """Add the ``users`` and ``tokens`` groups to app."""
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")
