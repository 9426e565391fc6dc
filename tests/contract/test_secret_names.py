"""Secrets written as a name and a value: joined names, whole values, near misses."""

from __future__ import annotations

import shlex

import pytest

from taskrun_center.contract import (
    MASK,
    SummaryValidationError,
    check_summary,
    mask_json,
    mask_text,
)
from tests.contract.factories import envelope


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PGPASSWORD=Hunter2Secret", f"PGPASSWORD={MASK}"),
        ("mypassword=hunter2", f"mypassword={MASK}"),
        ("Exception: PGPASSWORD=Hunter2Secret", f"Exception: PGPASSWORD={MASK}"),
        ("MYSQL_PWD=hunter2 mysql -h db", f"MYSQL_PWD={MASK} mysql -h db"),
        ("spring.datasource.password=s3cr3t", f"spring.datasource.password={MASK}"),
        ("GITHUB_TOKEN=abcdefgh12345678", f"GITHUB_TOKEN={MASK}"),
        ("x-api-key: abcdef123456", f"x-api-key: {MASK}"),
        ("X-Auth-Token: abcdefgh12345678", f"X-Auth-Token: {MASK}"),
        ("--db-password hunter2", f"--db-password {MASK}"),
        ("self._password = 'hunter2'", f"self._password = '{MASK}'"),
    ],
)
def test_joined_secret_name_masked(text: str, expected: str) -> None:
    result = mask_text(text)

    assert result.value == expected
    assert result.count == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"password": "correct horse battery"}', f'{{"password": "{MASK}"}}'),
        ('{"password": "a \\"b\\" c", "user": "app"}', f'{{"password": "{MASK}", "user": "app"}}'),
        ('{\\"password\\": \\"a b\\", \\"user\\": \\"x\\"}',
         f'{{\\"password\\": \\"{MASK}\\", \\"user\\": \\"x\\"}}'),
        ("password: correct horse battery", f"password: {MASK}"),
        ("password: correct horse battery  \nnext line", f"password: {MASK}  \nnext line"),
        ('password: "correct horse battery"', f'password: "{MASK}"'),
        ("export API_KEY='abc def ghi'", f"export API_KEY='{MASK}'"),
        ("env 'PGPASSWORD=correct horse' sh", f"env 'PGPASSWORD={MASK}' sh"),
        ("--password 'correct horse'", f"--password '{MASK}'"),
        ('{"password"=>"hunter two"}', f'{{"password"=>"{MASK}"}}'),
    ],
)
def test_value_with_spaces_masked_whole(text: str, expected: str) -> None:
    result = mask_text(text)

    assert result.value == expected
    assert result.count == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", f"secret {MASK}"),
        ("AWS secret access key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
         f"AWS secret access key {MASK}"),
        ("aws_secret_access_key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
         f"aws_secret_access_key {MASK}"),
        ("the token 8f14e45fceea167a5a36 was revoked", f"the token {MASK} was revoked"),
    ],
)
def test_key_after_secret_word_masked(text: str, expected: str) -> None:
    result = mask_text(text)

    assert result.value == expected
    assert result.count == 1


@pytest.mark.parametrize(
    "text",
    [
        "password_policy=strict",
        "password_policy: min 12 chars",
        "passwords=3",
        "password_resets: 3",
        "secretary: Jane Smith",
        "keyword=foo",
        "keyword: foo bar baz",
        "tokens: 120",
        "max_tokens: 4096",
        "input_tokens=1500 output_tokens=20",
        "passport=E12345678",
        "pass: 3, fail: 0",
        "tokenizer: bpe",
        "monkey=banana",
        "secret_name: prod-db",
        "token_endpoint: https://auth.example.com/token",
        "password: not set",
        "password: Reset required",
        "password: ok",
        "credential: expired",
        "token expired",
        "secret santa",
        "OLDPWD=/home/app",
        "https://token.example.com:8443/x",
        "postgresql://app@secret-db:5432/main",
        "--no-password localhost",
        "docker login --password-stdin registry.example.com",
        "commit 3f786850e387550fdab836ed7e6dc881de23001b",
        "KeyError: 'password'",
        'FATAL: password authentication failed for user "app"',
        "password=${DB_PASSWORD}",
        "PASSWORD=$(cat /run/secrets/db)",
    ],
)
def test_near_miss_kept(text: str) -> None:
    result = mask_text(text)

    assert result.value == text
    assert result.count == 0


@pytest.mark.parametrize(
    "text",
    [
        '"Authorization": "Bearer abcdefghij"',
        'password: "correct horse battery"',
        "env 'PGPASSWORD=correct horse' sh",
        '{"password": "****** horse battery"}',
        "password: hunter2, user: bob",
    ],
)
def test_whole_value_masking_idempotent(text: str) -> None:
    once = mask_text(text)

    twice = mask_text(once.value)

    assert once.count == 1
    assert twice.value == once.value
    assert twice.count == 0


def test_exec_command_line_masked() -> None:
    argv = ["env", "PGPASSWORD=Hunter2Secret", "sh", "-c", "echo $PGPASSWORD"]

    masked = mask_text(shlex.join(argv)).value

    assert masked == f"env PGPASSWORD={MASK} sh -c 'echo $PGPASSWORD'"


@pytest.mark.parametrize("key", ["PGPASSWORD", "mypassword", "pgPasswords", "MYSECRET", "ghtoken"])
def test_joined_key_value_masked(key: str) -> None:
    result = mask_json({key: "Hunter2Secret", "rows": 3})

    assert result.value == {key: MASK, "rows": 3}
    assert result.count == 1


@pytest.mark.parametrize(
    ("key", "value"),
    [("secretary", "Jane"), ("password_policy", "strict"), ("passwords", 3), ("pgpasswords", 3),
     ("passport", "E12345678"), ("keyword", "foo"), ("oldpwd", "/home/app")],
)
def test_plain_key_value_kept(key: str, value: object) -> None:
    result = mask_json({key: value})

    assert result.value == {key: value}
    assert result.count == 0


def test_summary_rejects_pgpassword_string() -> None:
    data = envelope(common__inputs={"note": "PGPASSWORD=Hunter2Secret"})

    with pytest.raises(SummaryValidationError) as caught:
        check_summary(data)

    assert [(v.rule, v.path) for v in caught.value.violations] == [
        ("secret.value", "$.common.inputs.note")
    ]
    assert "Hunter2Secret" not in str(caught.value)


def test_summary_rejects_joined_secret_key() -> None:
    data = envelope(ext__data={"PGPASSWORD": "Hunter2Secret"})

    with pytest.raises(SummaryValidationError) as caught:
        check_summary(data)

    assert caught.value.rules == ["secret.key_name"]


def test_field_after_prose_field_masked() -> None:
    result = mask_text("token: expired at noon, password: hunter2x")

    assert result.value == f"token: expired at noon, password: {MASK}"
    assert result.count == 1


def test_overlapping_findings_both_masked() -> None:
    text = "password: hunter2x postgresql://app:pw@db"

    in_text = mask_text(text)
    in_json = mask_json({"log": text, "rows": ["ok"]})

    assert in_text.value == f"password: {MASK}"
    assert in_json.value == {"log": f"password: {MASK}", "rows": ["ok"]}
    assert in_json.count == in_text.count


@pytest.mark.parametrize(
    "text",
    [
        "token: a for " * 5000, "password: reset for 3 users\n" * 2340, "PASSWORD" * 8000,
        "secret " * 9000, "aws " * 16000, "key=" * 16000, '"password": "' * 4000,
        "p.w-d_" * 10000, "token " + "a1" * 32000,
    ],
    ids=lambda text: repr(text[:12]),
)
def test_long_name_text_has_no_finding(text: str) -> None:
    result = mask_text(text)

    assert result.count == 0
    assert result.value == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mysql://user:p@ss@db:3306/x", f"mysql://user:{MASK}@db:3306/x"),
        ("redis://:p@w@cache:6379", f"redis://:{MASK}@cache:6379"),
        ("http://host:8080/a@b", "http://host:8080/a@b"),
    ],
)
def test_url_password_with_at_sign(text: str, expected: str) -> None:
    assert mask_text(text).value == expected
