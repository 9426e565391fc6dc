"""``taskrun summary validate`` words an unreadable file in the CLI language and names its path."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from taskrun_center.cli.app import app

runner = CliRunner()


def _validate(path: Path, language: str) -> Any:
    return runner.invoke(app, ["summary", "validate", str(path)],
                         env={"TASKRUN_LANGUAGE": language})


@pytest.mark.parametrize(
    ("language", "expected"),
    [("zh-CN", "不存在。"), ("en", "was not found.")],
)
def test_missing_file_worded_in_language(tmp_path: Path, language: str, expected: str) -> None:
    missing = tmp_path / "missing.json"

    result = _validate(missing, language)

    assert result.exit_code == 2
    assert str(missing) in result.output
    assert expected in result.output
    assert "No such file" not in result.output


def test_missing_folder_in_path_is_not_found(tmp_path: Path) -> None:
    plain_file = tmp_path / "plain.txt"
    plain_file.write_text("{}")

    result = _validate(plain_file / "summary.json", "zh-CN")

    assert result.exit_code == 2
    assert "不存在。" in result.output
    assert "Not a directory" not in result.output


@pytest.mark.parametrize(
    ("language", "expected"),
    [("zh-CN", "是一个目录，不是文件。"), ("en", "is a directory, not a file.")],
)
def test_directory_worded_in_language(tmp_path: Path, language: str, expected: str) -> None:
    result = _validate(tmp_path, language)

    assert result.exit_code == 2
    assert str(tmp_path) in result.output
    assert expected in result.output
    assert "Is a directory" not in result.output


@pytest.mark.parametrize(
    ("language", "expected"),
    [("zh-CN", "不可读：没有读取权限。"), ("en", "is not readable: permission denied.")],
)
def test_unreadable_file_worded_in_language(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            language: str, expected: str) -> None:
    locked = tmp_path / "locked.json"
    locked.write_text("{}")

    def deny(self: Path, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    # Root can read a file whatever its mode bits are, and the tests may run as root.
    monkeypatch.setattr(Path, "open", deny)
    result = _validate(locked, language)

    assert result.exit_code == 2
    assert str(locked) in result.output
    assert expected in result.output
    assert "Permission denied" not in result.output


def test_other_os_error_names_errno(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{}")

    def fail_read(self: Path, *args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.EIO, "Input/output error", str(self))

    monkeypatch.setattr(Path, "open", fail_read)
    result = _validate(broken, "zh-CN")

    assert result.exit_code == 2
    assert "操作系统错误 EIO" in result.output
    assert "Input/output error" not in result.output
