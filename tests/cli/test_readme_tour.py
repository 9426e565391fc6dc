"""The README tour declares the task modules that ``scripts/start`` loads, in both languages."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.runners.processes import REPO_ROOT, taskrun_argv, taskrun_env

_START_DEFAULT = re.compile(r'^export TASKRUN_TASK_MODULES="\$\{TASKRUN_TASK_MODULES-(.+)\}"$',
                            re.MULTILINE)


def _start_task_modules() -> str:
    """Return the TASKRUN_TASK_MODULES value that scripts/start exports when it is unset."""
    match = _START_DEFAULT.search((REPO_ROOT / "scripts" / "start").read_text(encoding="utf-8"))
    assert match is not None, "scripts/start does not export TASKRUN_TASK_MODULES"
    return match.group(1)


def _tour_block(readme: str, heading: str) -> str:
    text = (REPO_ROOT / readme).read_text(encoding="utf-8")
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```bash\n", 1)[1].split("```", 1)[0]


@pytest.mark.parametrize(("readme", "heading"),
                         [("README.md", "A first tour"), ("README.zh-CN.md", "上手一览")])
def test_tour_exports_start_task_modules(readme: str, heading: str) -> None:
    block = _tour_block(readme, heading)

    assert f"export TASKRUN_TASK_MODULES={_start_task_modules()}" in block
    assert block.index("export TASKRUN_TASK_MODULES") < block.index("taskrun audit")


def test_tour_audit_registers_example_task(tmp_path: Path) -> None:
    shutil.copytree(REPO_ROOT / "examples", tmp_path / "examples")
    url = f"sqlite:///{tmp_path / 'taskrun.db'}"
    env = taskrun_env(url, TASKRUN_TASK_MODULES=_start_task_modules())

    up = subprocess.run(taskrun_argv("up", "--once"), cwd=tmp_path, env=env, capture_output=True,
                        text=True, timeout=120, check=False)
    audit = subprocess.run(taskrun_argv("audit", "--format", "json"), cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120, check=False)

    assert up.returncode == 0, up.stderr
    assert "dbstats_collect" in up.stdout
    assert audit.returncode == 0, audit.stdout + audit.stderr
    report = json.loads(audit.stdout)
    assert report["unregistered"] == {}
