"""A misspelt ``TASKRUN_*`` variable is named in a warning instead of being ignored silently."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from taskrun_center.cli.app import app
from taskrun_center.config import setting_variables
from taskrun_center.config_errors import unknown_variables

runner = CliRunner()


def test_unknown_variables_with_closest_setting() -> None:
    environment = {
        "TASKRUN_DATABSE_URL": "sqlite:///x.db",
        "TASKRUN_SUMMARY_LIMITS__MAX_BYTS": "5",
        "TASKRUN_WHATEVER": "1",
        "TASKRUN_PORT": "8001",
        "TASKRUN_SUMMARY_LIMITS__MAX_BYTES": "9000",
        "TASKRUN_TEST_PG_BINDIR": "/usr/lib/postgresql/15/bin",
        "taskrun_prot": "8001",
        "taskrun_port": "8002",
        "PATH": "/usr/bin",
    }

    found = unknown_variables(environment, setting_variables())

    assert found == [
        ("TASKRUN_DATABSE_URL", "TASKRUN_DATABASE_URL"),
        ("TASKRUN_SUMMARY_LIMITS__MAX_BYTS", "TASKRUN_SUMMARY_LIMITS__MAX_BYTES"),
        ("TASKRUN_WHATEVER", None),
        ("taskrun_prot", "TASKRUN_PORT"),
    ]


@pytest.mark.parametrize(("language", "expected"), [
    ("zh-CN", "警告： 环境变量 TASKRUN_DATABSE_URL 不是任何配置项，已忽略。"
              "是否想写 TASKRUN_DATABASE_URL？"),
    ("en", "Warning: The environment variable TASKRUN_DATABSE_URL is no setting and is "
           "ignored. Did you mean TASKRUN_DATABASE_URL?"),
])
def test_command_warns_on_stderr(sqlite_url: str, language: str, expected: str) -> None:
    result = runner.invoke(app, ["runs", "list", "--format", "json", "--database-url",
                                 sqlite_url],
                           env={"TASKRUN_DATABSE_URL": "sqlite:///elsewhere.db",
                                "TASKRUN_LANGUAGE": language, "COLUMNS": "300"})

    assert result.exit_code == 0, result.output
    assert expected in result.stderr
    # The JSON on stdout stays parseable.
    assert result.stdout.lstrip().startswith("{")
