"""A limit on warnings that would repeat on every read of the same stored row.

A row whose JSON text was edited by hand is read again by every list page, API call and live
refresh that shows it. Its warning is useful once in a while, not once per read, so callers ask
a ``LogThrottle`` whether the warning for a key is due, and log how many were held back.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable


class LogThrottle:
    """The times at which a repeated warning was last logged, per key.

    At most ``max_keys`` keys are kept (the least recently logged is forgotten first), so memory
    stays bounded whatever the number of distinct bad rows. Safe to share between threads.
    """

    def __init__(self, interval_seconds: float, *, max_keys: int = 1024,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_seconds = interval_seconds
        self.max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        # key -> (time it was last logged, events held back since then)
        self._entries: OrderedDict[Hashable, tuple[float, int]] = OrderedDict()

    def due(self, key: Hashable) -> int | None:
        """Record one event for ``key``; return the count held back since the last log, or None.

        None means the event falls within ``interval_seconds`` of the last logged one for
        ``key`` and should not be logged. A number (0 or more) means log it now.
        """
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and now - entry[0] < self.interval_seconds:
                self._entries[key] = (entry[0], entry[1] + 1)
                return None

            held_back = entry[1] if entry is not None else 0
            self._entries[key] = (now, 0)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_keys:
                self._entries.popitem(last=False)
            return held_back
