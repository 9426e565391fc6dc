"""LogThrottle: one warning per key and interval, with the count of those held back."""

from __future__ import annotations

from taskrun_center.log_throttle import LogThrottle


class FakeClock:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_first_event_is_due() -> None:
    throttle = LogThrottle(60, clock=FakeClock())

    assert throttle.due("row-1") == 0


def test_repeat_within_interval_is_held_back() -> None:
    clock = FakeClock()
    throttle = LogThrottle(60, clock=clock)
    throttle.due("row-1")

    clock.now += 59
    repeats = [throttle.due("row-1"), throttle.due("row-1")]
    clock.now += 1
    after = throttle.due("row-1")

    assert repeats == [None, None]
    assert after == 2


def test_keys_are_independent() -> None:
    throttle = LogThrottle(60, clock=FakeClock())
    throttle.due("row-1")

    assert throttle.due("row-2") == 0
    assert throttle.due("row-1") is None


def test_oldest_key_is_forgotten_beyond_max_keys() -> None:
    throttle = LogThrottle(60, max_keys=2, clock=FakeClock())
    throttle.due("row-1")
    throttle.due("row-2")
    throttle.due("row-3")

    assert throttle.due("row-1") == 0
    assert throttle.due("row-3") is None
