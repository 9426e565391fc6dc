"""Overhead that recording adds to a task of trivial items, recorded vs unrecorded.

The same task body runs twice per sample: once as a plain function, once as a declared task
through ``run_task`` on a SQLite file, where every item is wrapped in ``ctx.item(...)`` and the
run is opened, heartbeated and finalized. A run with no items gives the fixed cost per run; a
run with 1,000 items gives the cost per item on top. Both sides alternate in one process so
that they see the same machine load.

Target: recording adds at most 2 ms per run plus 0.1 ms per item on SQLite, in wall-clock time.
The CPU time of the process (all its threads) is reported beside it: on a shared machine it
moves less with the load of other processes than the wall clock does.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.machine import describe_machine
from taskrun_center.lifecycle.write_service import TaskRunsWriteService
from taskrun_center.logging_setup import configure_logging
from taskrun_center.runners import RunContext, run_task, task
from taskrun_center.runners.summary import summary_from_counts
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


@dataclass
class Timings:
    """Wall-clock and process CPU times of one side of one row, in milliseconds."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def add(self, action: Callable[[], object]) -> None:
        """Run ``action`` once and record its times."""
        wall_began, cpu_began = time.perf_counter(), time.process_time()
        action()
        self.wall.append((time.perf_counter() - wall_began) * 1000)
        self.cpu.append((time.process_time() - cpu_began) * 1000)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _measure(
    database: Database, samples: int, items: int, declare: bool
) -> tuple[Timings, Timings]:
    plain = Timings()
    wrapped = Timings()
    arguments = {"items": items, "declare": declare}
    for _ in range(samples):
        plain.add(lambda: unrecorded(items))
        wrapped.add(lambda: run_task("bench_recording", database=database, arguments=arguments))
    return plain, wrapped


def _service_only(database: Database) -> None:
    # What any recorded run costs at least: the write service starting and finalizing it,
    # with the same summary a task without items ends with.
    with database.transaction() as session:
        run_id = TaskRunsWriteService(session).start_run(task_key="bench_recording").run_id
    summary = summary_from_counts("bench_recording", 0, 0, "zh-CN")
    with database.transaction() as session:
        TaskRunsWriteService(session).finalize_run_with_summary(run_id, summary)


def _measure_service(database: Database, samples: int) -> Timings:
    timings = Timings()
    for _ in range(samples):
        timings.add(lambda: _service_only(database))
    return timings


def _added(plain: list[float], wrapped: list[float]) -> float:
    return statistics.median(wrapped) - statistics.median(plain)


def _verdict(value: float, target: float) -> str:
    return "met" if value <= target else "not met"


def _conclusions(rows: dict[str, tuple[Timings, Timings]], clock: str) -> list[str]:
    empty, full, lazy = (rows[key] for key in ("empty", "full", "lazy"))
    per_run = _added(getattr(empty[0], clock), getattr(empty[1], clock))
    added = _added(getattr(full[0], clock), getattr(full[1], clock))
    added_lazy = _added(getattr(lazy[0], clock), getattr(lazy[1], clock))
    per_item = (added - per_run) / ITEMS
    per_item_lazy = (added_lazy - per_run) / ITEMS
    budget = TARGET_PER_RUN_MS + TARGET_PER_ITEM_MS * ITEMS
    return [
        f"- Fixed cost per run: {per_run:.2f} ms (target ≤ {TARGET_PER_RUN_MS} ms): "
        f"{_verdict(per_run, TARGET_PER_RUN_MS)}.",
        f"- Cost per item, items declared up front: {per_item * 1000:.1f} µs "
        f"(target ≤ {TARGET_PER_ITEM_MS * 1000:.0f} µs): "
        f"{_verdict(per_item, TARGET_PER_ITEM_MS)}.",
        f"- Cost per item, items declared as they start: {per_item_lazy * 1000:.1f} µs.",
        f"- A run of {ITEMS} items: {added:.1f} ms added against a budget of {budget:.0f} ms: "
        f"{_verdict(added, budget)}.",
    ]


def _table(rows: dict[str, tuple[Timings, Timings]]) -> list[str]:
    labels = {
        "empty": "no items",
        "full": f"{ITEMS} items, declared with init_items",
        "lazy": f"{ITEMS} items, declared by ctx.item",
    }
    lines = [
        "| task | unrecorded wall | recorded wall | recorded wall p95 | added wall | added CPU |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, (plain, wrapped) in rows.items():
        lines.append(
            f"| {labels[key]} | {statistics.median(plain.wall):.2f} | "
            f"{statistics.median(wrapped.wall):.2f} | {_percentile(wrapped.wall, 0.95):.2f} | "
            f"{_added(plain.wall, wrapped.wall):.2f} | {_added(plain.cpu, wrapped.cpu):.2f} |"
        )
    return lines


def main(scale: str) -> str:
    """Measure and return the Markdown report."""
    samples = SCALES[scale]
    # Log lines at WARNING and above only, as a quiet production process would. Otherwise the
    # INFO lines of each run (started, finished) would be rendered to the terminal and timed.
    configure_logging(level="WARNING")
    rows: dict[str, tuple[Timings, Timings]] = {}
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="taskrun-bench-recording-") as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        database = Database(url)
        # Warm-up (imports, connections, statement caches) with short runs, so that the runs
        # without items are measured before 1,000-item runs have grown the SQLite WAL file.
        _measure(database, 5, 10, True)
        rows["empty"] = _measure(database, samples, 0, False)
        service = _measure_service(database, samples)
        _measure(database, 2, ITEMS, True)
        rows["full"] = _measure(database, samples, ITEMS, True)
        rows["lazy"] = _measure(database, samples, ITEMS, False)
        database.dispose()
    load_after = os.getloadavg()[0]

    return "\n".join(
        [
            "# Recording overhead",
            "",
            describe_machine(),
            "",
            f"`python -m benchmarks bench_recording`: {samples} samples per row, SQLite file in "
            "a temporary folder, both sides alternating in one process. Medians in "
            "milliseconds; CPU is the process time of all threads. The one-minute load "
            f"average was {load_before:.1f} at the start and {load_after:.1f} at the end, on "
            f"{os.cpu_count()} cores.",
            "",
            *_table(rows),
            "",
            "Wall clock:",
            "",
            *_conclusions(rows, "wall"),
            "",
            "CPU time:",
            "",
            *_conclusions(rows, "cpu"),
            "",
            f"Of the fixed cost, the write service alone (`start_run`, then "
            f"`finalize_run_with_summary`, each in its own transaction) takes "
            f"{statistics.median(service.wall):.2f} ms wall, "
            f"{statistics.median(service.cpu):.2f} ms CPU, measured in the same run.",
        ]
    )
