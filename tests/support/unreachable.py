"""Database URLs that cannot be connected to, for the tests of ``DatabaseUnreachableError``.

The session's PostgreSQL server trusts every loopback login, so a wrong password would pass.
``password_role`` adds a role whose loopback logins must give a password (SCRAM), ahead of the
trust rules, and leaves every other role as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from tests.support.servers import PostgresServer, free_port

PASSWORD_ROLE = "taskrun_password_role"
RIGHT_PASSWORD = "right-Pass-7d41"
# The password in every URL below. The server checks it only for PASSWORD_ROLE; a test checks
# that no output repeats it.
URL_PASSWORD = "wrong-Pass-93c8e1"
MISSING_DATABASE = "taskrun_no_such_database"


@dataclass(frozen=True)
class UnreachableCase:
    """A URL that fails to connect, the address a message names and the expected reason."""

    name: str
    url: str
    address: str
    reason: str


def password_role(server: PostgresServer) -> None:
    """Create ``PASSWORD_ROLE`` and make its loopback logins check the password.

    Safe to call more than once on the same server.
    """
    admin_url = server.admin_url.replace("+psycopg", "")
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_roles WHERE rolname = %s", (PASSWORD_ROLE,)
        ).fetchone()
        if exists is None:
            connection.execute(
                f"CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{RIGHT_PASSWORD}'"  # type: ignore[arg-type]
            )
    hba = server.data_dir / "pg_hba.conf"
    rule = f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n"
    rules = hba.read_text(encoding="utf-8")
    if rule not in rules:
        # The server uses the first rule that matches, so this one goes before the trust rules.
        hba.write_text(rule + rules, encoding="utf-8")
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute("SELECT pg_reload_conf()")


# The names of the cases that ``unreachable_cases`` returns, for parametrized tests.
CASE_NAMES = ("refused", "wrong-password", "missing-database")


def cases_by_name(server: PostgresServer) -> dict[str, UnreachableCase]:
    """Return ``unreachable_cases`` keyed by name."""
    return {case.name: case for case in unreachable_cases(server)}


def unreachable_cases(server: PostgresServer) -> list[UnreachableCase]:
    """Return the three failures: nothing listening, a wrong password, a missing database.

    The closed port was free when this ran, and nothing in these tests binds it later.
    """
    password_role(server)
    closed_port = free_port()
    return [
        UnreachableCase(
            "refused",
            f"postgresql+psycopg://{PASSWORD_ROLE}:{URL_PASSWORD}@127.0.0.1:{closed_port}"
            "/taskrun",
            f"127.0.0.1:{closed_port}/taskrun",
            "refused",
        ),
        UnreachableCase(
            "wrong-password",
            f"postgresql+psycopg://{PASSWORD_ROLE}:{URL_PASSWORD}@127.0.0.1:{server.port}"
            "/postgres",
            f"127.0.0.1:{server.port}/postgres",
            "authentication_failed",
        ),
        UnreachableCase(
            "missing-database",
            f"postgresql+psycopg://postgres:{URL_PASSWORD}@127.0.0.1:{server.port}"
            f"/{MISSING_DATABASE}",
            f"127.0.0.1:{server.port}/{MISSING_DATABASE}",
            "database_missing",
        ),
    ]


# Words every message of a reason contains, by language: the failure and the next step.
EXPECTED_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "refused": {
        "zh-CN": ("连接被拒绝", "请启动数据库服务", "TASKRUN_DATABASE_URL", "--database-url"),
        "en": ("the connection was refused", "Start the database server",
               "TASKRUN_DATABASE_URL", "--database-url"),
    },
    "authentication_failed": {
        "zh-CN": ("身份验证失败", "用户名和密码", "TASKRUN_DATABASE_URL"),
        "en": ("authentication failed", "Check the user name and password",
               "TASKRUN_DATABASE_URL"),
    },
    "database_missing": {
        "zh-CN": ("服务器上没有这个数据库", "创建该数据库", "taskrun db upgrade"),
        "en": ("the server has no database of that name", "Create the database",
               "then run taskrun db upgrade"),
    },
}
