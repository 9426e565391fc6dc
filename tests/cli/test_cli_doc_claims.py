"""What docs/cli.md states about exit codes on an old schema and about usage errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.runners.processes import REPO_ROOT, run_taskrun, taskrun_env


def _run_script(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed ``taskrun`` script, so that usage lines name ``taskrun``."""
    script = Path(sys.executable).parent / "taskrun"
    return subprocess.run([str(script), *args], cwd=REPO_ROOT, env=taskrun_env(database_url),
                          capture_output=True, text=True, timeout=120, check=False)


def _one_line(text: str) -> str:
    # Rich draws the error panel with borders and wraps it to the terminal width.
    return " ".join(text.replace("│", " ").split())


def test_commands_work_on_older_revision(sqlite_url: str) -> None:
    downgraded = run_taskrun(sqlite_url, "db", "downgrade", "0009", "--yes")
    assert downgraded.returncode == 0, downgraded.stderr

    current = run_taskrun(sqlite_url, "db", "current")
    runs = run_taskrun(sqlite_url, "runs", "list")
    audit = run_taskrun(sqlite_url, "audit")
    run = run_taskrun(sqlite_url, "run", "sample_count", "--arg", "count=1")

    assert current.returncode == 1
    assert "taskrun db upgrade" in current.stderr
    assert runs.returncode == 0, runs.stderr
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert run.returncode == 0, run.stderr


def test_missing_tables_exit_1(sqlite_url: str) -> None:
    downgraded = run_taskrun(sqlite_url, "db", "downgrade", "base", "--yes")
    assert downgraded.returncode == 0, downgraded.stderr

    for command in (("runs", "list"), ("audit",)):
        result = run_taskrun(sqlite_url, *command)

        assert result.returncode == 1, command
        assert "taskrun db upgrade" in result.stderr, command


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh-CN", ["用法：taskrun runs list [OPTIONS]",
                   "运行 'taskrun runs list --help' 查看帮助。", "错误",
                   "没有名为 --bogus 的选项。"]),
        ("en", ["Usage: taskrun runs list [OPTIONS]",
                "Try 'taskrun runs list --help' for help.", "Error",
                "No such option: --bogus"]),
    ],
)
def test_usage_error_in_cli_language(sqlite_url: str, language: str,
                                     expected: list[str]) -> None:
    result = _run_script(sqlite_url, "--lang", language, "runs", "list", "--bogus")
    output = _one_line(result.stderr)

    assert result.returncode == 2
    for text in expected:
        assert text in output


@pytest.mark.parametrize(("language", "default", "required"),
                         [("zh-CN", "[默认值：text]", "[必填]"),
                          ("en", "[default: text]", "[required]")])
def test_help_notes_in_cli_language(sqlite_url: str, language: str, default: str,
                                    required: str) -> None:
    runs_help = _run_script(sqlite_url, "--lang", language, "runs", "list", "--help")
    exec_help = _run_script(sqlite_url, "--lang", language, "exec", "--help")

    assert runs_help.returncode == 0, runs_help.stderr
    assert default in _one_line(runs_help.stdout)
    assert exec_help.returncode == 0, exec_help.stderr
    assert required in _one_line(exec_help.stdout)
