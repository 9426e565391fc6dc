"""Run the benchmarks: every ``bench_*.py`` module here, or the ones named.

Each module defines ``main(scale: str) -> str``: it measures at ``scale`` ("smoke" for CI, "full"
for the recorded results) and returns a Markdown report. Full runs write the report to
``benchmarks/results/NAME.md``; smoke runs only print it, so CI never overwrites a record.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _discover() -> list[str]:
    names = (module.name for module in pkgutil.iter_modules([str(HERE)]))
    return sorted(name for name in names if name.startswith("bench_"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, nothing recorded")
    parser.add_argument("names", nargs="*", help="benchmark modules, e.g. bench_contract")
    args = parser.parse_args(argv)

    scale = "smoke" if args.smoke else "full"
    # Per-run info lines would bury the reports and cost time inside the measured loops.
    from taskrun_center.logging_setup import configure_logging

    configure_logging(level="WARNING")
    for name in args.names or _discover():
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"== {name} ({scale})", flush=True)
        report = module.main(scale)
        print(report, flush=True)
        if scale == "full":
            (HERE / "results" / f"{name.removeprefix('bench_')}.md").write_text(report + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
