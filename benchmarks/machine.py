"""Describe the machine a benchmark ran on, for the recorded results."""

from __future__ import annotations

import os
import platform
import sqlite3
from datetime import UTC, datetime


def describe_machine() -> str:
    """Return a one-paragraph Markdown description of this machine and run."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {cpu}, {os.cpu_count()} cores, "
        f"{memory_gib:.0f} GiB, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, "
        f"{platform.system()} {platform.release()}. Shared machine: compare ratios measured in the "
        "same run, not absolute numbers across runs."
    )
