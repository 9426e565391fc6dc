"""Synthetic secrets and personal data, one per kind, and look-alikes that are not sensitive."""

from __future__ import annotations

from taskrun_center.contract.detectors import luhn_valid, resident_id_valid


def with_luhn_digit(prefix: str) -> str:
    """Return ``prefix`` plus the digit that makes it pass Luhn."""
    for digit in "0123456789":
        if luhn_valid(prefix + digit):
            return prefix + digit
    raise AssertionError("unreachable: one digit always completes a Luhn number")


def with_resident_check(prefix17: str) -> str:
    """Return a 17-digit prefix plus its valid ISO 7064 MOD 11-2 check character."""
    for char in "0123456789X":
        if resident_id_valid(prefix17 + char):
            return prefix17 + char
    raise AssertionError("unreachable: one character always completes a resident ID")


def without_luhn_digit(prefix: str) -> str:
    """Return ``prefix`` plus a digit that makes it fail Luhn."""
    valid = with_luhn_digit(prefix)
    return prefix + str((int(valid[-1]) + 1) % 10)


RESIDENT_ID = with_resident_check("11010519900307123")
BANK_CARD_19 = with_luhn_digit("622202123456789012")
BANK_CARD_16_SPACED = "4111 1111 1111 1111"

# (rule, kind, text containing the finding); the last word of each text is secret.
SENSITIVE_VALUES: list[tuple[str, str, str]] = [
    ("secret.value", "url_password", "postgresql://app:S3cretPass@db.internal:5432/main"),
    ("secret.value", "url_password", "redis://:S3cretPass@cache:6379/0"),
    ("secret.value", "credential_parameter", "host=db dbname=x user=app password=S3cretPass"),
    ("secret.value", "credential_parameter", "jdbc:mysql://db:3306/app?user=app&password=S3cret"),
    ("secret.value", "credential_parameter", "Server=db;Uid=app;Pwd=S3cretPass;"),
    ("secret.value", "credential_parameter", 'config {"api_key": "k-8f14e45fceea167a"}'),
    ("secret.value", "credential_field", "db:\n  host: db1\n  password: hunter2"),
    ("secret.value", "credential_field", "Token: 8f14e45fceea167a5a36"),
    ("secret.value", "jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlX2hlcmU"),
    ("secret.value", "bearer_token", "Authorization: Bearer 8f14e45fceea167a5a36dedd4bea2543"),
    ("secret.value", "authorization_header", "Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l"),
    (
        "secret.value",
        "private_key",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
    ),
    ("secret.value", "private_key", "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADAN (cut)"),
    ("secret.value", "aws_access_key_id", "key id in use: AKIAIOSFODNN7EXAMPLE"),
    ("secret.value", "aws_access_key_id", "密钥AKIAIOSFODNN7EXAMPLE"),
    ("secret.value", "vendor_token", "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"),
    ("secret.value", "vendor_token", "sk-proj-abcdefghijklmnopqrstuvwx"),
    ("secret.value", "vendor_token", "xoxb-1234567890-abcdefghij"),
    ("secret.value", "vendor_token", "glpat-abcdefghij0123456789"),
    ("personal_data.mobile", "mobile", "联系人张三 13812345678"),
    ("personal_data.mobile", "mobile", "+86 138 1234 5678"),
    ("personal_data.mobile", "mobile", "tel:+8613812345678"),
    ("personal_data.resident_id", "resident_id", f"身份证 {RESIDENT_ID}"),
    ("personal_data.bank_card", "bank_card", f"卡号 {BANK_CARD_19}"),
    ("personal_data.bank_card", "bank_card", BANK_CARD_16_SPACED),
    ("personal_data.email", "email", "请联系 zhang.san@example.com"),
    ("personal_data.email", "email", "ops+alerts@mail.example.co.uk"),
    ("secret.value", "credential_option", "--password hunter2hunter2"),
    ("secret.value", "credential_option", "psql --token 8f14e45fceea167a"),
    ("secret.value", "password_word", "passwd hunter2hunter2"),
    ("secret.value", "mysql_password", "mysql -h db -u app -pHunter2Hunter2"),
    ("secret.value", "mysql_password", "mysqldump -pHunter2Hunter2"),
    ("secret.value", "basic_auth_option", "curl -fsS -u admin:Hunter2Hunter2"),
    ("secret.value", "basic_auth_option", "curl --user=admin:Hunter2Hunter2"),
    ("secret.value", "sshpass_password", "sshpass -p Hunter2Hunter2"),
    ("secret.value", "sshpass_password", "sshpass -e -pHunter2Hunter2"),
    ("secret.value", "chinese_credential", "密码：hunter2hunter2"),
    ("secret.value", "chinese_credential", "数据库密码=abc123"),
    ("secret.value", "chinese_credential", "口令: hunter2hunter2"),
    ("secret.value", "credential_pair", "key=password value=hunter2"),
    ("personal_data.mobile", "mobile", "１３８１２３４５６７８"),
    ("personal_data.mobile", "mobile", "1\u200b3812345678"),
    ("personal_data.email", "email", "bob＠example.com"),
    ("secret.value", "credential_parameter", "PGPASSWORD=Hunter2Secret"),
    ("secret.value", "credential_parameter", "mypassword=hunter2"),
    ("secret.value", "credential_parameter", "export DB_PASSWORD=hunter2"),
    ("secret.value", "credential_parameter", "x-api-key=k-8f14e45fceea167a"),
    ("secret.value", "credential_parameter", "client.secret=8f14e45fceea167a"),
    ("secret.value", "credential_parameter", "{'PGPASSWORD': 'Hunter2Secret'}"),
    ("secret.value", "credential_field", "X-Api-Key: 8f14e45fceea167a"),
    ("secret.value", "credential_field", "password: correct horse battery"),
    ("secret.value", "credential_option", "--db-password hunter2hunter2"),
    ("secret.value", "authorization_header", "Authorization: Bearer abcdefghij"),
    ("secret.value", "secret_word", "secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    (
        "secret.value",
        "aws_secret_access_key",
        "AWS secret access key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
]

# Realistic values that must not be flagged anywhere.
HARMLESS_VALUES: list[str] = [
    '{"usage":{"prompt_tokens":1200,"total_tokens":1500}}',
    "tokens: 1500 (prompt 1000)",
    "secrets: 3 rotated, 0 failed",
    "password policy: min 12 chars",
    "6f1c3a9e-1c4b-4d0a-9e9b-1a2b3c4d5e6f",
    "db.internal:5432",
    "postgresql://app@db.internal:5432/main",
    "https://example.com/path?page=2&size=50",
    without_luhn_digit("622202123456789012"),
    "1234567890123456789",
    "2026-01-02",
    "2026-01-02T03:04:05+08:00",
    "同步完成，共 3 个实例，新增账号 21 个",
    "git@github.com:org/repo.git",
    "Bearer authentication is used",
    "12345678901",
    "password=${DB_PASSWORD}",
    "password=******",
    "max_token=5",
    "password: reset for 3 users",
    "token: expired",
    "password:\n  from_env: DB_PASSWORD_FILE",
    "tokens used: 1500",
    "task-abcdefghijklmnopqrstuvwxyz",
    "版本 v1.2.3，耗时 1733300000123 毫秒",
    "Asia/Shanghai",
    "XAKIAIOSFODNN7EXAMPLE",
    f"id {RESIDENT_ID[:-1]}{'0' if RESIDENT_ID[-1] != '0' else '1'}",
    "ssh -p2222 deploy@host",
    "docker run -p8080:80 nginx",
    "mkdir -p /var/lib/app",
    "-pHunter2Hunter2",
    "mysql -u app -p",
    "docker run -u 1000:1000 image",
    "ps -u root:wheel",
    "curl -u 1000:1000 http",
    "mysql -h db -P3306",
    "--password --verbose",
    "--token 5",
    "passwd alice",
    "密码：已重置",
    "口令已过期，请联系管理员",
    "key=password value=******",
    "全角文本：ＡＢＣ，版本 １．２",
    "password_policy=strict",
    "passwords=3",
    "secretary: Jane Smith",
    "keyword=foo",
    "tokens: 120",
    "max_tokens: 4096",
    "passport: E12345678",
    "password: not set",
    "token expired",
    "secret santa",
    "OLDPWD=/home/app",
    "https://token.example.com:8443/x",
    "--no-password localhost",
    "docker login --password-stdin registry.example.com",
    "commit 3f786850e387550fdab836ed7e6dc881de23001b",
]
