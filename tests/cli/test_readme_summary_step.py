"""The README tour writes the summary file that it validates, and the output is as stated."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.runners.processes import REPO_ROOT, taskrun_env

_SUMMARY_PATH = "/tmp/summary.json"


def _summary_lines(readme: str, heading: str) -> list[str]:
    """Return the tour lines from the one that writes the summary file to the one checking it."""
    text = (REPO_ROOT / readme).read_text(encoding="utf-8")
    tour = text.split(f"## {heading}\n", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    lines = tour.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("cat > "))
    end = next(index for index, line in enumerate(lines) if "summary validate" in line)
    return lines[start:end + 1]


@pytest.mark.parametrize(("readme", "heading"),
                         [("README.md", "A first tour"), ("README.zh-CN.md", "上手一览")])
def test_tour_writes_summary_it_validates(tmp_path: Path, readme: str, heading: str) -> None:
    lines = _summary_lines(readme, heading)
    # The test writes into its own directory, not into the /tmp path the README uses.
    script = "\n".join(lines).replace(_SUMMARY_PATH, str(tmp_path / "summary.json")) + "\n"
    env = taskrun_env(f"sqlite:///{tmp_path / 'taskrun.db'}")
    # The tour runs taskrun from the activated virtualenv: the one running this test.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"

    result = subprocess.run(["bash", "-e", "-c", script], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=120, check=False)

    assert _SUMMARY_PATH in lines[0]
    assert _SUMMARY_PATH in lines[-1]
    assert result.returncode == 0, result.stdout + result.stderr
    assert "摘要有效（197 字节）。" in result.stdout
    readme_text = (REPO_ROOT / readme).read_text(encoding="utf-8")
    assert "`摘要有效（197 字节）。`" in readme_text
    assert "`The summary is valid (197 bytes).`" in readme_text
