"""Users and API tokens: create, change, list, authenticate.

Functions take the caller's SQLAlchemy session and only flush, like the write service: the
caller commits (``Database.transaction()``) or rolls back. API tokens are random strings shown
once; only their SHA-256 hash is stored, next to a short visible prefix that identifies a token
in listings and logs.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from taskrun_center.errors import TaskRunError
from taskrun_center.storage.models import ApiToken, User
from taskrun_center.storage.types import utcnow
from taskrun_center.web.auth.passwords import (
    MIN_PASSWORD_LENGTH,
    generate_password,
    hash_password,
    verify_password,
)

TOKEN_PREFIX = "trc_"
# Characters of the token kept in clear: "trc_" plus 8 random characters.
VISIBLE_PREFIX_CHARS = 12
INITIAL_ADMIN = "admin"
# Both are VARCHAR(64) columns; PostgreSQL counts characters there, as len() does.
MAX_USERNAME_CHARS = 64
MAX_TOKEN_NAME_CHARS = 64
# Unicode categories a name may not contain: control, format (such as the bidi override
# U+202E, which makes "\u202enimda" display as "admin"), surrogate, private use, unassigned,
# and the line and paragraph separators.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Letters that render as blank space although their category is Lo or So.
_BLANK_LETTERS = frozenset("\u115f\u1160\u2800\u3164\uffa0")


class Role(StrEnum):
    """A user's role; each role may do everything the roles before it may."""

    VIEWER = "viewer"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)


class AccountError(TaskRunError):
    """Raised when a user or token operation is invalid; ``code`` names the rule."""

    code = "ACCOUNT_INVALID"


class UserExistsError(AccountError):
    """Raised when a new username equals an existing one, ignoring case and character width."""

    code = "USER_EXISTS"

    def __init__(self, username: str, existing: str | None = None) -> None:
        existing = existing or username
        super().__init__(f"username {username!r} is taken by the existing user {existing!r}")
        self.username = username
        self.existing = existing


class UserNotFoundError(AccountError):
    """Raised when no user has the given username."""

    code = "USER_NOT_FOUND"

    def __init__(self, username: str) -> None:
        super().__init__(f"user {username!r} not found")
        self.username = username


class TokenNotFoundError(AccountError):
    """Raised when no active token has the given prefix or name."""

    code = "TOKEN_NOT_FOUND"

    def __init__(self, reference: str) -> None:
        super().__init__(f"no active API token matches {reference!r}")
        self.reference = reference


class WeakPasswordError(AccountError):
    """Raised when a password is shorter than the minimum length."""

    code = "PASSWORD_TOO_SHORT"

    def __init__(self, length: int) -> None:
        super().__init__(
            f"password has {length} characters; at least {MIN_PASSWORD_LENGTH} are required"
        )
        self.length = length


class InvalidUsernameError(AccountError):
    """Raised when a username is empty, too long, or contains whitespace or hidden characters."""

    code = "USERNAME_INVALID"

    def __init__(self, username: str) -> None:
        super().__init__(
            f"username {username!r} is invalid: use 1-{MAX_USERNAME_CHARS} characters "
            "without spaces, control or invisible characters"
        )
        self.username = username


class InvalidTokenNameError(AccountError):
    """Raised when an API token name is empty, too long or contains hidden characters."""

    code = "TOKEN_NAME_INVALID"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"token name {name!r} is invalid: use 1-{MAX_TOKEN_NAME_CHARS} characters "
            "without control or invisible characters"
        )
        self.name = name


@dataclass(frozen=True, slots=True)
class Principal:
    """The sender of a request: a signed-in user (``via="session"``) or an API token."""

    user_id: int
    username: str
    role: Role
    via: str
    language: str | None = None

    def has_role(self, required: Role) -> bool:
        return self.role.rank >= required.rank


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A newly created API token; ``secret`` is shown once and never stored."""

    name: str
    prefix: str
    secret: str
    username: str


def has_hidden_characters(text: str) -> bool:
    """Tell whether ``text`` contains a character that is invisible or changes the display."""
    return any(
        unicodedata.category(character) in _HIDDEN_CATEGORIES or character in _BLANK_LETTERS
        for character in text
    )


def _check_username(username: str) -> str:
    cleaned = username.strip()
    if (
        not cleaned
        or len(cleaned) > MAX_USERNAME_CHARS
        or any(character.isspace() for character in cleaned)
        or has_hidden_characters(cleaned)
    ):
        raise InvalidUsernameError(username)
    return cleaned


def _check_token_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > MAX_TOKEN_NAME_CHARS or has_hidden_characters(cleaned):
        raise InvalidTokenNameError(name)
    return cleaned


def _find_username_ignoring_case(session: Session, username: str) -> str | None:
    """Return the existing username that looks the same as ``username``, else None.

    Names are compared after NFKC normalisation and case folding, so "Ann", "ann" and the
    fullwidth "ａｎｎ" count as one name. SQLite's lower() folds ASCII letters only, so the
    comparison runs in Python on every username. Console users are few, so reading them all
    is cheap.
    """
    # NOTE: the unique index on lower(username) rejects a concurrent "ann" after "Ann". It
    # misses names that differ in width ("ａｎｎ") or in letters that the database's lower()
    # does not fold (non-ASCII on SQLite), so two such creates at one moment can both succeed.
    folded = _folded(username)
    for existing in session.scalars(select(User.username)):
        if _folded(existing) == folded:
            return existing
    return None


def _folded(username: str) -> str:
    return unicodedata.normalize("NFKC", username).casefold()


def _find_username_as_indexed(session: Session, username: str) -> str | None:
    """Return the existing username equal to ``username`` under the database's lower()."""
    return session.scalar(
        select(User.username).where(func.lower(User.username) == func.lower(username)).limit(1)
    )


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPasswordError(len(password))


def get_user(session: Session, username: str) -> User:
    """Return the user with ``username``.

    Raises:
        UserNotFoundError: no such user.
    """
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise UserNotFoundError(username)
    return user


def create_user(session: Session, username: str, password: str, role: Role = Role.VIEWER) -> User:
    """Insert a user with a hashed password.

    Usernames are unique regardless of case and character width: "ADMIN" and the fullwidth
    "ａｄｍｉｎ" are rejected when "admin" exists. Sign-in still matches the username
    exactly, so accounts created before this rule keep working.

    Raises:
        InvalidUsernameError: the username is empty, too long, or contains whitespace,
            control, format (bidi) or other invisible characters.
        WeakPasswordError: the password is too short.
        UserExistsError: a user with the same username, ignoring case and width, exists,
            or another transaction stored one after the check (the database's unique index
            on lower(username) rejected the insert).
    """
    username = _check_username(username)
    _check_password(password)
    existing = _find_username_ignoring_case(session, username)
    if existing is not None:
        raise UserExistsError(username, existing)
    user = User(username=username, password_hash=hash_password(password), role=Role(role).value)
    # The savepoint keeps the caller's transaction usable after a rejected insert, which
    # PostgreSQL would otherwise abort, so the existing name can be read for the error.
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError as error:
        existing = _find_username_as_indexed(session, username)
        if existing is None:
            raise
        raise UserExistsError(username, existing) from error
    return user


def set_password(session: Session, username: str, password: str) -> None:
    """Replace a user's password; the user's existing sessions stop being valid.

    Raises:
        UserNotFoundError: no such user.
        WeakPasswordError: the password is too short.
    """
    _check_password(password)
    user = get_user(session, username)
    user.password_hash = hash_password(password)
    session.flush()


def list_users(session: Session) -> list[User]:
    """Return every user, ordered by username."""
    return list(session.scalars(select(User).order_by(User.username)))


def authenticate(session: Session, username: str, password: str) -> User | None:
    """Return the active user whose password matches, else None (in about constant time)."""
    # No stored name contains a NUL. PostgreSQL rejects one in a query, and the login would
    # report that as a database failure instead of a failed sign-in.
    user = None if "\x00" in username else session.scalar(
        select(User).where(User.username == username)
    )
    stored_hash = user.password_hash if user is not None and user.is_active else None
    if not verify_password(stored_hash, password):
        return None
    return user


def ensure_initial_admin(session: Session, password: str | None) -> str | None:
    """Create the ``admin`` user when there are no users at all.

    Returns the generated password when one was generated (the caller prints it once), else
    None: there were users already, another process created ``admin`` at the same moment,
    or ``password`` was configured.
    """
    if session.scalar(select(func.count()).select_from(User)):
        return None
    generated = None if password else generate_password()
    try:
        create_user(session, INITIAL_ADMIN, password or generated or "", Role.ADMIN)
    except UserExistsError:
        # Another process that started at the same moment created the user first.
        return None
    return generated


def hash_token(secret: str) -> str:
    """Return the SHA-256 hex digest stored for a token."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(session: Session, username: str, name: str) -> IssuedToken:
    """Issue an API token acting as ``username``; the secret is returned once.

    Raises:
        InvalidTokenNameError: the name is empty, longer than 64 characters, or contains
            control or invisible characters.
        UserNotFoundError: no such user.
    """
    name = _check_token_name(name)
    user = get_user(session, username)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    prefix = secret[:VISIBLE_PREFIX_CHARS]
    session.add(
        ApiToken(name=name, token_prefix=prefix, token_hash=hash_token(secret), user_id=user.id)
    )
    session.flush()
    return IssuedToken(name=name, prefix=prefix, secret=secret, username=user.username)


def revoke_token(session: Session, reference: str) -> int:
    """Revoke the active tokens whose prefix or name equals ``reference``; return the count.

    Raises:
        TokenNotFoundError: no active token matches.
    """
    statement = (
        update(ApiToken)
        .where(
            (ApiToken.token_prefix == reference) | (ApiToken.name == reference),
            ApiToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    result: CursorResult[Any] = session.execute(statement)  # type: ignore[assignment]
    revoked = result.rowcount
    if not revoked:
        raise TokenNotFoundError(reference)
    return int(revoked)


def list_tokens(session: Session) -> list[tuple[ApiToken, str]]:
    """Return every token with the username it acts as, newest first."""
    rows = session.execute(
        select(ApiToken, User.username)
        .join(User, User.id == ApiToken.user_id)
        .order_by(ApiToken.created_at.desc())
    )
    return [(token, username) for token, username in rows.tuples()]


def principal_for_token(
    session: Session, secret: str, now: datetime | None = None
) -> Principal | None:
    """Return who a bearer token acts as, or None when it is unknown, revoked or expired."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_token(secret), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    token, user = row
    moment = now or utcnow()
    if not user.is_active or (token.expires_at is not None and token.expires_at <= moment):
        return None
    return Principal(user.id, user.username, Role(user.role), "token", user.language)
