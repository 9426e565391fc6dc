"""Ctrl-C while ``record_run`` opens its run: the signal waits until the run can be cancelled."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import pytest

from taskrun_center.runners import record_run, recording
from taskrun_center.runners.heartbeat import Heartbeat
from taskrun_center.storage.engine import Database
from tests.runners.rows import runs_of


@pytest.fixture
def interrupt_while_opening(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Return ``arrange(step)``: SIGINT arrives inside ``RunRecorder.open`` right after ``step``.

    ``step`` is ``"row"`` (the run's row is committed) or ``"heartbeat"`` (its heartbeat is
    started, the last step of the open).
    """
    def arrange(step: str) -> None:
        if step == "row":
            resolve_run = recording._resolve_run

            def resolve_then_interrupt(*args: Any, **kwargs: Any) -> Any:
                run = resolve_run(*args, **kwargs)
                signal.raise_signal(signal.SIGINT)
                return run

            monkeypatch.setattr(recording, "_resolve_run", resolve_then_interrupt)
        else:
            start = Heartbeat.start

            def start_then_interrupt(self: Heartbeat) -> Heartbeat:
                started = start(self)
                signal.raise_signal(signal.SIGINT)
                return started

            monkeypatch.setattr(Heartbeat, "start", start_then_interrupt)

    return arrange


@pytest.fixture
def sigint_handler() -> Iterator[list[int]]:
    """Install a SIGINT handler that only records each signal number; yield the numbers."""
    noted: list[int] = []

    def note(signum: int, _frame: FrameType | None) -> None:
        noted.append(signum)

    previous = signal.signal(signal.SIGINT, note)
    try:
        yield noted
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize("step", ["row", "heartbeat"])
def test_interrupt_while_opening_cancels_run(
    database: Database, interrupt_while_opening: Callable[[str], None], step: str
) -> None:
    interrupt_while_opening(step)
    block_ran = False

    with pytest.raises(KeyboardInterrupt), record_run("adhoc_open_interrupted", database=database):
        block_ran = True

    assert not block_ran
    [run] = runs_of(database, "adhoc_open_interrupted")
    assert run.status == "cancelled"


def test_held_signal_reaches_own_handler(
    database: Database, interrupt_while_opening: Callable[[str], None],
    sigint_handler: list[int],
) -> None:
    """A caller's own SIGINT handler gets the signal once the run is open, and nothing stops."""
    interrupt_while_opening("row")

    with record_run("adhoc_open_interrupted", database=database):
        noted_in_block = list(sigint_handler)

    assert noted_in_block == [signal.SIGINT]
    assert sigint_handler == [signal.SIGINT]
    assert signal.getsignal(signal.SIGINT).__name__ == "note"
    [run] = runs_of(database, "adhoc_open_interrupted")
    assert run.status == "completed"
