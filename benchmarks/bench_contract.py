"""Cost of the summary contract: check_summary on a typical summary, and masking large texts.

``check_summary`` runs on every summary write, so its median on a typical summary of about
2 KiB is measured next to the bare pydantic validation of the same dict (structure only: no
normalisation, secret or capacity guards). Target: median below 100 µs. Masking is measured on
64 KiB texts, the largest item details the storage layer keeps, because the runners mask every
exception message and command output.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from benchmarks.machine import describe_machine
from taskrun_center.config import SummaryLimits
from taskrun_center.contract import (
    SummaryValidationError,
    TaskRunSummaryV1,
    TaskTypeRegistry,
    build_summary,
    check_summary,
    mask_json,
    mask_text,
)

TARGET_MICROSECONDS = 100.0
SCALES = {"smoke": (2_000, 20), "full": (50_000, 300)}  # summary checks, mask runs
LIMITS = SummaryLimits()
REGISTRY = TaskTypeRegistry()


def typical_summary() -> dict[str, Any]:
    """Return a summary of about 2 KiB, shaped like what the built-in and example tasks write."""
    metrics = [
        {"key": f"metric_{index}", "label": f"指标 {index}", "value": index * 37,
         "unit": "个", "tone": ("info", "success", "warning", "danger")[index % 4]}
        for index in range(10)
    ]
    return build_summary(
        "sync_accounts",
        metrics=metrics,
        highlights=[f"实例 prod-{index} 同步完成，新增账号 {index * 7} 个，停用 {index} 个"
                    for index in range(5)],
        inputs={"instance_ids": [101, 102, 103, 104, 105, 106], "mode": "full", "dry_run": False,
                "requested_by": "scheduler"},
        scope_target={"cluster": "prod-east", "database": "postgresql://app@db.internal:5432/acc",
                      "engines": ["mysql", "postgresql", "oracle"]},
        scope_time={"type": "date", "timezone": "Asia/Shanghai", "date": "2026-01-02"},
        ext_data={
            "instances_total": 12, "instances_failed": 1, "accounts_added": 321,
            "accounts_disabled": 12, "accounts_unchanged": 5210,
            "by_engine": {"mysql": {"instances": 5, "accounts": 2100},
                          "postgresql": {"instances": 4, "accounts": 1800},
                          "oracle": {"instances": 3, "accounts": 1643}},
            "slowest_instance": "prod-7", "slowest_seconds": 41.5,
            "note": "第二批次在维护窗口内完成",
        },
        registry=REGISTRY,
    )


def log_text(size: int, secrets: bool) -> str:
    """Return ``size`` characters of log lines, with a secret or personal datum every 20 lines."""
    clean = ("2026-01-02 03:04:05 INFO sync instance prod-{n} host db-{n}.internal:5432 "
             "rows=1234 duration=0.82s 同步完成\n")
    dirty = ("2026-01-02 03:04:05 ERROR connect postgresql://app:Pw{n}xyz@db-{n}.internal/acc "
             "failed; notify ops{n}@example.com or 13812345678\n")
    lines = []
    index = 0
    while sum(len(line) for line in lines) < size:
        template = dirty if secrets and index % 20 == 0 else clean
        lines.append(template.format(n=index))
        index += 1
    return "".join(lines)[:size]


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    """Return the median, p95 and p99 of ``samples``, in microseconds."""
    ordered = sorted(samples)
    return (
        statistics.median(ordered) * 1e6,
        ordered[int(len(ordered) * 0.95)] * 1e6,
        ordered[int(len(ordered) * 0.99)] * 1e6,
    )


def time_calls(function: Callable[[], object], count: int) -> list[float]:
    """Call ``function`` ``count`` times and return each call's seconds."""
    samples = []
    clock = time.perf_counter
    for _ in range(count):
        began = clock()
        function()
        samples.append(clock() - began)
    return samples


def interleaved(functions: dict[str, Callable[[], object]], count: int) -> dict[str, list[float]]:
    """Time the functions in turns, so that each runs under the same machine load."""
    samples: dict[str, list[float]] = {name: [] for name in functions}
    rounds = 10
    for _ in range(rounds):
        for name, function in functions.items():
            samples[name].extend(time_calls(function, count // rounds))
    return samples


def invalid_summary() -> dict[str, Any]:
    """Return the typical summary with three violations, which take the full rules."""
    data = typical_summary()
    data["skipped"] = True
    data["common"]["inputs"]["password"] = "Hunter2"
    data["common"]["highlights"].append("call 13812345678")
    return data


def check_invalid(data: dict[str, Any]) -> None:
    """Check a summary that is known to be invalid."""
    try:
        check_summary(data, task_key="sync_accounts", limits=LIMITS, registry=REGISTRY)
    except SummaryValidationError:
        return
    raise AssertionError("the invalid summary was accepted")


def summary_section(count: int) -> list[str]:
    """Measure check_summary next to bare pydantic validation; return report lines."""
    summary = typical_summary()
    size = check_summary(summary, limits=LIMITS, registry=REGISTRY).size_bytes
    invalid = invalid_summary()

    samples = interleaved(
        {
            "check_summary (valid)": lambda: check_summary(
                summary, task_key="sync_accounts", limits=LIMITS, registry=REGISTRY),
            "bare pydantic validation": lambda: TaskRunSummaryV1.model_validate(summary),
            "check_summary (invalid, 3 violations)": lambda: check_invalid(invalid),
        },
        count,
    )
    check_median = percentiles(samples["check_summary (valid)"])[0]
    pydantic_median = percentiles(samples["bare pydantic validation"])[0]
    met = "met" if check_median < TARGET_MICROSECONDS else "NOT met"

    lines = [
        f"## check_summary on a typical summary ({size} bytes, {count} calls each)",
        "",
        "| operation | median µs | p95 µs | p99 µs |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, values in samples.items():
        median, p95, p99 = percentiles(values)
        lines.append(f"| {name} | {median:.1f} | {p95:.1f} | {p99:.1f} |")

    lines += [
        "",
        f"Ratio check_summary / bare pydantic: {check_median / pydantic_median:.1f}x.",
        f"Target median < {TARGET_MICROSECONDS:.0f} µs: **{met}** ({check_median:.1f} µs).",
    ]
    return lines


def masking_section(count: int) -> list[str]:
    """Measure mask_text and mask_json on 64 KiB inputs; return report lines."""
    clean = log_text(64 * 1024, secrets=False)
    dirty = log_text(64 * 1024, secrets=True)
    details = {f"instance_{index}": {"log": line, "rows": index, "password": "x"}
               for index, line in enumerate(dirty.splitlines())}
    found = mask_text(dirty).count
    samples = interleaved(
        {
            "mask_text, 64 KiB without secrets": lambda: mask_text(clean),
            f"mask_text, 64 KiB with {found} findings": lambda: mask_text(dirty),
            f"mask_json, {len(details)} objects with a password key": lambda: mask_json(details),
        },
        count,
    )
    lines = [
        f"## Masking ({count} runs each)",
        "",
        "| operation | median ms | p95 ms |",
        "| --- | ---: | ---: |",
    ]
    for name, values in samples.items():
        median, p95, _ = percentiles(values)
        lines.append(f"| {name} | {median / 1000:.2f} | {p95 / 1000:.2f} |")
    return lines


def main(scale: str) -> str:
    """Run the contract benchmark at ``scale`` ("smoke" or "full"); return a Markdown report."""
    checks, mask_runs = SCALES[scale]
    load_before = os.getloadavg()[0]
    lines = ["# Summary contract benchmark", "", describe_machine(), ""]
    lines += summary_section(checks)
    lines += [""]
    lines += masking_section(mask_runs)
    lines += [
        "",
        f"One-minute load average: {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at "
        "the end; other work was running on this machine.",
        "",
        "Script: `python -m benchmarks bench_contract`. Each row is timed in ten interleaved "
        "rounds so that rows of one table see the same machine load.",
    ]
    return "\n".join(lines)
