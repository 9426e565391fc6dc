"""Value rules: patterns that find a secret or personal data inside a string.

A pattern that could start inside a word begins with a look-behind (or, for AWS key ids, an
``accept`` check) so that it never matches in the middle of a longer token. Every repetition is
bounded or stops at a delimiter, so no search backtracks catastrophically, and ``text_scan`` tries
each pattern only near its anchors. No pattern matches a NUL
character, which separates the strings of a document scanned at once.

Only strings are searched; numbers are taken as counts and never read as phone or card numbers.
The patterns are written for ASCII text: ``text_scan`` runs them over the folded view of a text,
where full-width digits, letters and punctuation have become ASCII and zero-width characters are
gone. Patterns are judged in the order of ``DETECTORS``. A later match whose secret span
overlaps the span of an earlier finding is taken as the same finding and dropped. The detectors
of a name and its value (``PGPASSWORD=…``, ``token: …``) take their rules from
``credential_text``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from taskrun_center.contract.credential_text import (
    KEY_LIKE_VALUE,
    LINE_VALUE,
    NAME,
    NAME_ANCHORS,
    NAME_BOUNDARY,
    NAME_CHARACTERS,
    NAME_REACH,
    NUMERIC_PASSWORD_VALUE,
    OUTER_QUOTE,
    PARAMETER_VALUE,
    QUOTED_OR_BARE_VALUE,
    aws_secret_key_accepted,
    field_accepted,
    is_placeholder,
    key_like_accepted,
    name_value_accepted,
    numeric_password_accepted,
    option_accepted,
    parameter_accepted,
    secret_name_at,
    spaced_key_accepted,
    word_looks_secret,
)
from taskrun_center.i18n import Text

# The fixed replacement for a masked span; the guards accept a value made only of "*".
MASK = "******"


@dataclass(frozen=True, slots=True)
class Detector:
    """One kind of secret or personal data recognised in text.

    ``text_scan`` tries a pattern only where a match can start: at most ``reach_before``
    characters before an occurrence of one of ``anchors`` (lowercase literals every match
    contains), or inside a run of digits for the ``digits`` detectors. A pattern keeps its
    look-behind, which reads the real text before the position tried.
    """

    kind: str
    rule: str
    pattern: re.Pattern[str]
    label: Text
    # The group that contains the secret itself. Only that span is masked (0: the whole match).
    group: int | str = 0
    # Extra check on a match (check digit, Luhn, placeholder); a False result means no finding.
    accept: Callable[[re.Match[str]], bool] | None = None
    anchors: tuple[str, ...] = ()
    # How many characters before an anchor occurrence a match may start.
    reach_before: int = 0
    # Characters a match may start with before its anchor. When set, only the start of the run
    # of these characters that ends at the anchor is tried, because the look-behind rules out
    # every other start.
    run_before: str | None = None
    # Check of the name that starts at a candidate start, made before the pattern runs, so that
    # a name that names no secret costs no scan of the value after it.
    name_check: Callable[[str, int], bool] | None = None
    digits: bool = False
    # The pattern starts with a literal, so CPython searches the whole text quickly.
    whole_text: bool = False


def _not_masked(group: int) -> Callable[[re.Match[str]], bool]:
    def accept(match: re.Match[str]) -> bool:
        value = match.group(group)
        return bool(value.strip("*")) and not is_placeholder(value)

    return accept


def _password_word_accepted(match: re.Match[str]) -> bool:
    value = match.group("value")
    if value.startswith("-") or not value.strip("*") or is_placeholder(value):
        return False
    if value.endswith(":"):
        # A label: "password policy: min 12 chars", "password hint:".
        return False
    return word_looks_secret(value)


def _mysql_password_accepted(match: re.Match[str]) -> bool:
    value = match.group("value").strip("\"'")
    if not value.strip("*") or is_placeholder(value):
        return False
    # "-p" takes a value only in the MySQL family: ssh, docker and mkdir use it for a port, a
    # port mapping or parents. The same line must name a MySQL client or pass a user first.
    text = match.string
    start = match.start()
    window = max(start - _MYSQL_CONTEXT_CHARS, 0)
    line_start = max(text.rfind("\n", window, start), text.rfind("\x00", window, start), window - 1)
    line = text[line_start + 1 : start]
    # Substring tests run in C and rule out most lines before the regular expression runs.
    if "mysql" not in line and "mariadb" not in line and "-u" not in line:
        return False
    return _MYSQL_CONTEXT.search(line) is not None


def _basic_auth_accepted(match: re.Match[str]) -> bool:
    value = match.group("value")
    if not value.strip("*") or is_placeholder(value) or value.startswith("$") or value.isdigit():
        # A shell variable ("$PASS") is a reference, not the password.
        return False
    # "-u" names a user in many programs (docker, ps, crontab); only curl takes user:password.
    # The search stays within the window of the MySQL rule, so that a long line full of "-u"
    # costs no long search per match.
    text = match.string
    start = match.start()
    window = max(start - _MYSQL_CONTEXT_CHARS, 0)
    line_start = max(text.rfind("\n", window, start), text.rfind("\x00", window, start), window - 1)
    return "curl" in text[line_start + 1 : start]


def _chinese_credential_accepted(match: re.Match[str]) -> bool:
    value = match.group("value")
    if not value.strip("*") or is_placeholder(value):
        return False
    # After "=" any value is a password. After a colon the prose rule of credential_field holds,
    # and four digits or more are a PIN, as after "password:".
    if match.group("separator") == "=" or _PIN.fullmatch(value):
        return True
    return word_looks_secret(value)


_PIN = re.compile(r"[0-9]{4,64}")
# An XML comment of at most 256 characters. NOTE: a comment that contains "<" or ">" is not
# recognised, which keeps a text full of "<!--" cheap to scan, so an element value next to such a
# comment is not searched.
_XML_COMMENT_PATTERN = r"<!--(?:[^<>\x00-]|-(?!->)){0,256}+-->"
_XML_COMMENT = re.compile(_XML_COMMENT_PATTERN)


def _element_accepted(match: re.Match[str]) -> bool:
    value = match.group("value")
    close = match.group("close")
    if close is None:
        # An element cut off at the end of the text ("<password>hunter2"). Words after
        # "<password>" are more often prose about that placeholder ("<password> here"), so
        # only one word counts, and it must look like a secret as after "password:".
        if any(char.isspace() for char in value) or not word_looks_secret(value):
            return False
    elif close.lower() != match.group("name").lower():
        # HTML, and XML written by hand, may close an element in another letter case.
        return False
    if "<!--" in value:
        value = _XML_COMMENT.sub("", value).strip()
    return name_value_accepted(match.group("name"), value, quoted=False)


def _bearer_accepted(match: re.Match[str]) -> bool:
    token = match.group(1)
    if not token.strip("*"):
        return False
    # English prose ("Bearer authentication") has no digits or punctuation and stays short.
    return len(token) >= 20 or any(char.isdigit() or char in "._-~+/" for char in token)


def resident_id_valid(digits: str) -> bool:
    """Return True when an 18-character resident ID has a valid ISO 7064 MOD 11-2 check digit."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(char) * weight for char, weight in zip(digits[:17], weights, strict=True))
    expected = "10X98765432"[total % 11]
    return digits[17].upper() == expected


def luhn_valid(digits: str) -> bool:
    """Return True when a digit string passes the Luhn check used by bank cards."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _starts_word(match: re.Match[str]) -> bool:
    # Only an ASCII letter or digit before the match makes it part of a longer token; Chinese
    # text may run straight into a key id.
    start = match.start()
    before = match.string[start - 1 : start]
    return not (before.isascii() and before.isalnum())


def _resident_id_accepted(match: re.Match[str]) -> bool:
    return resident_id_valid(match.group(0))


def _bank_card_accepted(match: re.Match[str]) -> bool:
    digits = re.sub(r"[ -]", "", match.group(0))
    if len(digits) == 18 and resident_id_valid(digits):
        return False
    return luhn_valid(digits)


def _email_accepted(match: re.Match[str]) -> bool:
    # "git@github.com:org/repo.git" is an SSH remote, not an address.
    following = match.string[match.end() : match.end() + 2]
    return not (following.startswith(":") and following[1:2] not in ("", " "))


_SECRET = "secret.value"
# Clients whose "-p" option takes the password glued to it (mysql -u app -pSECRET).
_MYSQL_CLIENTS = (
    r"mysql|mysqldump|mysqladmin|mysqlimport|mysqlshow|mysqlcheck|mysqlpump|mysqlslap|mysqlsh"
    r"|mysqlbinlog|mariadb|mariadb-dump|mariadb-admin|mariadb-import|mariadb-check"
)
_MYSQL_CONTEXT = re.compile(
    r"(?:^|[\s/\\])(?:" + _MYSQL_CLIENTS + r")(?:\.exe)?\s"
    r"|(?:^|\s)(?:-u[ \t]*[^\s-]\S*|--user[= ]\S+)\s"
)
# How far before "-p" the client name or user option is looked for. A command line is short,
# and the bound keeps a text full of "-p" words from costing a long search per word.
_MYSQL_CONTEXT_CHARS = 256

def _named_secret(kind: str, rule: str, pattern: re.Pattern[str], label: Text, *,
                  accept: Callable[[re.Match[str]], bool]) -> Detector:
    """Return a detector of a value after a secret's name (``password=…``, ``token: …``).

    The value is the group ``value``. The scan tries each start of a name that ends at one of
    ``NAME_ANCHORS`` and checks the name before it runs the pattern.
    """
    return Detector(kind, rule, pattern, label, group="value", accept=accept,
                    anchors=NAME_ANCHORS, reach_before=NAME_REACH, run_before=NAME_CHARACTERS,
                    name_check=secret_name_at)


DETECTORS: tuple[Detector, ...] = (
    Detector(
        "private_key",
        _SECRET,
        re.compile(
            r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
            r"(?:[^\x00]*?-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|[^\x00]*)"
        ),
        Text("PEM 私钥", "PEM private key"),
        anchors=("-----begin",),
    ),
    Detector(
        "jwt",
        _SECRET,
        re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*"),
        Text("JWT 令牌", "JWT"),
        anchors=("eyj",),
    ),
    Detector(
        "url_password",
        _SECRET,
        re.compile(
            # The password runs to the last "@" before the path, so "p@ss" in user:p@ss@host
            # is masked whole.
            r"://[^\s/?#@:\x00]{0,256}:([^\s/?#\x00]{1,256})@"
        ),
        Text("URL 中的密码", "password in a URL"),
        group=1,
        accept=_not_masked(1),
        anchors=("://",),
    ),
    Detector(
        "authorization_header",
        _SECRET,
        re.compile(
            r"(?i)(?<![A-Za-z0-9])(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?"
            r"(?:basic|bearer|digest|token|negotiate|apikey|ntlm)\s+([A-Za-z0-9._~+/=-]{6,4096})"
        ),
        Text("Authorization 凭据", "Authorization credentials"),
        group=1,
        accept=_not_masked(1),
        anchors=("authorization",),
        reach_before=len("proxy-"),
    ),
    Detector(
        "bearer_token",
        _SECRET,
        re.compile(r"(?i)(?<![A-Za-z0-9])bearer\s+([A-Za-z0-9._~+/-]{8,4096}=*)"),
        Text("Bearer 令牌", "Bearer token"),
        group=1,
        accept=_bearer_accepted,
        anchors=("bearer",),
    ),
    _named_secret(
        "credential_parameter",
        _SECRET,
        re.compile(
            OUTER_QUOTE + NAME_BOUNDARY + r"-{0,2}" + NAME + r"\\?[\"']?"
            r"(?:\s*=>?\s*|\s*:\s*(?=\\?[\"']))" + PARAMETER_VALUE
        ),
        Text("参数中的密码或令牌", "password or token in a key=value parameter"),
        accept=parameter_accepted,
    ),
    _named_secret(
        # Before credential_field, whose value would run on over JSON punctuation
        # ('"password": 1234}'): this one masks the digits alone.
        "numeric_password",
        _SECRET,
        re.compile(NAME_BOUNDARY + NAME + r"[\"']?[ \t]*:[ \t]*" + NUMERIC_PASSWORD_VALUE),
        Text("密码名称后的数字密码", "numeric password after a password's name"),
        accept=numeric_password_accepted,
    ),
    _named_secret(
        "credential_field",
        _SECRET,
        re.compile(NAME_BOUNDARY + NAME + r"[\"']?[ \t]*:[ \t]*" + LINE_VALUE),
        Text("字段中的密码或令牌", "password or token in a name: value field"),
        accept=field_accepted,
    ),
    Detector(
        "credential_pair",
        _SECRET,
        re.compile(
            r"(?i)(?<![A-Za-z0-9_])[\"']?(?:key|name|field|param|parameter)[\"']?[ \t]*[=:][ \t]*"
            r"[\"']?" + NAME + r"[\"']?[ \t]*[,;&]?[ \t]*"
            r"[\"']?(?:value|val)[\"']?[ \t]*[=:][ \t]*" + QUOTED_OR_BARE_VALUE
        ),
        Text("键值对中的密码或令牌", "password or token in a key and value pair"),
        group="value",
        accept=parameter_accepted,
        anchors=("key", "name", "field", "param"),
        reach_before=1,
    ),
    _named_secret(
        "credential_option",
        _SECRET,
        re.compile(NAME_BOUNDARY + r"--?" + NAME + r"[ \t]+" + QUOTED_OR_BARE_VALUE),
        Text("命令行选项中的密码或令牌", "password or token in a command-line option"),
        accept=option_accepted,
    ),
    _named_secret(
        # XML or HTML-like markup: <password>hunter2</password>, <apiKey id="1">…</apiKey>.
        # Line breaks may appear inside the tags and around the value, and comments before,
        # inside and after it. The text may end after the value with no closing tag. NOTE: a
        # value in a CDATA section, or an element name with a namespace prefix (<ns:password>),
        # is not searched.
        "credential_element",
        _SECRET,
        # The value starts and ends with a non-space character, so the spaces around it match
        # in one way only, and a long run of spaces costs no nested backtracking.
        re.compile(
            r"(?<=<)" + NAME + r"(?:\s[^<>\x00]{0,256})?>\s*+"
            r"(?:" + _XML_COMMENT_PATTERN + r"\s*+){0,8}+"
            r"(?P<value>[^<\s\x00](?:(?:[^<\x00]|" + _XML_COMMENT_PATTERN + r"){0,4094}"
            r"[^<\s\x00])?)\s*+(?:" + _XML_COMMENT_PATTERN + r"\s*+){0,8}+"
            r"(?:</(?P<close>[A-Za-z0-9_][A-Za-z0-9_.-]{0,63})\s*>|(?![^\x00]))"
        ),
        Text("XML 元素中的密码或令牌", "password or token in an XML element"),
        accept=_element_accepted,
    ),
    Detector(
        # "API key: …", "secret key = '…'": a secret name of two words whose last word, "key",
        # names no secret alone. Names whose last word does (client secret, access token) are
        # found by the detectors above.
        "spaced_key_name",
        _SECRET,
        re.compile(
            # A short qualifier in brackets may come before the colon: "API key (prod): …".
            r"(?i)(?<=[ \t])key(?P<plural>s)?[\"']?(?:[ \t]*\([^()\r\n\x00]{1,64}\))?"
            r"[ \t]*(?:=>?|:)[ \t]*" + QUOTED_OR_BARE_VALUE
        ),
        Text("API key 等两词名称后的密钥", "key after a two-word name such as API key"),
        group="value",
        accept=spaced_key_accepted,
        anchors=("key",),
    ),
    Detector(
        "password_word",
        _SECRET,
        re.compile(
            r"(?i)(?<![A-Za-z0-9_-])(?P<name>password|passwd|passphrase)[ \t]+"
            r"(?P<value>[^\s;&,'\"<>=\x00]{1,4096})"
        ),
        Text("密码一词后的密码", "password after the word password"),
        group=2,
        accept=_password_word_accepted,
        anchors=("pass",),
    ),
    _named_secret(
        "secret_word",
        _SECRET,
        re.compile(NAME_BOUNDARY + NAME + r"[ \t]+" + KEY_LIKE_VALUE),
        Text("机密名称后的密钥或令牌", "key or token after a secret's name"),
        accept=key_like_accepted,
    ),
    Detector(
        "mysql_password",
        _SECRET,
        re.compile(
            r"(?<!\S)-p(?P<value>'[^'\n\x00]{1,4096}'|\"[^\"\n\x00]{1,4096}\""
            r"|[^\s;&|<>\x00]{1,4096})"
        ),
        Text("MySQL 命令行中的密码", "password in a MySQL command line"),
        group=1,
        accept=_mysql_password_accepted,
        anchors=("-p",),
    ),
    Detector(
        "basic_auth_option",
        _SECRET,
        # curl -u user:password, --user user:password (a uid:gid pair, as docker -u takes, is no
        # credential: the line must name curl, and digits alone are left).
        re.compile(
            r"(?<![^\s\x00])(?:-u|--user)(?:[ \t]+|=)[\"']?[^\s:\"'\x00]{1,256}:"
            r"(?P<value>[^\s\"'\x00]{1,4096})"
        ),
        Text("命令行中 user:password 形式的密码", "password in a user:password option"),
        group=1,
        accept=_basic_auth_accepted,
        anchors=("-u",),
        reach_before=1,
    ),
    Detector(
        "sshpass_password",
        _SECRET,
        re.compile(
            # NUL separates the strings of a summary that are scanned together.
            r"(?<![^\s\x00])sshpass(?:[ \t]+-[^p\s]\S*)*[ \t]+-p[ \t]*"
            r"(?P<value>'[^'\n\x00]{1,4096}'|\"[^\"\n\x00]{1,4096}\"|[^\s;&|<>\x00]{1,4096})"
        ),
        Text("sshpass 命令行中的密码", "password in an sshpass command line"),
        group=1,
        accept=_not_masked(1),
        anchors=("sshpass",),
    ),
    Detector(
        "chinese_credential",
        _SECRET,
        re.compile(
            r"(?P<name>密码|口令|密钥|令牌|凭证|凭据)[ \t]*(?P<separator>[:=])[ \t]*[\"'“‘「]?"
            r"(?P<value>[^\s;&,'\"<>\x00“”‘’「」。、]{1,4096})"
        ),
        Text("中文标注的密码或令牌", "password or token after a Chinese label"),
        group=3,
        accept=_chinese_credential_accepted,
        # One character each, because CPython finds a single character much faster than a pair.
        anchors=("密", "口", "令", "凭"),
    ),
    Detector(
        "aws_access_key_id",
        _SECRET,
        # Starts with the literal "A" (no look-behind) so that the scan of the whole text is fast.
        # The character before the match is checked in accept.
        re.compile(r"A(?:KIA|SIA|BIA|CCA|GPA|IDA|ROA|IPA|NPA|NVA|PKA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
        Text("AWS 访问密钥 ID", "AWS access key id"),
        accept=_starts_word,
        whole_text=True,
    ),
    Detector(
        "aws_secret_access_key",
        _SECRET,
        # 40 characters of base64 later on a line that contains "aws" or "secret". A bare string
        # of 40 characters is too common (and too slow to look for everywhere) to count alone.
        re.compile(
            r"(?i)(?<![A-Za-z0-9])(?:aws|secret)[^\r\n\x00]{0,64}?"
            r"(?<![A-Za-z0-9/+=])(?P<value>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
        ),
        Text("AWS 秘密访问密钥", "AWS secret access key"),
        group="value",
        accept=aws_secret_key_accepted,
        anchors=("aws", "secret"),
    ),
    Detector(
        "vendor_token",
        _SECRET,
        re.compile(
            r"(?<![A-Za-z0-9_-])(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255}"
            r"|xox[abposr]-[A-Za-z0-9-]{10,255}|sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,255}"
            r"|[sr]k_(?:live|test)_[A-Za-z0-9]{16,255}|AIza[0-9A-Za-z_-]{35}"
            r"|glpat-[A-Za-z0-9_-]{20,255}|npm_[A-Za-z0-9]{36,255}|pypi-AgE[A-Za-z0-9_-]{50,}"
            r"|SG\.[A-Za-z0-9_-]{16,255}\.[A-Za-z0-9_-]{16,255}|LTAI[A-Za-z0-9]{12,30}"
            r"|AKID[A-Za-z0-9]{13,40})"
        ),
        Text("服务商 API 令牌", "vendor API token"),
        anchors=("gh", "xox", "sk-", "sk_", "rk_", "aiza", "glpat-", "npm_", "pypi-", "sg.",
                 "ltai", "akid"),
    ),
    Detector(
        "resident_id",
        "personal_data.resident_id",
        re.compile(
            r"(?<![0-9A-Za-z])[1-9][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])"
            r"(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx](?![0-9A-Za-z])"
        ),
        Text("居民身份证号", "resident ID number"),
        accept=_resident_id_accepted,
        digits=True,
    ),
    Detector(
        "bank_card",
        "personal_data.bank_card",
        re.compile(
            r"(?<![0-9A-Za-z])[3-6][0-9]{3}(?:[ -]?[0-9]{4}){3}(?:[ -]?[0-9]{1,3})?(?![0-9A-Za-z])"
        ),
        Text("银行卡号", "bank card number"),
        accept=_bank_card_accepted,
        digits=True,
    ),
    Detector(
        "mobile",
        "personal_data.mobile",
        re.compile(
            r"(?<![0-9A-Za-z+])(?:\+?86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]{4}){2}(?![0-9A-Za-z])"
        ),
        Text("手机号码", "mobile phone number"),
        digits=True,
    ),
    Detector(
        "email",
        "personal_data.email",
        re.compile(
            r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@"
            r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}(?![A-Za-z0-9-])"
        ),
        Text("电子邮件地址", "e-mail address"),
        accept=_email_accepted,
        anchors=("@",),
        reach_before=64,
        run_before="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-",
    ),
)

DETECTORS_BY_KIND = {detector.kind: detector for detector in DETECTORS}
