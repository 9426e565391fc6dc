"""Start a command in its own process group, forward signals to it, and collect its output.

Exit status follows the shell's convention: the command's own status when it exits, 128+N when
signal N ends it, 127 when the command does not exist and 126 when it cannot be executed.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import IO, Any

import structlog

from taskrun_center.i18n import Text
from taskrun_center.runners.command.output import (
    DEFAULT_TAIL_LINES,
    OutputTail,
    StreamPump,
    storable_text,
)

logger = structlog.get_logger(__name__)

EXIT_NOT_EXECUTABLE = 126
EXIT_NOT_FOUND = 127
SIGNAL_EXIT_BASE = 128
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# After a cancellation request the command gets this long to exit on SIGTERM before SIGKILL.
DEFAULT_STOP_GRACE_SECONDS = 10.0
POLL_SECONDS = 0.2
# prctl(2) option that sets the signal a process gets when the thread that forked it exits.
_PR_SET_PDEATHSIG = 1

COMMAND_NOT_FOUND = Text(
    "找不到命令 {program}：请检查命令名和 PATH，或写出程序的完整路径",
    "command not found: {program}; check the name and PATH, or give the program's full path",
)
COMMAND_IS_DIRECTORY = Text(
    "无法执行 {program}：它是目录；请在 -- 之后写要运行的程序",
    "cannot execute {program}: it is a directory; give the program to run after --",
)
COMMAND_NOT_EXECUTABLE = Text(
    "没有执行 {program} 的权限：请用 chmod +x 给它执行权限，或通过解释器运行它（例如 sh 脚本.sh）",
    "permission denied: {program} is not executable; make it executable (chmod +x) or run "
    "it through its interpreter (such as sh script.sh)",
)
COMMAND_CANNOT_START = Text(
    "无法执行 {program}：{reason}；请确认它是本机可以运行的程序或带 #! 行的脚本",
    "cannot execute {program}: {reason}; check that it is a program for this machine or a "
    "script with a #! line",
)


@dataclass
class CommandResult:
    """The outcome of one command: exit status, signal, output tails and metric lines."""

    exit_code: int
    duration_ms: int
    signal_name: str | None = None
    # Why the command could not start, in both languages, or None when it started.
    start_error: Text | None = None
    forwarded_signal: str | None = None
    stopped_on_request: bool = False
    stdout: OutputTail = field(default_factory=OutputTail)
    stderr: OutputTail = field(default_factory=OutputTail)
    # (place, metric) of each metric line the contract accepted on its own, stdout first.
    metrics: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    ignored_metric_lines: list[str] = field(default_factory=list)

    @property
    def interrupted(self) -> bool:
        """True when a signal sent to ``taskrun exec`` or a cancellation stopped the command."""
        return self.forwarded_signal is not None or self.stopped_on_request


def exit_code_of(returncode: int) -> int:
    """Map ``Popen.returncode`` to a shell-style exit status (``-N`` becomes ``128+N``)."""
    return SIGNAL_EXIT_BASE - returncode if returncode < 0 else returncode


def run_command(
    argv: Sequence[str],
    *,
    passthrough: bool = True,
    tail_lines: int = DEFAULT_TAIL_LINES,
    should_stop: Callable[[], bool] | None = None,
    stop_grace_seconds: float = DEFAULT_STOP_GRACE_SECONDS,
    known_secrets: Sequence[str] = (),
) -> CommandResult:
    """Run ``argv`` to its end in a new process group and return what happened.

    SIGINT, SIGTERM and SIGHUP received meanwhile are forwarded to the command's process group
    (only when called from the main thread, where Python delivers signals). ``should_stop`` is
    polled a few times a second; once it returns True the group gets SIGTERM, then SIGKILL after
    ``stop_grace_seconds``. ``known_secrets`` (longest first) are masked in every output line
    before it is kept or read as a metric line.

    On Linux the command gets SIGKILL when the calling thread dies (even by SIGKILL), so it never
    outlives its recorder; elsewhere it keeps running on its own.
    """
    started = time.monotonic()
    result = CommandResult(exit_code=0, duration_ms=0)
    # The handlers are installed before the fork, so a signal that arrives while the command
    # starts is kept and forwarded once it runs. Python's default SIGINT handler would raise
    # KeyboardInterrupt there instead. Inside an at-fork hook CPython (3.11) even prints that
    # exception as unraisable and drops it, and the command then runs to its end.
    with _forward_signals(result) as forwarder:
        try:
            process = subprocess.Popen(
                list(argv),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                # The hook makes two system calls and touches no lock, so it is safe with
                # threads.
                preexec_fn=_die_with_parent_hook(),  # noqa: PLW1509
            )
        except OSError as error:
            exit_code, reason = _start_failure(argv[0], error)
            result.exit_code = exit_code
            result.duration_ms = int((time.monotonic() - started) * 1000)
            result.start_error = reason
            return result
        forwarder.attach(process)
        pumps = _start_pumps(process, result, tail_lines, passthrough, known_secrets)
        _wait(process, result, should_stop, stop_grace_seconds)
    if result.forwarded_signal is not None:
        logger.info("exec_signal_forwarded", signal=result.forwarded_signal, pid=process.pid)
    for pump in pumps:
        pump.join()
        result.metrics.extend(pump.metrics)
        result.ignored_metric_lines.extend(pump.ignored_metric_lines)

    result.duration_ms = int((time.monotonic() - started) * 1000)
    result.exit_code = exit_code_of(process.returncode)
    if process.returncode < 0:
        result.signal_name = signal.Signals(-process.returncode).name
    return result


def _start_pumps(
    process: subprocess.Popen[bytes],
    result: CommandResult,
    tail_lines: int,
    passthrough: bool,
    known_secrets: Sequence[str],
) -> list[StreamPump]:
    result.stdout = OutputTail(tail_lines)
    result.stderr = OutputTail(tail_lines)
    assert process.stdout is not None and process.stderr is not None
    return [
        StreamPump(
            process.stdout, _terminal(sys.stdout, passthrough), result.stdout, "stdout",
            known_secrets,
        ).start(),
        StreamPump(
            process.stderr, _terminal(sys.stderr, passthrough), result.stderr, "stderr",
            known_secrets,
        ).start(),
    ]


@functools.cache
def _load_prctl() -> Any:
    """Return libc's prctl, loaded once before any fork, or None off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl
    except (OSError, AttributeError):
        return None


def _die_with_parent_hook() -> Callable[[], None] | None:
    """Return a pre-exec hook that sets the parent-death signal, or None off Linux."""
    prctl = _load_prctl()
    if prctl is None:
        return None
    parent_pid = os.getpid()

    def set_death_signal() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        # The parent may have died before prctl ran; then no signal would ever come.
        if os.getppid() != parent_pid:
            os._exit(SIGNAL_EXIT_BASE + int(signal.SIGKILL))

    # NOTE: the signal follows the forking thread, not the process, and reaches only the
    # command itself; children it starts in turn are not covered.
    return set_death_signal


def _start_failure(program: str, error: OSError) -> tuple[int, Text]:
    """Return the exit status and the reason of a command that could not start."""
    storable_program = storable_text(program)
    if isinstance(error, FileNotFoundError):
        return EXIT_NOT_FOUND, _fill(COMMAND_NOT_FOUND, program=storable_program)
    # A bare name is looked up on PATH, so only a path names the directory that failed.
    if os.sep in program and os.path.isdir(program):
        return EXIT_NOT_EXECUTABLE, _fill(COMMAND_IS_DIRECTORY, program=storable_program)
    if isinstance(error, PermissionError):
        return EXIT_NOT_EXECUTABLE, _fill(COMMAND_NOT_EXECUTABLE, program=storable_program)
    return EXIT_NOT_EXECUTABLE, _fill(COMMAND_CANNOT_START, program=storable_program,
                                      reason=error.strerror or str(error))


def _fill(template: Text, **params: object) -> Text:
    """Return ``template`` with ``params`` filled in, in both languages."""
    return Text(template.zh.format(**params), template.en.format(**params))


def _terminal(stream: Any, passthrough: bool) -> IO[bytes] | None:
    if not passthrough:
        return None
    return getattr(stream, "buffer", None)


def _wait(
    process: subprocess.Popen[bytes],
    result: CommandResult,
    should_stop: Callable[[], bool] | None,
    grace_seconds: float,
) -> None:
    kill_at: float | None = None
    while process.poll() is None:
        try:
            process.wait(timeout=POLL_SECONDS)
            break
        except subprocess.TimeoutExpired:
            pass
        if kill_at is None and should_stop is not None and should_stop():
            result.stopped_on_request = True
            _signal_group(process, signal.SIGTERM)
            kill_at = time.monotonic() + grace_seconds
        elif kill_at is not None and time.monotonic() >= kill_at:
            _signal_group(process, signal.SIGKILL)
            kill_at = float("inf")


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    # The group is gone once the command and its children have exited.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


class _forward_signals:
    """Install handlers that pass SIGINT, SIGTERM and SIGHUP on to the command's group.

    The first signal is passed on. A second one kills the group with SIGKILL: a command that
    ignores the signal would otherwise hold ``taskrun exec`` and its run for good. A signal
    that arrives before ``attach`` names the process is kept and sent by ``attach``. When the
    command never starts, it still marks the result as interrupted.
    """

    def __init__(self, result: CommandResult) -> None:
        self.result = result
        self.process: subprocess.Popen[bytes] | None = None
        self._previous: dict[int, Any] = {}
        self._received = 0
        self._pending: int | None = None

    def __enter__(self) -> _forward_signals:
        if threading.current_thread() is threading.main_thread():
            for signum in FORWARDED_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._forward)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def attach(self, process: subprocess.Popen[bytes]) -> None:
        """Forward signals to ``process`` from now on, and any signal received before."""
        self.process = process
        pending, self._pending = self._pending, None
        if pending is not None:
            _signal_group(process, pending)
            if self._received > 1:
                _signal_group(process, signal.SIGKILL)

    def _forward(self, signum: int, _frame: FrameType | None) -> None:
        # Only flags and a system call here: logging from a signal handler can interleave with
        # a log line the main thread is writing.
        self._received += 1
        if self._received == 1:
            self.result.forwarded_signal = signal.Signals(signum).name
        if self.process is None:
            self._pending = self._pending or signum
            return
        if self._received > 1:
            # A second Ctrl-C or SIGTERM: the command ignored the first, and the user insists.
            _signal_group(self.process, signal.SIGKILL)
            return
        _signal_group(self.process, signum)
