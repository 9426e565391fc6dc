"""Output handling of ``taskrun exec``: metric lines, tails and exit statuses."""

from __future__ import annotations

import pytest

from taskrun_center.config import SummaryLimits
from taskrun_center.runners.command.metrics import metric_rules, select_metrics
from taskrun_center.runners.command.output import (
    MAX_LINE_CHARS,
    MetricLineError,
    OutputTail,
    parse_metric_line,
    storable_text,
)
from taskrun_center.runners.command.process import exit_code_of, run_command


def test_metric_line_with_all_fields() -> None:
    metric = parse_metric_line(
        '::taskrun metric key=rows_copied value=1200 unit=rows tone=success label="Rows copied"'
    )

    assert metric == {
        "key": "rows_copied",
        "label": "Rows copied",
        "value": 1200,
        "unit": "rows",
        "tone": "success",
    }


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("12", 12),
        ("-3", -3),
        ("2.5", 2.5),
        ("1e3", 1000.0),
        ("true", True),
        ("null", None),
        ("v1.2", "v1.2"),
    ],
)
def test_metric_values_are_typed(raw: str, value: object) -> None:
    metric = parse_metric_line(f"::taskrun metric key=k value={raw}")

    assert metric is not None
    assert metric["value"] == value
    assert metric["label"] == "k"


def test_other_lines_are_not_metrics() -> None:
    assert parse_metric_line("hello ::taskrun metric key=k value=1") is None
    assert parse_metric_line("") is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("::taskrun metric value=1", "snake_case"),
        ("::taskrun metric key=Rows value=1", "snake_case"),
        ("::taskrun metric key=rows", "no value"),
        ("::taskrun metric key=rows value=1 tone=red", "tone 'red'"),
        ("::taskrun metric key=rows value=1 colour=red", "name=value"),
        ('::taskrun metric key=rows value="1', "unbalanced quotes"),
    ],
)
def test_malformed_metric_lines_raise(line: str, message: str) -> None:
    with pytest.raises(MetricLineError, match=message):
        parse_metric_line(line)


def test_tail_keeps_last_lines_cut_and_masked() -> None:
    tail = OutputTail(max_lines=2)
    tail.add("first")
    tail.add("x" * (MAX_LINE_CHARS + 50))
    tail.add("login with password=opensesame42")

    lines = tail.masked_lines()

    assert tail.line_count == 3
    assert len(lines) == 2
    assert len(lines[0]) == MAX_LINE_CHARS
    assert "opensesame42" not in lines[1]


def test_exit_codes_follow_shell_convention() -> None:
    assert exit_code_of(0) == 0
    assert exit_code_of(3) == 3
    assert exit_code_of(-15) == 143
    assert exit_code_of(-9) == 137


def test_run_command_collects_output_and_metrics() -> None:
    result = run_command(
        ["sh", "-c", "echo out; echo '::taskrun metric key=n value=7' >&2; printf tail"],
        passthrough=False,
    )

    assert result.exit_code == 0
    assert result.stdout.masked_lines() == ["out", "tail"]
    assert result.metrics == [("stderr line 1", {"key": "n", "label": "n", "value": 7})]
    assert result.signal_name is None


def test_storable_text_shows_controls_visibly() -> None:
    assert storable_text("ok\x00done") == "ok\u2400done"
    assert storable_text("a\tb") == "a\tb"
    assert storable_text("\x1b[31m") == "\u241b[31m"
    assert storable_text("x\udcff") == "x\ufffd"


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("::taskrun metric key=bad value=NaN", "json.non_finite_number"),
        ("::taskrun metric key=bad value=-inf", "json.non_finite_number"),
        ("::taskrun metric key=password value=x", "secret.key_name"),
        ("::taskrun metric key=exit_code value=99", "exec.reserved_key"),
        ("::taskrun metric key=duration_ms value=1", "exec.reserved_key"),
    ],
)
def test_metric_rules_reject_line(line: str, rule: str) -> None:
    metric = parse_metric_line(line)

    assert metric is not None
    assert metric_rules(metric) == [rule]


def test_metric_rules_accept_plain_metric() -> None:
    assert metric_rules({"key": "rows", "label": "Rows", "value": 3}) == []


def test_select_metrics_lists_over_capacity() -> None:
    printed = [(f"stdout line {n}", {"key": f"m{n}", "label": "m", "value": n}) for n in range(5)]
    limits = SummaryLimits(max_array_items=4)

    selection = select_metrics(printed, builtin_count=2, limits=limits)

    assert [metric["key"] for metric in selection.metrics] == ["m0", "m1"]
    assert len(selection.ignored) == 3
    assert "capacity.array_items" in selection.ignored[0]


def test_select_metrics_keeps_last_value_of_key() -> None:
    printed = [
        ("stdout line 1", {"key": "n", "label": "n", "value": 1}),
        ("stdout line 2", {"key": "m", "label": "m", "value": 2}),
        ("stdout line 3", {"key": "n", "label": "n", "value": 3}),
    ]

    selection = select_metrics(printed, builtin_count=2)

    assert selection.metrics == [
        {"key": "n", "label": "n", "value": 3},
        {"key": "m", "label": "m", "value": 2},
    ]


def test_run_command_missing_program() -> None:
    result = run_command(["/definitely/not/here"], passthrough=False)

    assert result.exit_code == 127
    assert result.start_error is not None
    assert result.start_error.en.startswith("command not found: /definitely/not/here;")


def test_run_command_not_executable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")

    result = run_command([str(script)], passthrough=False)

    assert result.exit_code == 126


def test_should_stop_terminates_command() -> None:
    result = run_command(["sleep", "30"], passthrough=False, should_stop=lambda: True)

    assert result.stopped_on_request is True
    assert result.signal_name == "SIGTERM"
    assert result.exit_code == 143
