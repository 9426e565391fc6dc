"""``taskrun`` reports a database it cannot connect to in one worded line and exits 1.

The commands run in subprocesses against the session's real PostgreSQL server: a loopback port
where nothing listens, a role whose password is wrong, and a database that does not exist.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.runners.processes import run_in
from tests.support.servers import PostgresServer, free_port
from tests.support.unreachable import (
    CASE_NAMES,
    EXPECTED_WORDS,
    PASSWORD_ROLE,
    URL_PASSWORD,
    UnreachableCase,
    cases_by_name,
)

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def cases(postgres_server: PostgresServer) -> dict[str, UnreachableCase]:
    """The unreachable URLs on this session's server, by name."""
    return cases_by_name(postgres_server)


def _taskrun(cwd: Path, url: str, *arguments: str, language: str = "zh-CN",
             ) -> subprocess.CompletedProcess[str]:
    return run_in(cwd, *arguments, TASKRUN_DATABASE_URL=url, TASKRUN_LANGUAGE=language,
                  TASKRUN_LOG_FORMAT="json")


def _assert_nothing_secret(completed: subprocess.CompletedProcess[str]) -> None:
    assert URL_PASSWORD not in completed.stdout
    assert URL_PASSWORD not in completed.stderr
    assert f"{PASSWORD_ROLE}:" not in completed.stderr
    assert "Traceback" not in completed.stderr


@pytest.mark.parametrize("name", CASE_NAMES)
@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_runs_list_names_failure_and_next_step(
    cases: dict[str, UnreachableCase], tmp_path: Path, name: str, language: str
) -> None:
    case = cases[name]

    completed = _taskrun(tmp_path, case.url, "runs", "list", language=language)

    assert completed.returncode == 1, completed.stderr
    operation = "读取运行记录失败：" if language == "zh-CN" else "reading runs failed: "
    assert f"{operation}" in completed.stderr
    assert case.address in completed.stderr
    for words in EXPECTED_WORDS[case.reason][language]:
        assert words in completed.stderr
    _assert_nothing_secret(completed)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_option_url_is_reported_alike(
    cases: dict[str, UnreachableCase], tmp_path: Path, name: str
) -> None:
    case = cases[name]

    completed = run_in(tmp_path, "--lang", "en", "users", "list", "--database-url", case.url)

    assert completed.returncode == 1, completed.stderr
    assert f"list users failed: cannot connect to the database {case.address}: " in (
        completed.stderr
    )
    _assert_nothing_secret(completed)


@pytest.mark.parametrize(
    ("arguments", "operation"),
    [
        (("db", "upgrade"), "升级到版本 head失败："),
        (("db", "current"), "读取表结构版本失败："),
        (("scheduler", "status"), "读取主调度器记录失败："),
        (("audit",), "维护失败："),
    ],
    ids=["db-upgrade", "db-current", "scheduler-status", "audit"],
)
def test_missing_database_named_by_every_command(
    cases: dict[str, UnreachableCase], tmp_path: Path, arguments: tuple[str, ...],
    operation: str,
) -> None:
    case = cases["missing-database"]

    completed = _taskrun(tmp_path, case.url, *arguments)

    assert completed.returncode == 1, completed.stderr
    assert operation in completed.stderr
    assert "服务器上没有这个数据库" in completed.stderr
    assert "再运行 taskrun db upgrade" in completed.stderr
    _assert_nothing_secret(completed)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_serve_stops_before_listening(
    cases: dict[str, UnreachableCase], tmp_path: Path, name: str
) -> None:
    # The first admin is created before uvicorn binds, so the failure ends the command there.
    # Its JSON log line on stderr must not contain the password either.
    case = cases[name]

    completed = _taskrun(tmp_path, case.url, "serve", "--no-scheduler", "--host", "127.0.0.1",
                         "--port", str(free_port()), language="en")

    assert completed.returncode == 1, completed.stderr
    assert "initial_admin_failed" in completed.stderr
    assert "create the initial admin failed: cannot connect to the database" in completed.stderr
    _assert_nothing_secret(completed)
