"""Secret names in variant spellings, and values that only describe or point to a secret.

Masked: camelCase names (passWord), signed PINs, plural and qualified key names (API keys,
X-API key, API key (prod)), numbers under *_pass names, and XML elements with line breaks,
comments or no closing tag. Kept: key files and algorithms under a key's name, references to a
secret store, password hints and check results.

A failure message names the case and shows the output with the secret replaced, so no secret
reaches a test report.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from taskrun_center.contract import (
    MASK,
    SummaryValidationError,
    check_summary,
    find_sensitive,
    mask_json,
    mask_text,
)
from taskrun_center.contract.secret_keys import split_key_words
from tests.contract.factories import envelope

SECRET_SHOWN_AS = "<SECRET>"


def assert_masked(text: str, expected: str, secret: str) -> None:
    result = mask_text(text)
    redacted = result.value.replace(secret, SECRET_SHOWN_AS)

    masked_as_expected = result.value == expected
    assert masked_as_expected, f"masked output differs from the expected one: {redacted!r}"
    assert result.count == 1, f"{result.count} findings in {redacted!r}"
    assert mask_text(result.value).value == result.value, "masking again changed the output"
    assert find_sensitive({"message": result.value}) == [], "the guards reject masked output"


def assert_json_masked(
    value: Mapping[str, object], expected: dict[str, object], count: int
) -> None:
    result = mask_json(value)

    masked_as_expected = result.value == expected
    assert masked_as_expected, f"keys masked differently from {sorted(expected)}"
    assert result.count == count


def assert_kept(text: str) -> None:
    result = mask_text(text)

    assert result.value == text
    assert result.count == 0


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("passWord", ("password",)),
        ("PassPhrase", ("passphrase",)),
        ("passCode", ("passcode",)),
        ("passWd", ("passwd",)),
        ("dbPassWord", ("db", "password")),
        ("PassWORDS", ("password",)),
        ("passCodeLength", ("passcode", "length")),
        ("bypassCode", ("bypass", "code")),
        ("smtpPass", ("smtp", "pass")),
    ],
)
def test_camel_case_pass_word_split(key: str, words: tuple[str, ...]) -> None:
    assert split_key_words(key) == words


@pytest.mark.parametrize(
    ("text", "expected", "secret"),
    [
        pytest.param("passWord=hunter2", f"passWord={MASK}", "hunter2", id="passWord="),
        pytest.param('PassPhrase: "correct horse"', f'PassPhrase: "{MASK}"', "correct horse",
                     id="PassPhrase quoted"),
        pytest.param("passCode=8812", f"passCode={MASK}", "8812", id="passCode="),
        pytest.param('{"passWord": "hunter2"}', f'{{"passWord": "{MASK}"}}', "hunter2",
                     id="passWord in JSON text"),
        pytest.param("dbPassWord: hunter2x", f"dbPassWord: {MASK}", "hunter2x",
                     id="dbPassWord field"),
        pytest.param("password: -1234", f"password: {MASK}", "-1234", id="negative PIN"),
        pytest.param('{"password": -1234}', f'{{"password": {MASK}}}', "-1234",
                     id="negative PIN in JSON text"),
        pytest.param("passcode: +4821", f"passcode: {MASK}", "+4821", id="signed PIN"),
    ],
)
def test_camel_case_and_signed_pin_masked(text: str, expected: str, secret: str) -> None:
    assert_masked(text, expected, secret)


@pytest.mark.parametrize(
    "value",
    [{"passWord": "hunter2"}, {"PassPhrase": "correct horse"}, {"passCode": 8812},
     {"userPassWord": "s3cret"}],
    ids=["passWord", "PassPhrase", "passCode number", "userPassWord"],
)
def test_json_camel_case_pass_key_masked(value: dict[str, object]) -> None:
    [key] = value

    assert_json_masked(value, {key: MASK}, 1)


@pytest.mark.parametrize(
    "text",
    ["password: -12", "bypassCode=1234", "passWordCount: 3", "passCodeLength=6",
     "compassWord: north"],
)
def test_camel_case_near_miss_kept(text: str) -> None:
    assert_kept(text)


@pytest.mark.parametrize(
    ("text", "expected", "secret"),
    [
        pytest.param("API keys: sk_live_abc123def456", f"API keys: {MASK}",
                     "sk_live_abc123def456", id="plural API keys"),
        pytest.param("X-API key: abc123def456", f"X-API key: {MASK}", "abc123def456",
                     id="X-API key"),
        pytest.param("x_api key = 'abc123def456'", f"x_api key = '{MASK}'", "abc123def456",
                     id="x_api key"),
        pytest.param("API key (prod): abc123def456", f"API key (prod): {MASK}",
                     "abc123def456", id="qualifier in brackets"),
        pytest.param("API     key: abc123def456", f"API     key: {MASK}", "abc123def456",
                     id="five spaces"),
        pytest.param("API\t\t\t\t\t\tkey: abc123def456", f"API\t\t\t\t\t\tkey: {MASK}",
                     "abc123def456", id="six tabs"),
    ],
)
def test_spaced_key_variant_masked(text: str, expected: str, secret: str) -> None:
    assert_masked(text, expected, secret)


@pytest.mark.parametrize(
    "text",
    [
        "API keys: 3",
        "API keys: rotated",
        "API keys: abc123def456",
        "API key (prod): missing",
        "the key (prod): abc123def456",
        "public key (prod): AAAAB3NzaC1yc2EAAAADAQAB",
        "API" + " " * 65 + "key: abc123def456",
        "monkey (prod): abc123def456",
    ],
    ids=lambda text: repr(text[:24]),
)
def test_spaced_key_variant_kept(text: str) -> None:
    assert_kept(text)


@pytest.mark.parametrize(
    ("text", "expected", "secret"),
    [
        pytest.param("db_pass: 1 hunter2", f"db_pass: {MASK}", "1 hunter2",
                     id="value starting with a digit"),
        pytest.param('{"db_pass": "12345678"}', f'{{"db_pass": "{MASK}"}}', "12345678",
                     id="quoted digits in JSON text"),
        pytest.param("export SMTP_PASS='4821'", f"export SMTP_PASS='{MASK}'", "4821",
                     id="quoted PIN in shell"),
    ],
)
def test_pass_name_number_masked(text: str, expected: str, secret: str) -> None:
    assert_masked(text, expected, secret)


@pytest.mark.parametrize(
    "text",
    [
        "db_pass: 1234",
        "DB_PASS=1234",
        '"smoke_pass": 12, "rows": 3',
        "smoke_pass: 12 passed, 0 failed",
        "smoke_pass: 12 of 14 (2 skipped)",
        '{"smoke_pass": "12/12 passed"}',
        '{"smoke_pass": "12"}',
        '{"tests_pass": "12/12"}',
    ],
)
def test_pass_name_count_kept(text: str) -> None:
    assert_kept(text)


def test_json_pass_key_digit_string_masked() -> None:
    value = {"db_pass": "12345678", "smoke_pass": 12}

    assert_json_masked(value, {"db_pass": MASK, "smoke_pass": 12}, 1)


@pytest.mark.parametrize(
    "value",
    ["12/12", "ok", "12/12 passed", "12 passed, 0 failed", "12", "98.5%"],
)
def test_json_pass_key_check_result_kept(value: str) -> None:
    result = mask_json({"smoke_pass": value, "tests_pass": value})

    assert result.value == {"smoke_pass": value, "tests_pass": value}
    assert result.count == 0


@pytest.mark.parametrize(
    ("text", "expected", "secret"),
    [
        pytest.param('<password\n  type="db">hunter2</password>',
                     f'<password\n  type="db">{MASK}</password>', "hunter2",
                     id="line break in the opening tag"),
        pytest.param("<password>hunter2</password\n>", f"<password>{MASK}</password\n>",
                     "hunter2", id="line break in the closing tag"),
        pytest.param("<password>\r\n  hunter2\r\n</password>",
                     f"<password>\r\n  {MASK}\r\n</password>", "hunter2", id="CRLF around"),
        pytest.param("<password><!-- db -->hunter2</password>",
                     f"<password><!-- db -->{MASK}</password>", "hunter2",
                     id="comment before the value"),
        pytest.param("<password>hunter2<!-- rotated --></password>",
                     f"<password>{MASK}<!-- rotated --></password>", "hunter2",
                     id="comment after the value"),
        pytest.param("<password>hun<!-- x -->ter2</password>", f"<password>{MASK}</password>",
                     "hun", id="comment inside the value"),
        pytest.param("config tail: <password>hunter2", f"config tail: <password>{MASK}",
                     "hunter2", id="no closing tag at the end"),
        pytest.param("<password>\n  hunter2\n", f"<password>\n  {MASK}\n", "hunter2",
                     id="no closing tag, line breaks"),
    ],
)
def test_secret_element_variant_masked(text: str, expected: str, secret: str) -> None:
    assert_masked(text, expected, secret)


def test_json_element_without_closing_tag_masked() -> None:
    value = {"log": "<password>hunter2", "next": "ok"}

    assert_json_masked(value, {"log": f"<password>{MASK}", "next": "ok"}, 1)


@pytest.mark.parametrize(
    "text",
    [
        "<password><!-- set by ops --></password>",
        "Enter your <password> here",
        "usage: login <user> <password>",
        "<password>hunter2 is not allowed",
        "<password>secret",
        "<token>abcdefgh1234 and more",
        "<passwordHint>my dog</passwordHint>",
        "<password>hunter2</passwd",
        "<password>" + "a" * 5000,
    ],
    ids=lambda text: repr(text[:24]),
)
def test_element_variant_kept(text: str) -> None:
    assert_kept(text)


@pytest.mark.parametrize(
    "text",
    [
        "Private key: server.pem",
        "key file: /etc/ssl/private/server.key",
        "Private key: /etc/ssl/private/server.key",
        "private_key: /etc/ssl/private/server.key",
        "private_key=/etc/ssl/private/server.key",
        "SSH key: ~/.ssh/id_ed25519",
        "ssh_key: ~/.ssh/id_ed25519",
        "signing key = ./keys/signing.p12",
        "API key: C:\\keys\\api.pem",
        "SSH key: ssh-ed25519",
        "ssh_key: ecdsa-sha2-nistp256",
        "Encryption key: aes256gcm",
        "encryption_key: AES-256-GCM",
        "secret: vault://secret/data/db",
        "password: vault://secret/data/db",
        "DB_PASSWORD=op://prod/db/password",
        "api_key: ref+awssecrets://prod/api#/key",
        '{"password": "vault://secret/data/db"}',
        "passwordHint: first pet",
        "password_expires: 2024-01-02",
        "password: changed 2024-01-02",
    ],
)
def test_key_description_and_reference_kept(text: str) -> None:
    assert_kept(text)


@pytest.mark.parametrize(
    ("text", "expected", "secret"),
    [
        # A base64 key contains "/" but never ".", "~", "_" or "-".
        pytest.param("private_key: /Kx9fPq2LmN8vRt4ZaB+w", f"private_key: {MASK}",
                     "/Kx9fPq2LmN8vRt4ZaB+w", id="base64 key starting with a slash"),
        # The key-file rule holds for key names only: a password may look like a path.
        pytest.param("password: /etc/app/secret.key", f"password: {MASK}",
                     "/etc/app/secret.key", id="path under a password name"),
        # A date right after "password:" is taken as the password, not as a date about it.
        pytest.param("password: 2024-01-02", f"password: {MASK}", "2024-01-02",
                     id="date as a password"),
    ],
)
def test_value_like_a_description_masked(text: str, expected: str, secret: str) -> None:
    assert_masked(text, expected, secret)


def test_reference_with_user_password_masked() -> None:
    result = mask_text("password: vault://app:s3cr3tpw@db")

    leaked = "s3cr3tpw" in result.value
    assert not leaked, "the password in the URL was not masked"
    assert result.count >= 1


@pytest.mark.parametrize(
    ("key", "value"),
    [("private_key", "server.pem"), ("sshKey", "~/.ssh/id_ed25519"),
     ("encryption_key", "aes256gcm"), ("password", "vault://secret/data/db"),
     ("api_token", "op://prod/api/token"), ("passwordHint", "my dog"),
     ("smoke_pass", "12 passed, 0 failed")],
)
def test_json_description_value_kept(key: str, value: str) -> None:
    result = mask_json({key: value})

    assert result.value == {key: value}
    assert result.count == 0


@pytest.mark.parametrize(
    "data",
    [{"db_pass": "12345678"}, {"passWord": "hunter2"}, {"password": "/etc/app/secret.key"}],
    ids=["pass digits", "camel passWord", "password path"],
)
def test_summary_rejects_variant_secret_key(data: dict[str, str]) -> None:
    with pytest.raises(SummaryValidationError) as caught:
        check_summary(envelope(ext__data=data))

    assert caught.value.rules == ["secret.key_name"]
    [secret] = data.values()
    leaked = secret in caught.value.message("en") or secret in caught.value.message("zh-CN")
    assert not leaked, "the violation message repeats the secret"


def test_summary_accepts_descriptions_and_references() -> None:
    data = envelope(
        ext__data={
            "private_key": "/etc/ssl/private/server.key",
            "password": "vault://secret/data/db",
            "passwordHint": "my dog",
            "smoke_pass": "12 passed, 0 failed",
        }
    )

    assert check_summary(data).size_bytes > 0


@pytest.mark.parametrize(
    "text",
    [
        "<password><!--" * 4700,
        "<password>a" + "<!-- x -->" * 6500,
        "<password>a<!--" + "-" * 65000,
        "<password\n" * 6000,
        "API" + " " * 65536 + "key: abc123def456",
        "API key (" * 7000,
        "API key (" + "a" * 65536,
        "passWord " * 7000,
    ],
    ids=lambda text: repr(text[:12]),
)
def test_long_variant_text_has_no_finding(text: str) -> None:
    assert_kept(text)


@pytest.mark.parametrize(
    ("text", "expected", "secret"),
    [
        ("password=***Hunter2xyz", "password=******", "Hunter2xyz"),
        ('DB_PASSWORD="***Zx9vQ2mN8pL4"', 'DB_PASSWORD="******"', "Zx9vQ2mN8pL4"),
        ("<password>***s3cr3tValue</password>", "<password>******</password>", "s3cr3tValue"),
        ("postgresql://app:***Hunter2@127.0.0.1/db", "postgresql://app:******@127.0.0.1/db",
         "Hunter2"),
    ],
)
def test_secret_after_stars_masked(text: str, expected: str, secret: str) -> None:
    """Stars in front of a secret do not make it a value masked before."""
    assert_masked(text, expected, secret)


@pytest.mark.parametrize("text", ["password=***1234", "password=******", "token=***"])
def test_value_masked_before_kept(text: str) -> None:
    assert_kept(text)
