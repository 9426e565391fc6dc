"""``TASKRUN_CELERY_ENABLED=true`` without the celery package is a setting error, not a crash.

The subprocess blocks the import of celery with an entry of None in ``sys.modules``, as on a
machine where the package was never installed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

_WITHOUT_CELERY = (
    "import sys; sys.modules['celery'] = None; "
    "sys.argv = ['taskrun', *sys.argv[1:]]; "
    "from taskrun_center.cli.app import main; main()"
)


def _taskrun_without_celery(tmp_path: Path, *arguments: str,
                            language: str) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": "/usr/bin:/bin", "TASKRUN_CELERY_ENABLED": "true",
                   "TASKRUN_LANGUAGE": language, "HOME": str(tmp_path)}
    return subprocess.run([sys.executable, "-c", _WITHOUT_CELERY, *arguments], cwd=tmp_path,
                          env=environment, capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "TASKRUN_CELERY_ENABLED is true, but the celery package is not installed"),
    ("zh-CN", "TASKRUN_CELERY_ENABLED 为 true，但未安装 celery 包"),
])
def test_celery_enabled_without_package_names_the_fix(tmp_path: Path, language: str,
                                                     expected: str) -> None:
    completed = _taskrun_without_celery(tmp_path, "tasks", "list", language=language)

    assert completed.returncode == 2, completed.stderr
    assert expected in completed.stderr
    assert "taskrun-center[celery]" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert "ModuleNotFoundError" not in completed.stderr
