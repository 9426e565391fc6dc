"""The ``taskrun`` console script: a quiet Ctrl-C while the commands are still imported.

Importing the commands takes hundreds of milliseconds, and a Ctrl-C during it would print
Python's traceback. Until they are imported, Ctrl-C ends the process with one line in the CLI
language and exit code 130. This module imports only what Python has loaded at start, and
even ``taskrun_center.i18n`` only once the handler is installed, so that the window before it
stays short. A Ctrl-C before ``i18n`` is loaded ends the process with code 130 and no line.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from taskrun_center.i18n import Language

# The line that an early Ctrl-C prints, in Chinese and English.
INTERRUPTED_BEFORE_START = ("已中断：命令尚未开始。", "Interrupted before the command started.")


def main() -> None:
    """Run the ``taskrun`` command, importing its commands under the early Ctrl-C handler."""
    installed = _handle_early_interrupt()

    # The language rule first: the handler prints its line once it is loaded.
    import taskrun_center.i18n  # noqa: F401
    from taskrun_center.cli.app import main as run_command

    # From here on a KeyboardInterrupt that no command catches reaches Typer, which exits 130
    # without a traceback.
    if installed and signal.getsignal(signal.SIGINT) is _exit_before_start:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    run_command()


def _handle_early_interrupt() -> bool:
    """Install ``_exit_before_start`` for SIGINT; return False when SIGINT was left alone.

    Only Python's own handler is replaced, so an ignored SIGINT (a background job) stays
    ignored. Outside the main thread ``signal.signal`` raises ValueError, and nothing changes.
    """
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return False
    try:
        signal.signal(signal.SIGINT, _exit_before_start)
    except ValueError:
        return False
    return True


def _exit_before_start(_signum: int, _frame: FrameType | None) -> None:
    # Importing from a signal handler could wait on the import it interrupted, so the line is
    # printed only when the language rule is loaded already. A module interrupted while it
    # loads can lack a name, and then the line is left out too rather than a traceback shown.
    if "taskrun_center.i18n" in sys.modules:
        try:
            chinese, english = INTERRUPTED_BEFORE_START
            message = (english if command_line_language() == "en" else chinese) + "\n"
            encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
            os.write(2, message.encode(encoding, "backslashreplace"))
        except Exception:
            pass
    # os._exit: a SystemExit could be swallowed by a module whose import it interrupts, and no
    # command has started that would need cleaning up. 128 + 2 is what a shell reports for a
    # command ended by SIGINT.
    os._exit(128 + signal.SIGINT)


def command_line_language() -> Language:
    """Return the CLI language: ``--lang`` on the command line, else ``TASKRUN_LANGUAGE``.

    ``common.cli_language`` returns it too. It lives here because ``common`` needs typer and
    rich, whose imports are what an early Ctrl-C interrupts.
    """
    from taskrun_center.i18n import normalize_language

    argv = sys.argv[1:]
    for index, argument in enumerate(argv):
        if argument.startswith("--lang="):
            return normalize_language(argument.split("=", 1)[1])
        if argument == "--lang" and index + 1 < len(argv):
            return normalize_language(argv[index + 1])
    return normalize_language(os.environ.get("TASKRUN_LANGUAGE"))
