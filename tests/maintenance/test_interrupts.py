"""A real SIGINT sent to this process during purge, wipe and audit, and the gate around commits.

pytest runs the tests in the main thread, where the fixture below installs Python's default
SIGINT handler. It raises ``KeyboardInterrupt``, as in the ``taskrun`` command.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from datetime import timedelta

import pytest

from taskrun_center.maintenance import MaintenanceInterrupted, audit_runs
from taskrun_center.maintenance.audit import AuditProgress
from taskrun_center.maintenance.interrupts import InterruptGate
from taskrun_center.maintenance.purge import PurgeProgress, purge_runs, wipe_all_runs
from taskrun_center.storage.engine import Database
from tests.maintenance.bulk_rows import add_runs, count_rows


@pytest.fixture(autouse=True)
def default_sigint_handler() -> Iterator[None]:
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _send_sigint() -> None:
    os.kill(os.getpid(), signal.SIGINT)


def test_purge_interrupt_reports_committed_batches(database: Database,
                                                   database_url: str) -> None:
    add_runs(database_url, 30)

    def interrupt_after_two(progress: PurgeProgress) -> None:
        if progress.batches == 2:
            _send_sigint()

    with pytest.raises(MaintenanceInterrupted) as raised:
        purge_runs(database, older_than=timedelta(days=30), keep_last=0, batch_size=5,
                   batch_seconds=60, on_progress=interrupt_after_two)

    result = raised.value.result
    runs, items = count_rows(database_url)
    assert isinstance(raised.value, KeyboardInterrupt)
    assert raised.value.operation == "purge"
    assert result.interrupted is True
    assert result.batches == 2
    assert result.runs == 10
    assert result.items == 10
    assert (runs, items) == (20, 20)
    assert result.duration_seconds > 0
    assert result.to_dict()["interrupted"] is True


def test_wipe_interrupt_reports_committed_batches(database: Database,
                                                  database_url: str) -> None:
    add_runs(database_url, 12)

    def interrupt_after_one(progress: PurgeProgress) -> None:
        _send_sigint()

    with pytest.raises(MaintenanceInterrupted) as raised:
        wipe_all_runs(database, batch_size=4, batch_seconds=60, on_progress=interrupt_after_one)

    assert raised.value.operation == "wipe"
    assert raised.value.result.runs == 4
    assert count_rows(database_url) == (8, 8)


def test_audit_interrupt_counts_runs_checked(database: Database, database_url: str) -> None:
    add_runs(database_url, 10)

    def interrupt_after_three(progress: AuditProgress) -> None:
        if progress.checked == 3:
            _send_sigint()

    with pytest.raises(MaintenanceInterrupted) as raised:
        audit_runs(database, batch_size=1, on_progress=interrupt_after_three)

    result = raised.value.result
    assert raised.value.operation == "audit"
    assert result.interrupted is True
    assert result.scanned == 3
    assert result.items_scanned == 0
    assert result.to_dict()["interrupted"] is True


def test_gate_delivers_held_signal_at_end() -> None:
    steps: list[str] = []

    with pytest.raises(KeyboardInterrupt), InterruptGate() as gate:
        gate.hold()
        _send_sigint()
        steps.append("counted")

    assert steps == ["counted"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_gate_passes_signal_before_hold() -> None:
    steps: list[str] = []

    with pytest.raises(KeyboardInterrupt), InterruptGate():
        _send_sigint()
        steps.append("not reached")

    assert steps == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_gate_holds_sigterm_with_a_handler() -> None:
    """The CLI makes SIGTERM raise KeyboardInterrupt, and the gate delays it like SIGINT."""
    from taskrun_center.cli.common import sigterm_as_interrupt

    steps: list[str] = []
    before = signal.getsignal(signal.SIGTERM)
    with sigterm_as_interrupt() as received:
        with pytest.raises(KeyboardInterrupt), InterruptGate() as gate:
            gate.hold()
            os.kill(os.getpid(), signal.SIGTERM)
            steps.append("counted")
        handler_inside = signal.getsignal(signal.SIGTERM)

    assert steps == ["counted"]
    assert received == {"signum": signal.SIGTERM}
    assert callable(handler_inside)
    assert signal.getsignal(signal.SIGTERM) is before


def test_gate_keeps_ignored_sigint_ignored() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    with InterruptGate() as gate:
        gate.hold()
        _send_sigint()

    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_interrupt_while_planning_waits_for_reads(database: Database, database_url: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C during the planning reads arrives after them, before any batch."""
    from taskrun_center.maintenance import purge

    add_runs(database_url, 10)
    counted: list[int] = []
    real_count = purge._count

    def count_then_interrupt(session: object, conditions: object) -> int:
        _send_sigint()
        counted.append(real_count(session, conditions))  # type: ignore[arg-type]
        return counted[-1]

    monkeypatch.setattr(purge, "_count", count_then_interrupt)

    with pytest.raises(MaintenanceInterrupted) as raised:
        purge_runs(database, older_than=timedelta(days=30), keep_last=0, batch_size=5)

    assert counted == [10]
    assert raised.value.result.batches == 0
    assert count_rows(database_url) == (10, 10)
