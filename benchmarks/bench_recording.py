"""Overhead that recording adds to a task of trivial items, recorded vs unrecorded.

The same task body runs twice per sample: once as a plain function, once as a declared task
through ``run_task`` on a SQLite file, where every item is wrapped in ``ctx.item(...)`` and the
run is opened, heartbeated and finalized. A run with no items gives the fixed cost per run; a
run with 1,000 items gives the cost per item on top. Both sides alternate in one process so
that they see the same machine load.

Target: recording adds at most 2 ms per run plus 0.1 ms per item on SQLite.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.machine import describe_machine
from taskrun_center.logging_setup import configure_logging
from taskrun_center.runners import RunContext, run_task, task
from taskrun_center.storage.engine import Database
from taskrun_center.storage.migrate import upgrade

TARGET_PER_RUN_MS = 2.0
TARGET_PER_ITEM_MS = 0.1
ITEMS = 1000
SCALES = {"smoke": 3, "full": 31}  # samples per side and size


def _work(index: int) -> int:
    # The "trivial item": a little arithmetic, the same on both sides.
    return sum(range(index % 7))


def unrecorded(items: int) -> int:
    """Do the task's work with no recording at all."""
    total = 0
    for index in range(items):
        total += _work(index)
    return total


@task(key="bench_recording", name_zh="记录开销基准", name_en="Recording overhead benchmark")
def recorded(ctx: RunContext, *, items: int = ITEMS, declare: bool = True) -> None:
    """Do the same work, one recorded item per unit, with the items declared up front."""
    if declare:
        ctx.init_items([("unit", str(index)) for index in range(items)])
    total = 0
    for index in range(items):
        with ctx.item("unit", str(index)):
            total += _work(index)


def _time_ms(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return (time.perf_counter() - began) * 1000


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _measure(
    database: Database, samples: int, items: int, declare: bool
) -> tuple[list[float], list[float]]:
    plain: list[float] = []
    wrapped: list[float] = []
    arguments = {"items": items, "declare": declare}
    for _ in range(samples):
        plain.append(_time_ms(lambda: unrecorded(items)))
        wrapped.append(
            _time_ms(lambda: run_task("bench_recording", database=database, arguments=arguments))
        )
    return plain, wrapped


def main(scale: str) -> str:
    """Measure and return the Markdown report."""
    samples = SCALES[scale]
    # Log lines at WARNING and above only, as a quiet production process would. Otherwise the
    # INFO lines of each run (started, finished) would be rendered to the terminal and timed.
    configure_logging(level="WARNING")
    with tempfile.TemporaryDirectory(prefix="taskrun-bench-recording-") as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        database = Database(url)
        # Warm-up (imports, connections, statement caches) with short runs, so that the runs
        # without items are measured before 1,000-item runs have grown the SQLite WAL file.
        _measure(database, 5, 10, True)
        empty_plain, empty_wrapped = _measure(database, samples, 0, False)
        _measure(database, 2, ITEMS, True)
        full_plain, full_wrapped = _measure(database, samples, ITEMS, True)
        lazy_plain, lazy_wrapped = _measure(database, samples, ITEMS, False)
        database.dispose()

    per_run = statistics.median(empty_wrapped) - statistics.median(empty_plain)
    added = statistics.median(full_wrapped) - statistics.median(full_plain)
    added_lazy = statistics.median(lazy_wrapped) - statistics.median(lazy_plain)
    per_item = (added - per_run) / ITEMS
    per_item_lazy = (added_lazy - per_run) / ITEMS
    budget = TARGET_PER_RUN_MS + TARGET_PER_ITEM_MS * ITEMS
    rows = [
        ("no items", empty_plain, empty_wrapped),
        (f"{ITEMS} items, declared with init_items", full_plain, full_wrapped),
        (f"{ITEMS} items, declared by ctx.item", lazy_plain, lazy_wrapped),
    ]
    lines = [
        "# Recording overhead",
        "",
        describe_machine(),
        "",
        f"`python -m benchmarks bench_recording`: {samples} samples per row, SQLite file in a "
        "temporary folder, both sides alternating in one process. Times in milliseconds.",
        "",
        "| task | unrecorded median | recorded median | recorded p95 | added (median) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label, plain, wrapped in rows:
        lines.append(
            f"| {label} | {statistics.median(plain):.2f} | {statistics.median(wrapped):.2f} | "
            f"{_percentile(wrapped, 0.95):.2f} | "
            f"{statistics.median(wrapped) - statistics.median(plain):.2f} |"
        )
    lines += [
        "",
        f"- Fixed cost per run: {per_run:.2f} ms (target ≤ {TARGET_PER_RUN_MS} ms): "
        f"{'met' if per_run <= TARGET_PER_RUN_MS else 'not met'}.",
        f"- Cost per item, items declared up front: {per_item * 1000:.1f} µs "
        f"(target ≤ {TARGET_PER_ITEM_MS * 1000:.0f} µs): "
        f"{'met' if per_item <= TARGET_PER_ITEM_MS else 'not met'}.",
        f"- Cost per item, items declared as they start: {per_item_lazy * 1000:.1f} µs.",
        f"- A run of {ITEMS} items: {added:.1f} ms added against a budget of {budget:.0f} ms: "
        f"{'met' if added <= budget else 'not met'}.",
    ]
    return "\n".join(lines)
