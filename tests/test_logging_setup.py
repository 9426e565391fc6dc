"""Log lines never carry a secret, whatever a caller passed in.

Each case runs in a fresh interpreter, because logging is configured once per process and
pytest installs handlers of its own.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

DSN = "postgresql://app:hunter2pass@db.example/app"


def _log_in_subprocess(body: str) -> str:
    script = textwrap.dedent(
        """
        import logging
        import structlog
        from taskrun_center.logging_setup import configure_logging
        configure_logging(level="INFO", fmt="console")
        log = structlog.get_logger("test")
        """
    ) + textwrap.dedent(body)
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    return completed.stderr


def test_event_values_are_masked() -> None:
    output = _log_in_subprocess(f'log.info("connect_failed", dsn="{DSN}", run_id="r1")')

    assert "hunter2pass" not in output
    assert "connect_failed" in output
    assert "run_id=r1" in output


def test_traceback_is_masked_and_has_no_locals() -> None:
    output = _log_in_subprocess(
        f"""
        def connect():
            local_password = "not-in-the-log-0042"
            raise RuntimeError("cannot connect to {DSN}")
        try:
            connect()
        except RuntimeError:
            log.exception("task_crashed")
        """
    )

    assert "RuntimeError" in output
    assert "task_crashed" in output
    assert "hunter2pass" not in output
    assert "not-in-the-log-0042" not in output


def test_standard_logging_is_masked() -> None:
    output = _log_in_subprocess('logging.getLogger("uvicorn.error").error("mobile 13812345678")')

    assert "13812345678" not in output
    assert "mobile" in output


def test_values_under_secret_keys_are_masked() -> None:
    output = _log_in_subprocess(
        'log.info("kw", password="Hunt3rPw9", api_key="Hunt3rPw9", token="Hunt3rPw9xx", '
        'tokens=120, password_source="generated")'
    )

    assert "Hunt3rPw9" not in output
    assert "password=******" in output
    assert "tokens=120" in output
    assert "password_source=generated" in output
