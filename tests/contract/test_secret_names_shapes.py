"""Secret names in less common shapes: numeric passwords, *_PASS names, XML elements, two words.

Each group has the texts that must be masked and, next to them, the ordinary texts of the same
shape that must stay as they are: counts, paths, prose and labels.
"""

from __future__ import annotations

import pytest

from taskrun_center.contract import (
    MASK,
    SummaryValidationError,
    check_summary,
    find_sensitive,
    mask_json,
    mask_text,
)
from tests.contract.factories import envelope


def assert_masked(text: str, expected: str) -> None:
    result = mask_text(text)

    assert result.value == expected
    assert result.count == 1
    assert mask_text(result.value).value == result.value
    assert find_sensitive({"message": result.value}) == []


def assert_kept(text: str) -> None:
    result = mask_text(text)

    assert result.value == text
    assert result.count == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("password: 1234", f"password: {MASK}"),
        ("password:1234", f"password:{MASK}"),
        ("PASSWORD: 0000", f"PASSWORD: {MASK}"),
        ("passcode: 482913", f"passcode: {MASK}"),
        ("db_password: 4321.", f"db_password: {MASK}."),
        ("password: 1234 is wrong", f"password: {MASK} is wrong"),
        ('{"password": 1234}', f'{{"password": {MASK}}}'),
        ('{"password":1234,"user":"app"}', f'{{"password":{MASK},"user":"app"}}'),
        ('"db_password": 4321, "rows": 3', f'"db_password": {MASK}, "rows": 3'),
        ("密码：1234", f"密码：{MASK}"),
    ],
)
def test_numeric_password_masked(text: str, expected: str) -> None:
    assert_masked(text, expected)


@pytest.mark.parametrize(
    "text",
    [
        "tokens: 1500",
        "tokens: 1500 (prompt 1000)",
        "token: 1234",
        "passwords: 1234",
        "password_resets: 1234",
        "password policy: 1234",
        "password: 123",
        "password: 12:30",
        "密码: 12",
        "pass: 3, fail: 0",
        "smtp_pass: 1234",
        "app@db-pwd:5432",
    ],
)
def test_number_after_other_name_kept(text: str) -> None:
    assert_kept(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DB_PASS=abc123", f"DB_PASS={MASK}"),
        ("SMTP_PASS: hunter2x", f"SMTP_PASS: {MASK}"),
        ("db_passwd=hunter2", f"db_passwd={MASK}"),
        ("export MYSQL_PASS='correct horse'", f"export MYSQL_PASS='{MASK}'"),
        ("smtpPass: abc12345", f"smtpPass: {MASK}"),
        ("DB_PWD=hunter2", f"DB_PWD={MASK}"),
        ("pwd=hunter2", f"pwd={MASK}"),
        ("PWD: hunter2x", f"PWD: {MASK}"),
    ],
)
def test_pass_and_pwd_names_masked(text: str, expected: str) -> None:
    assert_masked(text, expected)


@pytest.mark.parametrize(
    "text",
    [
        "PWD=/home/app",
        "PWD=/home/app OLDPWD=/tmp",
        "OLDPWD=/home/app",
        "pwd: /srv/app",
        "--pwd ./build",
        "PWD='/home/a b'",
        "PWD=C:\\Users\\app",
        "pass: 12",
        "PASS=hunter2",
        "first_pass=done",
        "lint_pass=ok",
        "unit_pass: 12",
        "e2e_pass=passed",
        "stage2_pass=failed",
        "DB_PASS=1234",
        "bypass=hunter2",
        "compass: hunter2x",
        "db_pass_file=/run/secrets/db",
    ],
)
def test_directory_and_test_counts_kept(text: str) -> None:
    assert_kept(text)


@pytest.mark.parametrize(
    ("key", "value"),
    [("PWD", "/home/app"), ("pwd", "~/src"), ("OLDPWD", "/tmp"), ("unit_pass", "ok"),
     ("first_pass", "done"), ("pass", "ok"), ("db_pass", 1234), ("build_pass", 12),
     ("e2e_pass", "ok"), ("smoke_pass", "12/12 passed"), ("canary_pass", "green"),
     ("regression_pass", "98.5%"), ("e2e_pass", "all green"), ("lint_pass", "N/A"),
     ("smoke_pass", "\u2713")],
)
def test_json_directory_and_count_kept(key: str, value: object) -> None:
    result = mask_json({key: value})

    assert result.value == {key: value}
    assert result.count == 0


@pytest.mark.parametrize("key", ["DB_PASS", "smtp_pass", "redisPass", "pwd"])
def test_json_pass_key_masked(key: str) -> None:
    result = mask_json({key: "hunter2", "rows": 3})

    assert result.value == {key: MASK, "rows": 3}
    assert result.count == 1


def test_summary_rejects_pass_key() -> None:
    data = envelope(ext__data={"SMTP_PASS": "hunter2"})

    with pytest.raises(SummaryValidationError) as caught:
        check_summary(data)

    assert caught.value.rules == ["secret.key_name"]


def test_summary_accepts_check_results() -> None:
    """A test stage's result under a *_pass name is no password, whatever the stage."""
    data = envelope(ext__data={"e2e_pass": "ok", "smoke_pass": "3/4", "canary_pass": "green"})

    assert check_summary(data).size_bytes > 0


@pytest.mark.parametrize("value", ["1234abcd", "s3cretValue9", "hunter2", "1 correcthorse"])
def test_summary_rejects_pass_password(value: str) -> None:
    with pytest.raises(SummaryValidationError):
        check_summary(envelope(ext__data={"db_pass": value}))


def test_summary_accepts_pwd_path() -> None:
    data = envelope(ext__data={"env": {"PWD": "/home/app", "OLDPWD": "/tmp"}})

    assert check_summary(data).size_bytes > 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<password>hunter2</password>", f"<password>{MASK}</password>"),
        ("<password>1234</password>", f"<password>{MASK}</password>"),
        ("<secret>abcdefgh1234</secret>", f"<secret>{MASK}</secret>"),
        ("<apiKey>abc123def456</apiKey>", f"<apiKey>{MASK}</apiKey>"),
        ('<Password type="db">hunter2</Password>', f'<Password type="db">{MASK}</Password>'),
        ("<password>\n  hunter2\n</password>", f"<password>\n  {MASK}\n</password>"),
        ("<db_password>correct horse</db_password >",
         f"<db_password>{MASK}</db_password >"),
        ("<cfg><user>app</user><password>s3cr3t</password></cfg>",
         f"<cfg><user>app</user><password>{MASK}</password></cfg>"),
        ("<password>hunter2</Password>", f"<password>{MASK}</Password>"),
    ],
)
def test_secret_element_masked(text: str, expected: str) -> None:
    assert_masked(text, expected)


@pytest.mark.parametrize(
    "text",
    [
        "<password></password>",
        "<password/>",
        "<password>${DB_PASSWORD}</password>",
        "<password>   </password>",
        "<password>hunter2</passwd>",
        "<password>hunter2x</user>",
        "<token>abc</token>",
        "<secret>true</secret>",
        "<password_policy>strict</password_policy>",
        "<td>password</td><td>hunter2</td>",
        "<key>abc123def456</key>",
        "<keyword>abc123def456</keyword>",
    ],
)
def test_plain_element_kept(text: str) -> None:
    assert_kept(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("API key: abc123def456", f"API key: {MASK}"),
        ("api key=abc123def456", f"api key={MASK}"),
        ('API key = "abcdefghij"', f'API key = "{MASK}"'),
        ("Stripe API key: sk_live_abc", f"Stripe API key: {MASK}"),
        ("SSH key: AAAAB3NzaC1yc2EAAAADAQAB", f"SSH key: {MASK}"),
        ("secret key = abc12345xyz", f"secret key = {MASK}"),
        ("access key: wJalrXUtn9", f"access key: {MASK}"),
        ("client secret = abcdefgh1234", f"client secret = {MASK}"),
        ("access token: abc123def456ghi", f"access token: {MASK}"),
        ("API  key: abc123def456", f"API  key: {MASK}"),
        ("API key: aesKq9x8Lm2Zp7", f"API key: {MASK}"),
        ("API key: /Kx9fPq2LmN8vRt4ZaB", f"API key: {MASK}"),
    ],
)
def test_two_word_name_masked(text: str, expected: str) -> None:
    assert_masked(text, expected)


@pytest.mark.parametrize(
    "text",
    [
        "the API key is stored in the vault",
        "API key: see the vault",
        "SSH key: ed25519",
        "Encryption key: AES-256",
        "Encryption key: aes-256-gcm",
        "API key: missing",
        "API key: abcdefghij",
        "API key: 1234567890",
        "API key: ${API_KEY}",
        "API keys: abc123def456",
        "public key: AAAAB3NzaC1yc2EAAAADAQAB",
        "the key: abc123def456",
        "monkey: abc123def456",
        "password: see the vault",
        "client secret: see the vault",
        "api key: " * 7000,
    ],
    ids=lambda text: repr(text[:24]),
)
def test_two_word_prose_kept(text: str) -> None:
    assert_kept(text)


@pytest.mark.parametrize(
    "text",
    [
        "<password>" + "a" * 65536,
        "<password>a" + " " * 65536 + "</passwor",
        "<password>" + "a " * 30000 + "</passwor",
        "<password " + " " * 65536,
        "<password>" * 6000,
        "x key:" * 10000,
        "db_pass " * 8000,
    ],
    ids=lambda text: repr(text[:12]),
)
def test_long_shape_text_has_no_finding(text: str) -> None:
    assert_kept(text)


@pytest.mark.parametrize(
    ("text", "kind_en", "kind_zh", "secret"),
    [
        ("password: 1234", "numeric password after a password's name", "密码名称后的数字密码",
         "1234"),
        ("<password>hunter2</password>", "password or token in an XML element",
         "XML 元素中的密码或令牌", "hunter2"),
        ("API key: abc123def456", "key after a two-word name such as API key",
         "API key 等两词名称后的密钥", "abc123def456"),
    ],
)
def test_summary_rejects_new_shape(text: str, kind_en: str, kind_zh: str, secret: str) -> None:
    data = envelope(common__highlights=["ok", text])

    with pytest.raises(SummaryValidationError) as caught:
        check_summary(data)

    [violation] = caught.value.violations
    assert (violation.rule, violation.path) == ("secret.value", "$.common.highlights[1]")
    assert f"({kind_en})" in violation.message_en
    assert f"（{kind_zh}）" in violation.message_zh
    assert secret not in caught.value.message("en")
    assert secret not in caught.value.message("zh-CN")
