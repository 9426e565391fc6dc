"""``taskrun purge`` on a terminal prompts for confirmation before its progress bar starts.

The progress bar redraws its line about 10 times a second, so a bar started before the y/N
question would erase it while the command waits for the answer. These tests give the command
a stderr console that counts as a terminal, so the real rich progress bar draws into a buffer,
and record what that buffer held when the question was asked.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from taskrun_center.cli.app import app
from tests.maintenance.bulk_rows import add_runs

runner = CliRunner()
CHINESE = {"TASKRUN_LANGUAGE": "zh-CN"}


class _TerminalSession:
    """A stderr console that counts as a terminal, and a prompt() that records the bar."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, answer: bool) -> None:
        self.stderr = io.StringIO()
        self.questions: list[str] = []
        self.stderr_at_question: list[str] = []
        self._answer = answer
        console = Console(file=self.stderr, force_terminal=True, width=100)
        monkeypatch.setattr("taskrun_center.cli.maintenance.stderr", console)
        monkeypatch.setattr("taskrun_center.cli.maintenance.stdin_is_terminal", lambda: True)
        monkeypatch.setattr(typer, "prompt", self._prompt)

    def _prompt(self, text: str, *args: Any, **kwargs: Any) -> str:
        self.questions.append(text)
        self.stderr_at_question.append(self.stderr.getvalue())
        return "y" if self._answer else "n"


@pytest.mark.parametrize("scope", [["--older-than", "30d", "--keep-last", "0"], ["--all"]])
def test_purge_declined_draws_no_bar(sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
                                     scope: list[str]) -> None:
    add_runs(sqlite_url, 3)
    session = _TerminalSession(monkeypatch, answer=False)

    result = runner.invoke(app, ["purge", *scope, "--database-url", sqlite_url], env=CHINESE)

    assert result.exit_code == 1, result.output
    assert len(session.questions) == 1
    assert session.stderr_at_question == [""]
    assert "删除中" not in session.stderr.getvalue()


@pytest.mark.parametrize("scope", [["--older-than", "30d", "--keep-last", "0"], ["--all"]])
def test_purge_confirmed_bar_follows_question(sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
                                              scope: list[str]) -> None:
    add_runs(sqlite_url, 3)
    session = _TerminalSession(monkeypatch, answer=True)

    result = runner.invoke(app, ["purge", *scope, "--database-url", sqlite_url], env=CHINESE)

    assert result.exit_code == 0, result.output
    assert session.stderr_at_question == [""]
    assert "删除中" in session.stderr.getvalue()
    assert "已删除 3 次运行" in result.stdout


def test_purge_all_question_shows_run_count(sqlite_url: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    add_runs(sqlite_url, 3)
    session = _TerminalSession(monkeypatch, answer=False)

    runner.invoke(app, ["purge", "--all", "--database-url", sqlite_url], env=CHINESE)

    assert session.questions == ["将永久删除全部 3 次运行及其子项，包括正在运行的。确定继续吗？"]


@pytest.mark.parametrize(("signum", "exit_code"), [(None, 1), (2, 130), (15, 143)],
                         ids=["end-of-input", "ctrl-c", "sigterm"])
def test_interrupted_question_cancels_in_language(sqlite_url: str,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  signum: int | None, exit_code: int) -> None:
    """A signal or the end of input at the y/N question cancels the purge in its language."""
    import signal

    add_runs(sqlite_url, 3)
    monkeypatch.setattr("taskrun_center.cli.maintenance.stdin_is_terminal", lambda: True)

    def interrupted_prompt(*_args: Any, **_kwargs: Any) -> str:
        if signum is not None:
            # The handler that the command installed records the signal, then interrupts.
            handler = signal.getsignal(signum)
            assert callable(handler)
            with contextlib.suppress(KeyboardInterrupt):
                handler(signum, None)
        raise typer.Abort

    monkeypatch.setattr(typer, "prompt", interrupted_prompt)

    result = runner.invoke(app, ["purge", "--older-than", "30d", "--keep-last", "0",
                                 "--database-url", sqlite_url], env=CHINESE)

    assert result.exit_code == exit_code, result.output
    assert "已取消，没有删除任何数据。" in result.output
    assert "Aborted" not in result.output


@pytest.mark.parametrize(("environment", "hint", "done"),
                         [(CHINESE, "请输入 y（是）或 n（否）。", "已删除 3 次运行"),
                          ({"TASKRUN_LANGUAGE": "en"}, "Please answer y (yes) or n (no).",
                           "Deleted 3 runs")])
def test_other_answer_asks_again_in_language(sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
                                             environment: dict[str, str], hint: str,
                                             done: str) -> None:
    """An answer other than yes or no repeats the question with a hint in the CLI language."""
    add_runs(sqlite_url, 3)
    monkeypatch.setattr("taskrun_center.cli.maintenance.stdin_is_terminal", lambda: True)

    result = runner.invoke(app, ["purge", "--all", "--database-url", sqlite_url],
                           input="maybe\n是\n", env=environment)

    assert result.exit_code == 0, result.output
    assert result.output.count("[y/N]: ") == 2
    assert hint in result.output
    assert "invalid input" not in result.output
    assert done in result.output
