"""Login throttling: too many failures for one username or one client address lock it briefly.

Counters live in this process's memory, so with several server processes each process counts
on its own. Even then, each process still limits guessing to a few attempts per minute.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

MAX_FAILURES = 5
WINDOW_SECONDS = 300.0
# Bound on remembered keys, so a flood of distinct usernames cannot grow memory without limit.
MAX_TRACKED_KEYS = 10_000


class LoginThrottle:
    """Count failed logins per key in a sliding window and report how long a key is locked."""

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window_seconds: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, *keys: str) -> int:
        """Return the seconds until every key may try again; 0 when none is locked."""
        now = self._clock()
        wait = 0.0
        with self._lock:
            for key in keys:
                attempts = self._recent(key, now)
                if len(attempts) >= self.max_failures:
                    wait = max(wait, attempts[0] + self.window_seconds - now)
        return math.ceil(wait) if wait > 0 else 0

    def record_failure(self, *keys: str) -> None:
        """Count one failed login against each key."""
        now = self._clock()
        with self._lock:
            if len(self._failures) >= MAX_TRACKED_KEYS:
                self._failures.clear()
            for key in keys:
                self._recent(key, now).append(now)

    def reset(self, *keys: str) -> None:
        """Forget the failures of keys after a successful login."""
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        attempts = self._failures.setdefault(key, deque())
        while attempts and attempts[0] <= now - self.window_seconds:
            attempts.popleft()
        return attempts
