"""Secrets written as a name and a value in text: ``PGPASSWORD=…``, ``"api_key": "…"``.

The name-value detectors of ``detectors`` match any name made of letters, digits, ``_``, ``.``
and ``-`` around a secret anchor, and the functions here decide. The name must name a secret by
the key-name rule of ``secret_keys``: ``PGPASSWORD``, ``DB_PASSWORD``, ``x-api-key`` and
``client.secret`` do, while ``password_policy`` (a describing word), ``passport`` and
``secretary`` do not. The value must then be able to hold the secret: not a placeholder, not an
already masked value, not a reference to a secret store (``vault://secret/data/db``), not a count
under a plural name (``tokens: 120``), and for names other than passwords not a short flag
(``token=true``, ``max_token=5``). A path under the name ``PWD`` alone is the shell's working
directory, not a password, and a key file or an algorithm under a key's name (``private_key:
/etc/ssl/private/server.key``, ``SSH key: ssh-ed25519``) describes a key without holding one.
"""

from __future__ import annotations

import re
import string

from taskrun_center.contract.secret_keys import (
    KeyVerdict,
    describes_key,
    is_pin,
    is_secret_reference,
    is_working_directory,
    judge_key,
    reports_outcome,
)

# Values that stand for a secret kept elsewhere, a template or a value masked before. They are
# never findings.
TEMPLATE_PREFIXES = ("${", "{{", "%(", "<", "$(")
# A value masked elsewhere may keep its last characters visible ("***1234"), as card numbers
# and keys are often shown. More than this after the stars is a secret that starts with stars.
MASKED_TAIL_CHARS = 4


def is_placeholder(value: str) -> bool:
    """Return True for a template (``${X}``) or a value masked before (``***``, ``***1234``)."""
    if value.startswith(TEMPLATE_PREFIXES):
        return True
    return value.startswith("***") and len(value.lstrip("*")) <= MASKED_TAIL_CHARS

# A name in text: at most 64 characters. The pattern's look-behind rules out a start inside a
# longer name, so the scanner tries only the start of the run of NAME_CHARACTERS before an anchor.
NAME = r"(?P<name>[A-Za-z0-9_][A-Za-z0-9_.-]{0,63})"
NAME_CHARACTERS = string.ascii_letters + string.digits + "_.-"
NAME_REACH = 64
NAME_BOUNDARY = r"(?<![A-Za-z0-9_.-])"
# Every secret name that these detectors look for contains one of these. Names made only of
# dsn, jwt, bearer or connection-string words are judged as object keys but not searched in text.
NAME_ANCHORS = ("pass", "pwd", "secret", "token", "key", "cred", "authorization", "cookie")

# A value in quotes runs to the closing quote, so "correct horse battery" is masked whole. Inside
# it a backslash escapes the next character, and an escaped quote (\") may open and close it.
# An unquoted value ends at whitespace or at a delimiter of query strings and DSNs.
QUOTED_OR_BARE_VALUE = (
    r"(?P<quote>\\?[\"'])?(?P<value>(?(quote)"
    r"(?:(?!(?P=quote))(?:[^\\\r\n\x00]|\\[^\r\n\x00])){1,4096}"
    r"|[^\s;&,'\"<>\x00]{1,4096}))"
)
# The parameter's value: as above, except that a name quoted together with its value, as in
# the shell word 'PGPASSWORD=correct horse', has a bare value that runs to that closing quote.
OUTER_QUOTE = r"(?:(?<=(?P<outer>[\"'])))?"
PARAMETER_VALUE = (
    r"(?P<quote>\\?[\"'])?(?P<value>(?(quote)"
    r"(?:(?!(?P=quote))(?:[^\\\r\n\x00]|\\[^\r\n\x00])){1,4096}"
    r"|(?(outer)(?:(?!(?P=outer))[^\r\n\x00]){1,4096}|[^\s;&,'\"<>\x00]{1,4096})))"
)
# A value after "name:" without quotes runs to the end of the line, trailing spaces excluded.
# NOTE: it stops after 64 words, which bounds the work for each "name:" on a long line. Words
# after that stay as they are.
LINE_VALUE = r"(?P<value>[^\s\"'\x00][^\s\x00]{0,4095}(?:[ \t]+[^\s\x00]{1,4096}){0,63})"
# A key, hash or token after "name ": base64, hex or URL-safe characters.
KEY_LIKE_VALUE = r"(?P<value>[A-Za-z0-9/+=._~-]{16,4096})(?![^\s,;)\]}\"'\x00])"

_PROSE_WORDS_READ = 8
_PASSWORD_TERMS = frozenset({"password", "passwd", "pwd", "passphrase", "passcode"})
_FLAG_WORDS = frozenset({"true", "false", "null", "none"})
# A PIN or numeric password after a password name and a colon: four digits or more, the shortest
# PIN that ISO 9564-1 allows, with an optional sign ("password: -1234"), which is part of the
# password. Shorter numbers ("password: 3") read as counts or step numbers. The look-ahead keeps
# this pattern off dates, times, versions and ratios (2024-01-02, 1230:45, 2024.1, 1024/2048),
# which the field rule judges as words, but allows a full stop after them.
NUMERIC_PASSWORD_VALUE = r"(?P<value>[-+]?[0-9]{4,64})(?![0-9A-Za-z_/:-]|\.[0-9])"
# Authorization schemes, which stay readable in front of a masked credential.
_SCHEME_WORDS = frozenset({"bearer", "basic", "digest", "token", "negotiate", "apikey", "ntlm"})
_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_MASKED_THEN_PUNCTUATION = re.compile(r"\*+[,;)\]}]")
_LEADING_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?(?![A-Za-z0-9_])")
# Words that make a value after "password:" read as a sentence, not as a passphrase.
_PROSE_WORDS = frozenset(
    {
        "a", "an", "the", "for", "of", "to", "in", "on", "at", "by", "with", "from", "via", "per",
        "is", "are", "was", "were", "be", "been", "has", "have", "had", "will", "must", "should",
        "can", "cannot", "not", "no", "and", "or", "if", "when", "after", "before", "this",
        "that", "it", "please",
    }
)
# First words of status messages such as "password: reset required" or "token: expired today".
_STATUS_WORDS = frozenset(
    {
        "reset", "expired", "expires", "changed", "updated", "rotated", "required", "missing",
        "invalid", "incorrect", "wrong", "empty", "unset", "set", "ok", "accepted", "rejected",
        "redacted", "hidden", "masked", "provided", "configured", "ignored", "unchanged", "too",
        "weak", "verified", "failed", "saved", "removed", "deleted", "generated", "sent",
        "stored", "found",
    }
)


def secret_name(name: str) -> KeyVerdict | None:
    """Return the key-name verdict on ``name`` when it names a secret and does not describe one."""
    verdict = judge_key(name)
    if not verdict.names_secret or verdict.describing:
        return None
    return verdict


_NAME_AT = re.compile(r"-{0,2}" + NAME)


def secret_name_at(text: str, start: int) -> bool:
    """Return True when the name at ``start`` (after up to two "-") names a secret."""
    # A start right after a name character is inside a longer name, which the patterns reject.
    if start > 0 and text[start - 1] in NAME_CHARACTERS:
        return False
    # A name right after "</" closes an XML element, and no value follows it.
    if start >= 2 and text[start - 2 : start] == "</":
        return False
    match = _NAME_AT.match(text, start)
    return match is not None and secret_name(match.group("name")) is not None


def hides_nothing(value: str) -> bool:
    """Return True for a masked value, placeholder or reference: ``******``, ``${X}``, ``op://…``."""
    if value.startswith(TEMPLATE_PREFIXES) or ("://" in value and is_secret_reference(value)):
        return True
    words = value.replace("\\", " ").replace('"', " ").replace("'", " ").split()
    # "***1234" is a value masked elsewhere, but "****** horse battery" still shows two words.
    if is_placeholder(value) and len(words) <= 1:
        return True
    return all(not word.strip("*") or word.lower() in _SCHEME_WORDS for word in words)


def parameter_accepted(match: re.Match[str]) -> bool:
    """Return True when ``name=value`` or ``"name": "value"`` contains a secret.

    The option and pair detectors use it too.
    """
    quoted = match.group("quote") is not None
    return name_value_accepted(match.group("name"), match.group("value"), quoted=quoted)


def name_value_accepted(name: str, value: str, *, quoted: bool) -> bool:
    """Return True when ``value`` under ``name`` contains a secret, by the parameter rules.

    ``quoted`` is True when the value was written as a string, in quotes or in a JSON string.
    """
    verdict = secret_name(name)
    if verdict is None or _hides_nothing_under(name, verdict, value):
        return False
    if _NUMBER.fullmatch(value) and not verdict.ends_with_term:
        # A bare number is a count (max_token=5, DB_PASS=1234). Digits in quotes under a *_pass
        # name are a PIN, as the key rule judges the JSON string "12345678".
        return quoted and verdict.term == "pass" and is_pin(value)
    # A password may be short, but a token, key or secret shorter than 8 characters is a count or
    # a flag (max_token=5, token=true).
    if verdict.term in _PASSWORD_TERMS:
        return True
    if verdict.term == "pass":
        # DB_PASS=abc1 is a password, but lint_pass=ok reports a check.
        return not reports_outcome(value)
    return len(value) >= 8 and value.lower() not in _FLAG_WORDS


def option_accepted(match: re.Match[str]) -> bool:
    """Return True when ``--name value`` contains a secret.

    ``--no-password`` is a flag, and a ``-x`` after the name is the next option.
    """
    name = match.group("name").lower()
    if name.startswith(("no-", "no_")) or match.group("value").startswith("-"):
        return False
    return parameter_accepted(match)


def field_accepted(match: re.Match[str]) -> bool:
    """Return True when ``name: value``, unquoted up to the end of the line, contains a secret."""
    name = match.group("name")
    verdict = secret_name(name)
    if verdict is None or _is_host_and_port(match, name) or _is_url_scheme(match):
        return False
    value = match.group("value")
    if (
        _hides_nothing_under(name, verdict, value)
        # A number masked before, with the JSON or list after it: '"password": ******, "id": 3'.
        or _MASKED_THEN_PUNCTUATION.match(value)
    ):
        return False
    if not verdict.ends_with_term and _starts_with_count(verdict, value):
        return False
    # Eight words are enough to tell a sentence, and a long line costs no more than that.
    words = value.split(maxsplit=_PROSE_WORDS_READ)[:_PROSE_WORDS_READ]
    if len(words) == 1:
        if _NUMBER.fullmatch(value) and not verdict.ends_with_term:
            return False
        # A date after a password's name ("password: 2024-01-02") is masked, because a value
        # right after the name is what the writer set as the password. A date about the
        # password has a describing name ("password_expires: 2024-01-02") or a status word
        # before it ("password: changed 2024-01-02"), and both stay readable.
        return word_looks_secret(value)
    return len(value) >= 8 and not reads_as_prose(words)


def _hides_nothing_under(name: str, verdict: KeyVerdict, value: str) -> bool:
    """Return True when ``value`` under ``name`` cannot be the secret that the name announces."""
    if hides_nothing(value) or is_working_directory(name, value):
        return True
    return verdict.term.endswith("key") and describes_key(value)


def _starts_with_count(verdict: KeyVerdict, value: str) -> bool:
    """Return True when ``value`` starts with a count that text or JSON goes on after.

    "tokens: 1500 (prompt 1000)" and '"prompt_tokens":1200,"total_tokens":1500' start with
    counts. Under a ``*_pass`` name, a number followed by words is a password that starts with
    a digit ("db_pass: 1 hunter2"), unless every word reports a check ("12 passed, 0 failed").
    """
    number = _LEADING_NUMBER.match(value)
    if number is None:
        return False
    if verdict.term != "pass":
        return True
    rest = value[number.end() :]
    # Punctuation right after the number, or after spaces, goes on with JSON or a list:
    # '"db_pass": 12, "rows": 3'.
    if not rest[:1].isspace() or rest.lstrip()[:1] in _LIST_PUNCTUATION:
        return True
    return reports_outcome(value)


_LIST_PUNCTUATION = (",", ";", ")", "]", "}", '"', "'")


def numeric_password_accepted(match: re.Match[str]) -> bool:
    """Return True when ``name: 1234`` gives a PIN or numeric password.

    The name must end with a singular password term (``password``, ``passwd``, ``pwd``,
    ``passphrase``, ``passcode``), as in ``password: 1234`` and ``"db_password": 1234``. A
    number under any other name is a count (``tokens: 1500``, ``password_resets: 3``), and so is
    one under a name ending with ``pass`` (``smtp_pass: 1234``).
    """
    name = match.group("name")
    verdict = secret_name(name)
    if verdict is None or not verdict.ends_with_term or verdict.term not in _PASSWORD_TERMS:
        return False
    return not _is_host_and_port(match, name)


def spaced_key_accepted(match: re.Match[str]) -> bool:
    """Return True when ``API key: VALUE`` or ``secret key = "VALUE"`` gives a key.

    The match starts at ``key`` or ``keys``. The word before it, after up to
    ``_SPACES_BEFORE_KEY`` spaces or tabs, must make a secret sequence with it (``api key``,
    ``access key``, ``private key``, ``ssh key``…), so ``the key: …`` and ``public key: …`` are
    not findings. That word may end a hyphenated or dotted name (``X-API key``). The value must
    look like a credential: a bare word as ``word_looks_secret`` decides, a quoted value 8
    characters or longer, never a number or a description of a key (``describes_key``). A
    sentence after the colon has a short first word of letters (``see``, ``stored``), so it
    stays as it is.
    """
    word = _word_before_key(match.string, match.start())
    if word is None or secret_name(word + " key") is None:
        return False
    value = match.group("value")
    if hides_nothing(value) or _NUMBER.fullmatch(value) or describes_key(value):
        return False
    if match.group("plural") is not None:
        # "API keys: 3" counts keys and "API keys: rotated" reports on them, so a plural name
        # takes only a value shaped like a key: 16+ characters with letters and digits.
        return len(value) >= 16 and _has_letter_and_digit(value)
    if match.group("quote") is not None:
        return len(value) >= 8 and value.lower() not in _FLAG_WORDS
    return word_looks_secret(value)


# The maximum number of spaces or tabs between the word and "key" ("API     key:" in a column).
_SPACES_BEFORE_KEY = 64
# The word right before the spaces. The look-behind rejects a word glued to a longer word, but
# allows one after "-", "_" or "." ("X-API key").
_WORD_BEFORE_KEY = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2,32}\Z")
_WORD_REACH = 33


def _word_before_key(text: str, start: int) -> str | None:
    """Return the word that ends before the spaces or tabs ending at ``start``, if any."""
    low = max(start - _SPACES_BEFORE_KEY - 1, 0)
    gap = text[low:start]
    end = low + len(gap.rstrip(" \t"))
    if end == low:
        # The gap is all spaces up to the limit or to the start of the text.
        return None
    word = _WORD_BEFORE_KEY.search(text, max(end - _WORD_REACH, 0), end)
    return None if word is None else word.group(0)


def key_like_accepted(match: re.Match[str]) -> bool:
    """Return True when the value of ``name value`` is a key: 16+ characters, letters and digits."""
    name = match.group("name")
    verdict = secret_name(name)
    if verdict is None:
        return False
    value = match.group("value")
    return _has_letter_and_digit(value) and not _hides_nothing_under(name, verdict, value)


def _has_letter_and_digit(value: str) -> bool:
    has_digit = any(char.isdigit() for char in value)
    return has_digit and any(char.isalpha() for char in value)


def aws_secret_key_accepted(match: re.Match[str]) -> bool:
    """Return True when a 40-character value mixes capitals, lowercase letters and digits."""
    value = match.group("value")
    return (
        any(char.isupper() for char in value)
        and any(char.islower() for char in value)
        and any(char.isdigit() for char in value)
    )


def word_looks_secret(value: str) -> bool:
    """Return True for one word that could be a secret: 16+ characters, or 6+ with a non-letter.

    "password: reset" and "token: expired" are prose, and so is any short word of letters only.
    """
    if len(value) >= 16:
        return True
    return len(value) >= 6 and any(not char.isalpha() for char in value)


def reads_as_prose(words: list[str]) -> bool:
    """Return True when words after ``password:`` read as a sentence rather than a passphrase."""
    # NOTE: a guess from word lists. "correct horse battery" counts as a passphrase, but "reset
    # for 3 users" and "expired yesterday" as messages. Chinese text after the colon is prose.
    lowered = [word.strip(".,;:!?()[]").lower() for word in words]
    if lowered[0] in _STATUS_WORDS:
        return True
    if any(word in _PROSE_WORDS for word in lowered):
        return True
    return any(not char.isascii() and char.isalpha() for word in words for char in word)


def _is_url_scheme(match: re.Match[str]) -> bool:
    # A name right before "://" is a URL scheme ("ref+awssecrets://prod/api"), not a field.
    return match.string.startswith("://", match.end("name"))


def _is_host_and_port(match: re.Match[str], name: str) -> bool:
    # "https://token.example.com:8443/x" and "app@secret-db:5432" are hosts with a port. A name
    # after "/" or "@", or a dotted name glued to its value, is taken as a host.
    start = match.start("name")
    before = match.string[start - 1 : start]
    if before in ("/", "@"):
        return True
    after_colon = match.string[match.end("name") :].lstrip(" \t\"'")[1:2]
    return "." in name and after_colon not in (" ", "\t")
