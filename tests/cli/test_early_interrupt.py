"""Ctrl-C while ``taskrun`` still imports its commands: one line, exit code 130, no traceback."""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import Any

import pytest

from taskrun_center.cli import entry
from taskrun_center.cli.common import cli_language
from tests.runners.processes import REPO_ROOT, clean_env

# The child pauses inside the import of typer, which the entry imports after its early handler,
# and prints a line on stdout when it does. A shell without job control would start it with
# SIGINT ignored, so it first installs the handler that a terminal session has.
_PAUSE_IN_IMPORT = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)

class PauseAtTyper:
    def find_spec(self, name, path=None, target=None):
        if name == "typer":
            print("importing typer", flush=True)
            time.sleep(60)
        return None

sys.meta_path.insert(0, PauseAtTyper())
from taskrun_center.cli.entry import main
main()
"""


def _interrupt_import(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", _PAUSE_IN_IMPORT, *args], cwd=REPO_ROOT, env=clean_env(**env),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "importing typer\n"
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.mark.parametrize(
    ("args", "env", "line"),
    [
        (("--help",), {}, "已中断：命令尚未开始。"),
        (("--lang", "en", "runs", "list"), {}, "Interrupted before the command started."),
        (("runs", "list"), {"TASKRUN_LANGUAGE": "en"}, "Interrupted before the command started."),
    ],
    ids=["default", "lang-option", "language-variable"],
)
def test_interrupt_while_importing(args: tuple[str, ...], env: dict[str, str], line: str) -> None:
    result = _interrupt_import(*args, **env)

    assert result.returncode == 130, result.stderr
    assert result.stderr == line + "\n"
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("argv", "variable", "language"),
    [
        ([], None, "zh-CN"),
        ([], "en", "en"),
        (["--lang", "en", "runs", "list"], None, "en"),
        (["--lang=en-US", "runs", "list"], "zh-CN", "en"),
        (["--lang", "zh_CN", "runs", "list"], "en", "zh-CN"),
        (["runs", "list", "--lang", "en"], None, "en"),
        (["--lang"], "en", "en"),
        (["--lang", "fr"], "en", "zh-CN"),
    ],
)
def test_command_line_language(monkeypatch: pytest.MonkeyPatch, argv: list[str],
                               variable: str | None, language: str) -> None:
    """``--lang`` wins over the variable, wherever it stands; an unknown tag falls back."""
    monkeypatch.setattr(sys, "argv", ["taskrun", *argv])
    if variable is None:
        monkeypatch.delenv("TASKRUN_LANGUAGE", raising=False)
    else:
        monkeypatch.setenv("TASKRUN_LANGUAGE", variable)

    assert entry.command_line_language() == language
    assert cli_language() == language


def test_handler_restored_after_import(monkeypatch: pytest.MonkeyPatch) -> None:
    """Once the commands are imported, Ctrl-C raises KeyboardInterrupt again."""
    seen: list[object] = []
    monkeypatch.setattr(signal, "signal", _recording(signal.signal, seen))
    monkeypatch.setattr("taskrun_center.cli.app.main", lambda: seen.append("run"))

    entry.main()

    assert seen[-1] == "run"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def _recording(install: Any, seen: list[object]) -> Any:
    def record(signum: int, handler: Any) -> Any:
        seen.append(handler)
        return install(signum, handler)

    return record
