"""``taskrun exec`` interrupted at the edges of the command's signal forwarding.

A signal that reaches ``taskrun exec`` while the command is being started must still cancel
the run. Under load the command can run (and the caller see its first output) before
``taskrun exec`` has returned from ``Popen``. The scripts below send SIGINT to the recorder
at two such moments, deterministically, by wrapping ``subprocess.Popen`` in the recorder's
process.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from taskrun_center.storage.engine import Database
from tests.runners.processes import REPO_ROOT, taskrun_env
from tests.runners.rows import runs_of

# Sends SIGINT to this process at the moment named by argv[1]: in the at-fork hook or right
# after Popen of the wrapped command (argv[0] == "sh"), or a given signal before the command
# starts. Then it runs the taskrun CLI with the remaining arguments.
_INTERRUPTING_TASKRUN = """
import os, signal, subprocess, sys

moment = sys.argv.pop(1)
armed = []

def interrupt_in_fork_hook():
    if armed:
        armed.clear()
        os.kill(os.getpid(), signal.SIGINT)

os.register_at_fork(after_in_parent=interrupt_in_fork_hook)
real_popen = subprocess.Popen

class InterruptingPopen(real_popen):
    def __init__(self, args, *rest, **options):
        wrapped = list(args)[:1] == ["sh"]
        if wrapped and moment == "fork_hook":
            armed.append(True)
        super().__init__(args, *rest, **options)
        if wrapped and moment == "after_start":
            os.kill(os.getpid(), signal.SIGINT)

subprocess.Popen = InterruptingPopen

def signal_before(owner, name):
    # Sends the signal named after the colon of the moment, then calls the wrapped function.
    signum = signal.Signals[moment.split(":")[1]]
    real = getattr(owner, name)

    def signal_then_call(*args, **options):
        os.kill(os.getpid(), signum)
        return real(*args, **options)

    setattr(owner, name, signal_then_call)

if moment.startswith("before_command:"):
    # Just before the command's item starts, when no handler of taskrun exec forwards yet.
    from taskrun_center.runners.command import runner
    signal_before(runner, "_masked_command_line")

if moment.startswith("opening:"):
    # While the run is being opened: its row is written, its recorder not returned yet.
    from taskrun_center.runners.heartbeat import Heartbeat
    signal_before(Heartbeat, "start")

from taskrun_center.cli.app import main
main()
"""


def _exec_interrupted(url: str, moment: str, *, language: str = "zh-CN",
                      ) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-c", _INTERRUPTING_TASKRUN, moment,
            "exec", "--task-key", "wrapped_job", "--", "sh", "-c", "sleep 5"]
    env = taskrun_env(url, TASKRUN_LANGUAGE=language)
    return subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def _events(stderr: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("moment", ["fork_hook", "after_start"])
def test_sigint_while_command_starts_cancels_run(sqlite_url: str, moment: str) -> None:
    result = _exec_interrupted(sqlite_url, moment)

    database = Database(sqlite_url)
    [run] = runs_of(database, "wrapped_job")
    database.dispose()
    assert result.returncode == 128 + signal.SIGINT, result.stderr
    assert run.status == "cancelled", result.stderr
    interrupted = [event for event in _events(result.stderr)
                   if event["event"] == "run_interrupted"]
    assert len(interrupted) == 1, result.stderr
    assert interrupted[0]["run_id"] == run.run_id


@pytest.mark.parametrize(
    ("signum", "language", "message"),
    [
        (signal.SIGINT, "zh-CN", "已中断：运行 {run_id} 已结束，状态为“已取消”。"),
        (signal.SIGTERM, "en", "Interrupted: run {run_id} ended as Cancelled."),
    ],
    ids=["sigint", "sigterm"],
)
def test_signal_before_command_cancels_run(
    sqlite_url: str, signum: signal.Signals, language: str, message: str
) -> None:
    result = _exec_interrupted(sqlite_url, f"before_command:{signum.name}", language=language)

    database = Database(sqlite_url)
    [run] = runs_of(database, "wrapped_job")
    database.dispose()
    assert result.returncode == 128 + signum, result.stderr
    assert run.status == "cancelled", result.stderr
    assert message.format(run_id=run.run_id) in result.stderr
    events = [event["event"] for event in _events(result.stderr)]
    assert "run_interrupted" in events
    assert "exec_finished" not in events


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
@pytest.mark.parametrize(("command", "task_key"), [
    (("exec", "--task-key", "wrapped_job", "--", "sh", "-c", "sleep 5"), "wrapped_job"),
    (("run", "task_runs_reap"), "task_runs_reap"),
], ids=["exec", "run"])
def test_signal_while_run_opens_cancels_run(sqlite_url: str, signum: signal.Signals,
                                            command: tuple[str, ...], task_key: str) -> None:
    argv = [sys.executable, "-c", _INTERRUPTING_TASKRUN, f"opening:{signum.name}", *command]
    result = subprocess.run(argv, cwd=REPO_ROOT, env=taskrun_env(sqlite_url), capture_output=True,
                            text=True, timeout=120, check=False)

    database = Database(sqlite_url)
    [run] = runs_of(database, task_key)
    database.dispose()
    assert result.returncode == 128 + signum, result.stderr
    assert run.status == "cancelled", result.stderr
    assert run.run_id in result.stderr
    assert "Traceback" not in result.stderr
