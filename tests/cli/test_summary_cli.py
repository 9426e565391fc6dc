"""``taskrun summary validate|schema|limits|rules``: exit codes, JSON output, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from taskrun_center.cli import summary as summary_cli
from taskrun_center.cli.app import app
from tests.contract.factories import envelope

runner = CliRunner()


def _write(tmp_path: Path, data: object, name: str = "summary.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


@pytest.fixture(autouse=True)
def _english_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TASKRUN_LANGUAGE", raising=False)


def test_valid_summary_exits_0(tmp_path: Path) -> None:
    path = _write(tmp_path, envelope())

    result = runner.invoke(app, ["summary", "validate", "--task-key", "sync_accounts", path])

    assert result.exit_code == 0, result.output
    assert "摘要有效" in result.stdout


def test_valid_summary_json_output(tmp_path: Path) -> None:
    path = _write(tmp_path, envelope())

    result = runner.invoke(app, ["summary", "validate", "--format", "json", path])

    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["valid"] is True
    assert payload["violations"] == []
    assert payload["size_bytes"] > 0


def test_invalid_summary_exits_1_with_every_violation(tmp_path: Path) -> None:
    data = envelope(skipped=True, records=[1], common__metrics={"a": 1})
    path = _write(tmp_path, data)

    result = runner.invoke(app, ["summary", "validate", "--task-key", "other", "--format",
                                 "json", path])

    assert result.exit_code == 1, result.output
    violations = json.loads(result.stdout)["violations"]
    assert sorted((v["path"], v["rule"]) for v in violations) == [
        ("$.common.metrics", "envelope.wrong_type"),
        ("$.ext.type", "envelope.ext_type_mismatch"),
        ("$.records", "envelope.extra_field"),
        ("$.skipped", "envelope.extra_field"),
    ]
    assert all(set(v) == {"path", "rule", "message"} for v in violations)


def test_invalid_summary_text_output_lists_paths(tmp_path: Path) -> None:
    path = _write(tmp_path, envelope(skipped=True))

    result = runner.invoke(app, ["summary", "validate", path])

    assert result.exit_code == 1
    assert "$.skipped" in result.stdout
    assert "envelope.extra_field" in result.stdout


def test_secret_never_printed(tmp_path: Path) -> None:
    data = envelope(common__inputs={"dsn": "postgresql://app:Hunter2Secret@db/x"})
    path = _write(tmp_path, data)

    for output_format in ("text", "json"):
        result = runner.invoke(app, ["summary", "validate", "--format", output_format, path])

        assert result.exit_code == 1
        assert "Hunter2Secret" not in result.output


def test_english_messages_on_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKRUN_LANGUAGE", "en")
    path = _write(tmp_path, envelope(skipped=True))

    result = runner.invoke(app, ["summary", "validate", "--format", "json", path])

    message = json.loads(result.stdout)["violations"][0]["message"]
    assert message.startswith("field not allowed")


def test_stdin_read_when_no_file() -> None:
    result = runner.invoke(app, ["summary", "validate", "-"], input=json.dumps(envelope()))

    assert result.exit_code == 0, result.output


def test_top_level_array_is_invalid_summary() -> None:
    result = runner.invoke(app, ["summary", "validate", "--format", "json"], input="[1, 2]")

    assert result.exit_code == 1
    assert json.loads(result.stdout)["violations"][0]["rule"] == "envelope.not_object"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{not json", "不是合法的 JSON"),
        ('{"a": 1, "a": 2}', "重复"),
        ('{"a": NaN}', "NaN"),
        ("[" * 10_000 + "]" * 10_000, "嵌套超过"),
        ("", "不是合法的 JSON"),
    ],
)
def test_bad_json_text_exits_2(text: str, expected: str) -> None:
    result = runner.invoke(app, ["summary", "validate"], input=text)

    assert result.exit_code == 2
    assert expected in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("not json", "第 1 行第 1 列，此处应有一个 JSON 值。"),
        ('{\n  "a" 1}', "第 2 行第 7 列，此处应有冒号 :。"),
        ("{a: 1}", "第 1 行第 2 列，属性名应写在双引号中。"),
        ("[1, 2", "第 1 行第 6 列，此处应有逗号 ,。"),
        ('"abc', "第 1 行第 1 列，字符串缺少结束的双引号。"),
        ('{"a": 1} x', "第 1 行第 10 列，JSON 文档结束后还有多余的内容。"),
        ('["\\q"]', "第 1 行第 3 列，字符串中有无效的转义序列。"),
    ],
)
def test_json_syntax_error_in_chinese(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(text, encoding="utf-8")

    result = runner.invoke(app, ["summary", "validate", str(path)])

    assert result.exit_code == 2
    assert f"{path} 不是合法的 JSON：{expected}" in " ".join(result.output.split())
    assert "Expecting" not in result.output
    assert "delimiter" not in result.output


def test_json_syntax_error_on_stdin_in_english() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", "from taskrun_center.cli.app import main; main()",
         "--lang", "en", "summary", "validate", "-"],
        input="x", capture_output=True, text=True, timeout=120, check=False,
    )

    assert completed.returncode == 2
    assert ("Standard input is not valid JSON: line 1, column 1: a JSON value was expected."
            in completed.stderr)


def test_duplicate_key_exits_2_in_json_format() -> None:
    text = '{"version": 1, "version": 1}'

    result = runner.invoke(app, ["summary", "validate", "--format", "json"], input=text)

    assert result.exit_code == 2
    assert "version" in result.output


def test_validate_help_names_duplicate_keys_usage_error() -> None:
    result = runner.invoke(app, ["summary", "validate", "--help"], terminal_width=400)

    assert result.exit_code == 0
    assert "同一对象中键重复" in " ".join(result.output.split())
    assert "a key repeated in one object" in summary_cli._VALIDATE_HELP.en


def test_invalid_utf8_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"a": "\xff"}')

    result = runner.invoke(app, ["summary", "validate", str(path)])

    assert result.exit_code == 2
    assert "UTF-8" in result.output


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["summary", "validate", str(tmp_path / "missing.json")])

    assert result.exit_code == 2
    assert "missing.json" in result.output


def test_huge_file_rejected_without_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:
        handle.truncate(100 * 1024 * 1024)

    result = runner.invoke(app, ["summary", "validate", str(path)])

    assert result.exit_code == 2
    assert "104857600" in result.output


def test_huge_stdin_stops_at_limit() -> None:
    text = '{"pad": "' + "x" * (2 * 1024 * 1024) + '"}'

    result = runner.invoke(app, ["summary", "validate"], input=text)

    assert result.exit_code == 2
    assert "1048577" in result.output


def test_real_process_bad_input_has_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 10_000 + "]" * 10_000)
    env = {**os.environ, "TASKRUN_LANGUAGE": "en"}
    command = [sys.executable, "-c", "from taskrun_center.cli.app import main; main()",
               "summary", "validate", str(path)]

    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False)

    assert completed.returncode == 2
    assert "nested deeper than 64 levels" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_schema_prints_envelope_schema() -> None:
    result = runner.invoke(app, ["summary", "schema"])

    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["required"] == ["version", "common", "ext"]
    assert schema["additionalProperties"] is False


def test_schema_for_builtin_type_fixes_ext_type() -> None:
    result = runner.invoke(app, ["summary", "schema", "--task-key", "task_runs_audit"])

    assert result.exit_code == 0
    ext = json.loads(result.stdout)["$defs"]["Ext"]["properties"]
    assert ext["type"]["const"] == "task_runs_audit"


def test_limits_json_lists_defaults() -> None:
    result = runner.invoke(app, ["summary", "limits", "--format", "json"])

    assert result.exit_code == 0
    assert json.loads(result.stdout)["summary_limits"] == {
        "max_bytes": 16384,
        "warn_bytes": 8192,
        "max_array_items": 50,
        "max_highlights": 20,
        "max_highlight_chars": 200,
        "max_object_keys": 50,
        "max_depth": 6,
        "max_string_chars": 1024,
    }


def test_limits_text_names_environment_variables() -> None:
    result = runner.invoke(app, ["summary", "limits"])

    assert result.exit_code == 0
    assert "TASKRUN_SUMMARY_LIMITS__MAX_BYTES" in result.stdout
    assert "16384" in result.stdout


def test_rules_lists_every_code() -> None:
    result = runner.invoke(app, ["summary", "rules", "--format", "json"])

    assert result.exit_code == 0
    codes = [entry["rule"] for entry in json.loads(result.stdout)["rules"]]
    assert "secret.key_name" in codes
    assert "capacity.summary_bytes_warning" in codes


def test_registered_type_data_checked(tmp_path: Path) -> None:
    data = envelope(ext__type="task_runs_audit", ext__data={"runs_scanned": "many"})
    path = _write(tmp_path, data)

    result = runner.invoke(app, ["summary", "validate", "--task-key", "task_runs_audit",
                                 "--format", "json", path])

    assert result.exit_code == 1
    rules = {v["rule"] for v in json.loads(result.stdout)["violations"]}
    assert "envelope.ext_data_invalid" in rules


def test_large_summary_accepted_with_warning(tmp_path: Path) -> None:
    data = envelope(ext__data={f"note_{index}": "x" * 1000 for index in range(9)})
    path = _write(tmp_path, data)

    result = runner.invoke(app, ["summary", "validate", "--format", "json", path])

    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["size_bytes"] > 8192
    assert [w["rule"] for w in payload["warnings"]] == ["capacity.summary_bytes_warning"]
