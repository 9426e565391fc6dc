"""Ctrl-C and SIGTERM held back while a run is being opened.

Opening a run writes its row first and builds the recorder that could cancel it after that. An
interrupt in between would end the process with the run left running and no line about it. So
the signals that arrive while a run opens are held and raised again when the block ends, when
the caller has the recorder and cancels the run. Opening waits at most for the database's busy
timeout, so the delay is short.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

#: The signals that stop a run's process and are held while the run opens.
HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM inside the block; raise the first one again when it ends.

    The previous handlers are restored first, so the signal reaches what was installed before
    (Python's KeyboardInterrupt, ``sigterm_as_interrupt``, the caller's own handler, or the
    default action). Outside the main thread, where no handler can be installed, nothing
    changes. A signal whose handler C code installed is not held either, because Python
    could not put that handler back.

    NOTE: an event loop that learns of signals through ``signal.set_wakeup_fd`` (asyncio's
    ``add_signal_handler``) sees a held signal twice, once when it arrives and once when it
    is raised again, so its callback runs twice (checked on CPython 3.11).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    received: list[int] = []

    def hold(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    # getsignal returns None for a handler that C code installed.
    signals_to_hold = [signum for signum in HELD_SIGNALS if signal.getsignal(signum) is not None]
    previous = {signum: signal.signal(signum, hold) for signum in signals_to_hold}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if received:
            signal.raise_signal(received[0])
