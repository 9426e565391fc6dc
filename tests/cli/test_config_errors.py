"""Invalid ``TASKRUN_*`` settings end ``taskrun`` with one line per variable and exit code 2.

Each case runs the real entry point in a subprocess, because the settings are read once per
process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.runners.processes import run_in

PASSWORD = "s3cret-pw-991"
COMMANDS = (("runs", "list"), ("audit",), ("db", "current"))




@pytest.mark.parametrize("command", COMMANDS, ids="-".join)
def test_mysql_url_names_supported_databases(tmp_path: Path, command: tuple[str, ...]) -> None:
    completed = run_in(tmp_path, *command, TASKRUN_LANGUAGE="en",
                         TASKRUN_DATABASE_URL=f"mysql://root:{PASSWORD}@127.0.0.1/x")

    assert completed.returncode == 2, completed.stderr
    assert "TASKRUN_DATABASE_URL" in completed.stderr
    assert "mysql, which is not supported; use sqlite or postgresql" in completed.stderr
    assert PASSWORD not in completed.stderr + completed.stdout
    assert "Traceback" not in completed.stderr


@pytest.mark.parametrize(
    ("variables", "command", "expected"),
    [
        ({"TASKRUN_DATABASE_URL": "garbage://x"}, ("audit",),
         "TASKRUN_DATABASE_URL names the database type garbage"),
        ({"TASKRUN_DATABASE_URL": "not a url"}, ("runs", "list"),
         "TASKRUN_DATABASE_URL is not a database URL"),
        ({"TASKRUN_LOG_LEVEL": "LOUD"}, ("runs", "list"),
         "TASKRUN_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR or CRITICAL"),
        ({"TASKRUN_SUMMARY_LIMITS__MAX_BYTES": "abc"}, ("summary", "limits"),
         "TASKRUN_SUMMARY_LIMITS__MAX_BYTES must be an integer"),
        ({"TASKRUN_PORT": "99999"}, ("db", "current"), "TASKRUN_PORT must be at most 65535"),
        ({"TASKRUN_SUMMARY_LIMITS": "{oops"}, ("audit",),
         "TASKRUN_SUMMARY_LIMITS must be a JSON object"),
        ({"TASKRUN_HEARTBEAT_INTERVAL_SECONDS": "400"}, ("runs", "list"),
         "TASKRUN_HEARTBEAT_INTERVAL_SECONDS must be at most half of "
         "TASKRUN_REAP_TIMEOUT_SECONDS (300 s)"),
        ({"TASKRUN_DATABASE_URL": f"postgresql+psycopg://u:{PASSWORD}@127.0.0.1:357755/db"},
         ("runs", "list"), "TASKRUN_DATABASE_URL has a port outside 1 to 65535"),
        ({"TASKRUN_DATABASE_URL":
          f"postgresql+psycopg://u:{PASSWORD}@127.0.0.1/db?conect_timeout=5"},
         ("runs", "list"), "TASKRUN_DATABASE_URL has the parameter conect_timeout, which is no "
                           "PostgreSQL connection parameter (did you mean connect_timeout?)"),
        ({"TASKRUN_DATABASE_URL": f"postgresql+psycopg://u:{PASSWORD}@127.0.0.1/db?zz=5"},
         ("runs", "list"), "TASKRUN_DATABASE_URL has the parameter zz, which is no PostgreSQL "
                           "connection parameter (libpq's documentation lists them)"),
    ],
    ids=["garbage-url", "not-a-url", "log-level", "max-bytes", "port", "limits-json", "heartbeat",
         "url-port", "url-parameter-typo", "url-parameter-unknown"],
)
def test_invalid_variable_prints_one_line(tmp_path: Path, variables: dict[str, str],
                                          command: tuple[str, ...], expected: str) -> None:
    completed = run_in(tmp_path, *command, TASKRUN_LANGUAGE="en", **variables)

    assert completed.returncode == 2, completed.stderr
    assert expected in completed.stderr.replace("\n", " ")
    assert "Correct or unset the variable" in completed.stderr
    assert PASSWORD not in completed.stderr + completed.stdout
    assert "Traceback" not in completed.stderr
    assert "validation error" not in completed.stderr


def test_two_invalid_variables_give_two_lines(tmp_path: Path) -> None:
    completed = run_in(tmp_path, "runs", "list", TASKRUN_LANGUAGE="en",
                         TASKRUN_PORT="0", TASKRUN_LOG_LEVEL="LOUD")

    lines = [line for line in completed.stderr.splitlines() if line.startswith("Error:")]
    assert completed.returncode == 2, completed.stderr
    assert len(lines) == 2
    assert any("TASKRUN_PORT must be at least 1" in line for line in lines)
    assert any("TASKRUN_LOG_LEVEL" in line for line in lines)


def test_message_defaults_to_chinese(tmp_path: Path) -> None:
    completed = run_in(tmp_path, "runs", "list", TASKRUN_PORT="99999")

    assert completed.returncode == 2, completed.stderr
    assert "配置无效：TASKRUN_PORT 不能大于 65535" in completed.stderr


def test_database_url_option_is_checked(tmp_path: Path) -> None:
    completed = run_in(tmp_path, "--lang", "en", "runs", "list", "--database-url",
                         f"mysql://root:{PASSWORD}@127.0.0.1/x")

    assert completed.returncode == 2, completed.stderr
    assert "--database-url / TASKRUN_DATABASE_URL" in completed.stderr
    assert PASSWORD not in completed.stderr + completed.stdout
    assert "Traceback" not in completed.stderr


def test_lowercase_log_level_is_accepted(tmp_path: Path) -> None:
    completed = run_in(tmp_path, "summary", "limits", TASKRUN_LOG_LEVEL="warning")

    assert completed.returncode == 0, completed.stderr


def test_unknown_language_variable_exits_2(tmp_path: Path) -> None:
    completed = run_in(tmp_path, "summary", "limits", TASKRUN_LANGUAGE="fr")

    assert completed.returncode == 2, completed.stderr
    assert "配置无效：TASKRUN_LANGUAGE 必须是 zh-CN 或 en" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert completed.stdout == ""


def test_unknown_lang_option_exits_2(tmp_path: Path) -> None:
    completed = run_in(tmp_path, "--lang", "fr", "summary", "limits")

    assert completed.returncode == 2, completed.stderr
    assert "选项无效：--lang 必须是 zh-CN 或 en" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert completed.stdout == ""


@pytest.mark.parametrize("tag", ["zh-CN", "zh_CN", "zh", "en", "en-US", "EN_gb"])
def test_language_tags_are_accepted(tmp_path: Path, tag: str) -> None:
    from_variable = run_in(tmp_path, "summary", "limits", TASKRUN_LANGUAGE=tag)
    from_option = run_in(tmp_path, "--lang", tag, "summary", "limits")

    assert from_variable.returncode == 0, from_variable.stderr
    assert from_option.returncode == 0, from_option.stderr


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://app:Tr0ub4dor@3xyz@127.0.0.1:1/prod",
    "postgresql+psycopg://app:Tr0ub4dor@3xyz/w0rd@127.0.0.1/prod",
    "postgresql+psycopg://app:Tr0ub4dor@3xyz?w0rd@127.0.0.1/prod",
    "postgresql+psycopg://app:Tr0ub4dor@3xyz:w0rd@127.0.0.1/prod",
], ids=["at", "at-slash", "at-question", "at-colon"])
@pytest.mark.parametrize("source", ["variable", "option"])
def test_raw_at_sign_in_password_is_rejected(tmp_path: Path, source: str, url: str) -> None:
    """A raw @ would leave the end of the password in the host name; nothing connects."""
    if source == "variable":
        completed = run_in(tmp_path, "runs", "list", TASKRUN_LANGUAGE="en",
                           TASKRUN_DATABASE_URL=url)
    else:
        completed = run_in(tmp_path, "--lang", "en", "runs", "list", "--database-url", url)

    assert completed.returncode == 2, completed.stderr
    assert "unescaped @" in completed.stderr
    assert "%40" in completed.stderr
    assert "3xyz" not in completed.stderr + completed.stdout
    assert "w0rd" not in completed.stderr + completed.stdout
    assert "Tr0ub4dor" not in completed.stderr + completed.stdout
    assert "Traceback" not in completed.stderr


def test_percent_encoded_at_sign_is_accepted() -> None:
    from taskrun_center.config_errors import check_database_url

    assert check_database_url("postgresql+psycopg://app:Tr0ub4dor%403xyz@127.0.0.1/prod") is None


def test_non_numeric_port_is_syntax_error() -> None:
    from taskrun_center.config_errors import check_database_url

    problem = check_database_url("postgresql+psycopg://u:p@127.0.0.1:notaport/db")

    assert problem is not None
    assert problem.kind == "database_url_syntax"


def test_at_sign_in_sqlite_path_is_accepted() -> None:
    from taskrun_center.config_errors import check_database_url

    assert check_database_url("sqlite:////srv/runs@2026/taskrun.db") is None


@pytest.mark.parametrize("query", ["connect_timeout=abc", "connect_timeout=5&connect_timeout=7",
                                   "connect_timeout=1.5", "connect_timeout=-5",
                                   "connect_timeout=--5", "connect_timeout=%C2%B2",
                                   "connect_timeout=99999999999999999999",
                                   "Connect_Timeout=3"],
                         ids=["word", "repeated", "fraction", "negative", "two-signs",
                              "superscript", "huge", "mixed-case"])
def test_invalid_connect_timeout_is_setting_error(tmp_path: Path, query: str) -> None:
    url = f"postgresql+psycopg://app:Tr0ub4dor@127.0.0.1:1/prod?{query}"

    completed = run_in(tmp_path, "runs", "list", TASKRUN_DATABASE_URL=url)

    assert completed.returncode == 2, completed.stderr
    assert "TASKRUN_DATABASE_URL 的 connect_timeout 参数应为 0 到 86400 之间" in completed.stderr
    assert "Tr0ub4dor" not in completed.stderr + completed.stdout
    assert "Traceback" not in completed.stderr


@pytest.mark.parametrize("value", ["10", "0", "86400"])
def test_whole_connect_timeout_is_accepted(value: str) -> None:
    from taskrun_center.config_errors import check_database_url

    url = f"postgresql+psycopg://u@127.0.0.1/db?connect_timeout={value}"

    assert check_database_url(url) is None
