"""Login throttling: too many failures lock a username at one address, an address, or a username.

Failures count three times in a sliding window: per (username, client address) with a low
limit, per client address with a higher one, and per username over all addresses with the
highest. One user's typos then lock only that user at that address, a client guessing many
usernames hits the address limit, and guesses at one account from many addresses hit the
username limit. The trade-off of the last one: anyone can lock an account out for the window
by failing that often, its owner included. Counters live in this process's memory, so with
several server processes each process counts on its own.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDRESS = 20
MAX_FAILURES_PER_USERNAME = 50
WINDOW_SECONDS = 300.0
# Bound on remembered keys, so a flood of distinct usernames cannot grow memory without limit.
MAX_TRACKED_KEYS = 10_000


class LoginThrottle:
    """Count failed logins per (username, address), per address and per username."""

    def __init__(
        self,
        max_failures_per_user: int = MAX_FAILURES_PER_USER,
        max_failures_per_address: int = MAX_FAILURES_PER_ADDRESS,
        window_seconds: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_failures_per_username: int = MAX_FAILURES_PER_USERNAME,
    ) -> None:
        self.max_failures_per_user = max_failures_per_user
        self.max_failures_per_address = max_failures_per_address
        self.max_failures_per_username = max_failures_per_username
        self.window_seconds = window_seconds
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, username: str, address: str) -> int:
        """Return the seconds until ``username`` may try again from ``address``; 0 if not locked."""
        now = self._clock()
        wait = 0.0
        with self._lock:
            for key, limit in self._limits(username, address):
                attempts = self._recent(key, now)
                if len(attempts) >= limit:
                    wait = max(wait, attempts[-limit] + self.window_seconds - now)
        return math.ceil(wait) if wait > 0 else 0

    def record_failure(self, username: str, address: str) -> None:
        """Count one failed login of ``username`` from ``address``."""
        now = self._clock()
        with self._lock:
            if len(self._failures) >= MAX_TRACKED_KEYS:
                self._make_room(now)
            for key, _ in self._limits(username, address):
                self._recent(key, now).append(now)

    def reset(self, username: str, address: str) -> None:
        """Forget the failures of ``username`` at ``address`` after it signed in.

        The address and username counters stay. Signing in to one account then does not clear
        the failures a client piled up against other usernames, and the owner signing in does
        not clear the guesses others made at the account from elsewhere.
        """
        with self._lock:
            self._failures.pop(_user_key(username, address), None)

    def _make_room(self, now: float) -> None:
        """Forget counters that lock nothing, so that a flood of new keys cannot unlock a user.

        Clearing every counter at the bound would let a client with enough addresses unlock
        the account it guesses at. Expired and below-limit counters go first. Only when locks
        alone fill the bound do the oldest of them go, down to half of it.
        """
        limits = {"user": self.max_failures_per_user, "addr": self.max_failures_per_address,
                  "name": self.max_failures_per_username}
        for key in list(self._failures):
            if len(self._recent(key, now)) < limits[key.partition(":")[0]]:
                del self._failures[key]
        if len(self._failures) >= MAX_TRACKED_KEYS:
            by_age = sorted(self._failures, key=lambda key: self._failures[key][-1])
            for key in by_age[: len(by_age) - MAX_TRACKED_KEYS // 2]:
                del self._failures[key]

    def _limits(self, username: str, address: str) -> tuple[tuple[str, int], ...]:
        return (
            (_user_key(username, address), self.max_failures_per_user),
            (f"addr:{address}", self.max_failures_per_address),
            (f"name:{username.lower()}", self.max_failures_per_username),
        )

    def _recent(self, key: str, now: float) -> deque[float]:
        attempts = self._failures.setdefault(key, deque())
        while attempts and attempts[0] <= now - self.window_seconds:
            attempts.popleft()
        return attempts


def _user_key(username: str, address: str) -> str:
    # The NUL byte cannot occur in an address, so distinct pairs never share a key.
    return f"user:{address}\0{username.lower()}"
