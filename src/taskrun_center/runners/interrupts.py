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
    (Python's KeyboardInterrupt, ``sigterm_as_interrupt``, or the default action). Outside the
    main thread, where no handler can be installed, nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    received: list[int] = []

    def hold(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    previous = {signum: signal.signal(signum, hold) for signum in HELD_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            # None: a handler that C code installed, which Python cannot put back.
            if handler is not None:
                signal.signal(signum, handler)
        if received:
            signal.raise_signal(received[0])
