"""Password hashing with Argon2id (argon2-cffi defaults, RFC 9106 low-memory profile)."""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    # Verified against when the username is unknown, so that a wrong username costs as much time
    # as a wrong password and response times do not reveal which usernames exist. Made on first
    # use, because hashing at import would slow every CLI command down.
    return _hasher.hash(secrets.token_urlsafe(16))

MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    """Hash a password for storage in ``users.password_hash``."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password against a stored hash; an unknown user (None) still costs one verify."""
    try:
        matches = _hasher.verify(password_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return matches and password_hash is not None


def generate_password() -> str:
    """Return a random password of 20 URL-safe characters (about 120 bits)."""
    return secrets.token_urlsafe(15)
