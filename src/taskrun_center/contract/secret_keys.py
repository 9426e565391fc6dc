"""The key-name rule: which object keys (and metric keys) name a secret.

A key is split into lowercase words: camelCase, PascalCase and acronyms (``APIKey``), digits,
``_``, ``-``, ``.``, spaces and other separators all start a new word, and a plural secret word
counts as its singular (``tokens`` → ``token``). The camelCase split keeps ``passWord``,
``PassPhrase``, ``passCode`` and ``passWd`` one word, because each is a single word in other
spellings (``password``, ``PASSPHRASE``). The key names a secret when its words contain a
secret word (``password``, ``token``, ``cookie``…) or a secret word sequence (``api key``,
``private key``, ``connection string``…); Chinese keys name a secret when they contain
密码, 口令, 密钥, 令牌, 凭证 or 凭据. A word that ends with one of ``JOINED_TERMS`` after other
letters counts as two words, so ``PGPASSWORD`` reads as ``pg password`` and ``mytokens`` as
``my token``. Other substrings never count: ``passport``, ``secretary`` and ``tokenizer`` are
not secret words, and ``key`` alone is not one either. ``pass`` names a secret only as the last
word after another word (``DB_PASS``, ``smtpPass``), unless that word makes it a stage or a test
result (``first_pass``, ``unit_pass``). ``pass`` alone is a test count (``pass: 3``), and glued
words such as ``bypass`` never count. A key is judged by its folded form (NFKC,
without format characters such as the zero-width space), so ``password`` with a zero-width space
inside and the full-width ``ｐａｓｓｗｏｒｄ`` name a secret as ``password`` does.

A key that names a secret may still be fine, depending on its value:

1. A *describing* key, whose last word is one of ``DESCRIBING_WORDS`` (``token_type``,
   ``secret_name``, ``access_key_id``, ``tokens_total``, ``token_count_limit``), describes
   a secret rather than containing one. Any value is accepted under the key rule.
2. Any key accepts a value that cannot carry a secret: null, a boolean, an empty string, list or
   object, or a string made only of ``*`` (a masked value).
3. A number is accepted unless the key ends with a singular secret term (``password``,
   ``db_password``, ``api_key``): ``password_resets: 3`` and ``tokens: 1500`` are counts, but
   ``password: 123456`` is a numeric password. A key ending with ``pass`` accepts a number
   because ``smoke_pass: 12`` is as likely a count as ``db_pass: 1234`` is a PIN.
4. The key ``pwd`` alone (any case) accepts a path (``PWD: /home/app``), because it is also the
   shell's variable for the working directory. ``OLDPWD`` never names a secret.
5. A key ending with ``pass`` accepts a string that reports a check: outcome words and counts
   (``"e2e_pass": "ok"``, ``"smoke_pass": "12/12 passed"``). A string of four digits or more
   alone is a PIN there (``"db_pass": "12345678"``), because a program that counts writes a
   number, not a string.
6. Any key accepts a reference to a secret kept in a secret store (``vault://secret/data/db``,
   ``op://prod/db/password``), because the reference does not contain the secret. A key whose
   secret term ends with ``key`` (``private_key``, ``sshKey``) accepts a key file or an
   algorithm (``describes_key``): ``/etc/ssl/private/server.key``, ``ssh-ed25519``.
7. Every other value (a non-empty string, list or object) under a secret key is rejected.

Strings are also checked by the value rules wherever they appear, whatever their key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from taskrun_center.contract.text_fold import fold_text

SECRET_WORDS = frozenset(
    {
        "password", "passwd", "pwd", "passphrase", "passcode", "secret", "token", "credential",
        "creds", "authorization", "cookie", "dsn", "apikey", "accesskey", "secretkey",
        "privatekey", "privkey", "authtoken", "accesstoken", "refreshtoken", "clientsecret",
        "connstr", "connectionstring", "jwt", "bearer",
    }
)
SECRET_SEQUENCES: tuple[tuple[str, ...], ...] = (
    ("api", "key"),
    ("api", "token"),
    ("access", "key"),
    ("access", "token"),
    ("auth", "token"),
    ("refresh", "token"),
    ("session", "token"),
    ("client", "secret"),
    ("secret", "key"),
    ("set", "cookie"),
    ("private", "key"),
    ("signing", "key"),
    ("encryption", "key"),
    ("master", "key"),
    ("session", "key"),
    ("ssh", "key"),
    ("connection", "string"),
    ("conn", "string"),
    ("conn", "str"),
)
SECRET_WORDS_ZH = ("密码", "口令", "密钥", "令牌", "凭证", "凭据")

DESCRIBING_WORDS = frozenset(
    {
        "type", "kind", "name", "names", "ref", "id", "ids", "source", "provider", "policy",
        "method", "scheme", "format", "status", "state", "mode", "path", "file", "url", "uri",
        "field", "header", "version", "expires", "expiry", "expiration", "at", "ttl", "age",
        "count", "counts", "total", "totals", "num", "number", "limit", "limits", "max", "min",
        "size", "length", "len", "used", "usage", "remaining", "rate", "ratio", "percent", "pct",
        "enabled", "required", "valid", "present", "rotated", "endpoint", "prompt", "stdin",
        "hint", "hints",
    }
)
# Secret words that still name a secret with other letters glued before them (PGPASSWORD,
# mysecret). Longest first, so that "clientsecret" wins over "secret". "pwd" is left out because
# the shell variable OLDPWD contains a directory, and "bearer" because of "flagbearer".
JOINED_TERMS: tuple[str, ...] = tuple(
    sorted(
        (
            "password", "passwd", "passphrase", "passcode", "secret", "token", "credential",
            "apikey", "accesskey", "secretkey", "privatekey", "privkey", "authtoken",
            "accesstoken", "refreshtoken", "clientsecret", "authorization", "cookie",
        ),
        key=len,
        reverse=True,
    )
)

# Words before a last word "pass" that make the key a stage or a test result, not a credential.
# NOTE: a guess from word lists. "DB_PASS" names a secret, "second_pass" and "lint_pass" do not,
# and a word missing here (say "smoke_pass") makes a string under that key a finding unless it
# reports an outcome or a count (``reports_outcome``).
NOT_CREDENTIAL_BEFORE_PASS = frozenset(
    {
        "first", "second", "third", "last", "final", "next", "previous", "prev", "one", "two",
        "single", "multi", "dry", "full", "quick", "test", "tests", "unit", "build", "lint",
        "check", "checks", "all", "by", "boarding", "day",
    }
)
#: Values under a name ending with "pass" (DB_PASS) that report a test or a check, not a
#: password: outcome words and flags.
PASS_OUTCOME_WORDS = frozenset(
    {"ok", "yes", "no", "y", "n", "on", "off", "pass", "passed", "fail", "failed", "skip",
     "skipped", "done", "success", "error", "warn", "warning", "partial", "green", "red",
     "true", "false", "null", "none", "n/a", "-", "\u2713", "\u2714", "\u2717", "\u2718",
     # Words that join a count or an outcome: "12 of 12 tests passed", "all green".
     "all", "of", "tests", "checks", "cases"}
)
# A count, ratio or share: "12", "12/12", "98.5%".
_COUNT = re.compile(r"[+-]?[0-9]+(?:[./][0-9]+)?%?")
# Punctuation around a word of a check's result: "12 passed, 0 failed (2 skipped)".
_WORD_PUNCTUATION = ",;:.()[]"
# A value under the key "pwd" that starts like a directory: /, ~, ./, ../ or a Windows drive.
_DIRECTORY_START = re.compile(r"[/~]|\.\.?[/\\]|[A-Za-z]:[/\\]")

# Algorithms with their size or mode, which describe a key: "ssh-ed25519", "aes256gcm".
_KEY_ALGORITHM = re.compile(
    r"(?i)(?:ssh-|ecdsa-sha2-)?"
    r"(?:rsa|dsa|dss|ecdsa|ed25519|ed448|x25519|aes|3des|des|chacha20|sha1|sha256|sha384"
    r"|sha512|nistp256|nistp384|nistp521)"
    r"(?:[-_]?[0-9]{2,5})?(?:[-_]?(?:gcm|cbc|ctr|ecb|poly1305|pss|oaep|pkcs1))?"
)
# Key files: a name ending with a key file extension, or a path (see describes_key).
_KEY_FILE = re.compile(
    r"(?i)[^\s\x00]{0,4096}\.(?:pem|key|crt|cer|der|p8|pk8|p12|pfx|jks|keystore|pub|ppk|asc|gpg)"
    r"|(?=[^\s\x00]{0,4096}[/\\])(?=[^\s\x00]{0,4096}[.~_-])[^\s\x00]{1,4096}"
)

_VOCABULARY = SECRET_WORDS | {word for sequence in SECRET_SEQUENCES for word in sequence}
_CAMEL_BOUNDARY = re.compile(
    r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])"
)
_SEPARATORS = re.compile(r"[^A-Za-z0-9]+")
# Words that make one secret word with a "pass" before them that camelCase split off.
_PASS_ENDINGS = frozenset({"word", "words", "wd", "phrase", "phrases", "code", "codes"})
# A PIN: four digits or more, the shortest that ISO 9564-1 allows.
_PIN = re.compile(r"[0-9]{4,64}")
# A reference that a client resolves to a secret kept in a store. "op://" is the 1Password CLI's
# secret reference, "pass://" the Proton Pass CLI's and "ref+<store>://" the form of the vals
# tool. A reference with user information ("vault://app:pw@host") is a URL and not accepted.
_SECRET_REFERENCE = re.compile(r"(?i)(?:vault|op|pass|ref\+[a-z0-9]{1,32})://[^\s@:\x00]{1,1024}")


@dataclass(frozen=True, slots=True)
class KeyVerdict:
    """Verdict of the key-name rule on one key, before its value is looked at."""

    names_secret: bool
    describing: bool = False
    ends_with_term: bool = False
    # The secret word or sequence found, words joined by a space ("password", "api key").
    term: str = ""


_PLAIN = KeyVerdict(names_secret=False)


def split_key_words(key: str) -> tuple[str, ...]:
    """Split a key into lowercase words, with plural secret words made singular."""
    words = []
    for part in _split_parts(key):
        word = part.lower()
        if word in _VOCABULARY:
            words.append(word)
        elif word.endswith("s") and word[:-1] in _VOCABULARY:
            words.append(word[:-1])
        else:
            words.extend(_split_joined(word))
    return tuple(words)


def _split_parts(key: str) -> list[str]:
    """Split ``key`` at separators and camelCase boundaries, keeping ``passWord`` one part."""
    parts: list[str] = []
    for segment in _SEPARATORS.split(key):
        camel_parts = [part for part in _CAMEL_BOUNDARY.split(segment) if part]
        for index, part in enumerate(camel_parts):
            after_pass = index > 0 and camel_parts[index - 1].lower() == "pass"
            if after_pass and part.lower() in _PASS_ENDINGS:
                parts[-1] += part
            else:
                parts.append(part)
    return parts


def _split_joined(word: str) -> tuple[str, ...]:
    """Split ``pgpassword`` into ``("pg", "password")``; return other words unchanged."""
    for term in JOINED_TERMS:
        for ending in (term, term + "s"):
            if word.endswith(ending) and len(word) > len(ending):
                return word[: -len(ending)], term
    return (word,)


@lru_cache(maxsize=4096)
def judge_key(key: str) -> KeyVerdict:
    """Judge a key by its words alone; see the module docstring for the rule."""
    key = fold_text(key)
    found_zh = [term for term in SECRET_WORDS_ZH if term in key]
    if found_zh:
        return KeyVerdict(
            names_secret=True, ends_with_term=key.endswith(SECRET_WORDS_ZH), term=found_zh[0]
        )

    words = split_key_words(key)
    span = _find_secret_term(words)
    if span is None:
        if _ends_with_credential_pass(words):
            # ends_with_term stays False, so a number under the key is accepted as a count.
            return KeyVerdict(names_secret=True, term="pass")
        return _PLAIN

    start, end = span
    describing = end < len(words) and words[-1] in DESCRIBING_WORDS
    ends_with_term = end == len(words) and not _is_plural(key, words)
    return KeyVerdict(
        names_secret=True,
        describing=describing,
        ends_with_term=ends_with_term,
        term=" ".join(words[start:end]),
    )


_NAMES_SECRET: dict[str, bool] = {}
_NAMES_SECRET_MAX = 4096


def names_secret(key: str) -> bool:
    """Return True when ``key`` names a secret; a dictionary lookup after the first call."""
    known = _NAMES_SECRET.get(key)
    if known is None:
        if len(_NAMES_SECRET) >= _NAMES_SECRET_MAX:
            _NAMES_SECRET.clear()
        known = _NAMES_SECRET[key] = judge_key(key).names_secret
    return known


def key_rejects_value(key: str, value: Any) -> bool:
    """Return True when ``value`` under ``key`` breaks the key-name rule."""
    verdict = judge_key(key)
    if not verdict.names_secret or verdict.describing:
        return False
    if value is None or isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return verdict.ends_with_term
    if isinstance(value, str):
        return _string_rejected(key, verdict, value)
    if isinstance(value, dict | list):
        return len(value) > 0
    return True


def _string_rejected(key: str, verdict: KeyVerdict, value: str) -> bool:
    if value.strip("*") == "" or is_working_directory(key, value) or is_secret_reference(value):
        return False
    if verdict.term.endswith("key") and describes_key(value):
        return False
    if verdict.term != "pass":
        return True
    # "DB_PASS": "abc1" is a password, but "lint_pass": "ok" reports a check.
    return is_pin(value) or not reports_outcome(value)


def reports_outcome(value: str) -> bool:
    """Return True when ``value`` under a ``*_pass`` name reads as a check's result or count.

    Every word, without the punctuation around it, must be a count or an outcome word:
    "12/12 passed", "12 passed, 0 failed" and "all green" report a check, while
    "1 correcthorse" may be a password that starts with a digit.
    """
    words = [word.strip(_WORD_PUNCTUATION) for word in value.lower().split()]
    words = [word for word in words if word]
    return bool(words) and all(
        word in PASS_OUTCOME_WORDS or _COUNT.fullmatch(word) is not None for word in words
    )


def is_pin(value: str) -> bool:
    """Return True when ``value`` is four to 64 ASCII digits and nothing else."""
    return _PIN.fullmatch(value) is not None


def is_secret_reference(value: str) -> bool:
    """Return True when ``value`` is a reference to a secret in a store (``vault://…``)."""
    return _SECRET_REFERENCE.fullmatch(value) is not None


def is_working_directory(name: str, value: str) -> bool:
    """Return True when ``name`` is ``pwd`` alone (any case) and ``value`` starts like a path."""
    return name.lower() == "pwd" and _DIRECTORY_START.match(value) is not None


def describes_key(value: str) -> bool:
    """Return True when ``value`` names a key without holding one: an algorithm or a key file.

    Algorithms, with their size or mode: ``ed25519``, ``ssh-ed25519``, ``AES-256-GCM``,
    ``aes256gcm``. Key files: a name or path ending with a key file extension
    (``server.pem``, ``/etc/ssl/private/server.key``), or a path that no base64 key can be
    (``~/.ssh/id_ed25519``). Standard base64 contains ``/`` but none of ``.``, ``~``, ``_`` and
    ``-``, and the URL-safe alphabet contains ``_`` and ``-`` but no ``/``, so a value with
    ``/`` or ``\\`` and one of those four characters is a path. A base64 key that starts with
    ``/`` is still masked.
    """
    return _KEY_ALGORITHM.fullmatch(value) is not None or _KEY_FILE.fullmatch(value) is not None


def _ends_with_credential_pass(words: tuple[str, ...]) -> bool:
    return (
        len(words) >= 2
        and words[-1] == "pass"
        and words[-2] not in NOT_CREDENTIAL_BEFORE_PASS
        and not words[-2].isdigit()
    )


def _find_secret_term(words: tuple[str, ...]) -> tuple[int, int] | None:
    # The last match decides, because a describing word or the end of the key follows it.
    found = None
    index = 0
    while index < len(words):
        span = _match_at(words, index)
        if span is not None:
            found = span
            index = span[1]
        else:
            index += 1
    return found


def _match_at(words: tuple[str, ...], index: int) -> tuple[int, int] | None:
    for sequence in SECRET_SEQUENCES:
        end = index + len(sequence)
        if words[index:end] == sequence:
            return index, end
    if words[index] in SECRET_WORDS:
        return index, index + 1
    return None


def _is_plural(key: str, words: tuple[str, ...]) -> bool:
    # split_key_words made a plural secret word singular; the raw key still ends with the "s".
    return bool(words) and key.lower().rstrip("_- ").endswith(words[-1] + "s")
