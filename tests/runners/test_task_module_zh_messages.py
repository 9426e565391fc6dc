"""A task module that cannot be imported is reported in the CLI language, naming the fix."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from taskrun_center.errors import ConfigurationError
from taskrun_center.runners.loading import TaskModuleImportError, load_task_modules
from tests.runners.processes import run_in


def test_missing_module_in_both_languages() -> None:
    with pytest.raises(TaskModuleImportError) as raised:
        load_task_modules(["examples.nope_missing"])

    text = raised.value.reason_text
    assert "无法导入任务模块 'examples.nope_missing'" in text.zh
    assert "找不到模块" in text.zh
    assert "TASKRUN_TASK_MODULES" in text.zh
    assert "cannot import the task module 'examples.nope_missing'" in text.en
    assert str(raised.value) == text.en
    assert isinstance(raised.value, ConfigurationError)


def test_error_survives_pickling() -> None:
    error = TaskModuleImportError.from_error("pkg.mod", ModuleNotFoundError("x", name="pkg"))

    copy = pickle.loads(pickle.dumps(error))

    assert copy.module == "pkg.mod"
    assert copy.reason_text == error.reason_text


@pytest.mark.parametrize(
    ("command", "language", "expected"),
    [
        (("tasks", "list"), "zh-CN", "无法导入任务模块 'examples.nope'：找不到模块"),
        (("tasks", "list"), "en", "cannot import the task module 'examples.nope': no module"),
        (("scheduler",), "zh-CN", "无法导入任务模块 'examples.nope'"),
        (("run", "task_runs_reap"), "zh-CN", "无法导入任务模块 'examples.nope'"),
    ],
)
def test_cli_names_module_in_language(
    tmp_path: Path, command: tuple[str, ...], language: str, expected: str
) -> None:
    result = run_in(tmp_path, *command, TASKRUN_TASK_MODULES="examples.nope",
                    TASKRUN_LANGUAGE=language,
                    TASKRUN_DATABASE_URL=f"sqlite:///{tmp_path / 'none.db'}")

    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_reports_syntax_error(tmp_path: Path) -> None:
    (tmp_path / "broken_tasks.py").write_text("x = (\n", encoding="utf-8")

    result = run_in(tmp_path, "tasks", "list", TASKRUN_TASK_MODULES="broken_tasks",
                    TASKRUN_LANGUAGE="zh-CN")

    assert result.returncode == 2
    assert "无法导入任务模块 'broken_tasks'" in result.stderr
    assert "语法错误" in result.stderr
    assert "Traceback" not in result.stderr
