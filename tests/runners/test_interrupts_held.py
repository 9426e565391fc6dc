"""``interrupts_held`` holds only the signals whose handlers it can put back."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from taskrun_center.runners.interrupts import interrupts_held


def test_c_installed_handler_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM with a handler installed by C code (getsignal None) is neither held nor replaced."""
    real_getsignal = signal.getsignal
    real_signal = signal.signal
    installed: list[int] = []

    def getsignal(signum: int) -> Any:
        return None if signum == signal.SIGTERM else real_getsignal(signum)

    def install(signum: int, handler: Any) -> Any:
        installed.append(signum)
        return real_signal(signum, handler)

    monkeypatch.setattr(signal, "getsignal", getsignal)
    monkeypatch.setattr(signal, "signal", install)
    sigint_before = real_getsignal(signal.SIGINT)

    with interrupts_held():
        sigint_inside = real_getsignal(signal.SIGINT)

    assert signal.SIGTERM not in installed
    assert sigint_inside is not sigint_before
    assert real_getsignal(signal.SIGINT) is sigint_before
