"""Signed session cookies and the CSRF tokens bound to them.

The cookie holds ``{"sid", "uid", "pwv"}`` signed with the server's secret key (itsdangerous):
``sid`` is a random session id, also given to visitors who have not signed in so that the login
form is CSRF-protected too; ``uid`` is the signed-in user; ``pwv`` is a fingerprint of the user's
password hash, so changing a password ends that user's sessions. The CSRF token is an HMAC of the
``sid``, so it is valid only with the cookie it was issued for.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "taskrun_session"
SESSION_MAX_AGE_SECONDS = 12 * 60 * 60
CSRF_HEADER = "X-CSRFToken"
CSRF_FORM_FIELD = "csrf_token"


@dataclass(frozen=True, slots=True)
class SessionData:
    """The decoded content of a session cookie."""

    sid: str
    uid: int | None = None
    pwv: str | None = None


def password_fingerprint(password_hash: str) -> str:
    """Return a short digest of a password hash; it changes whenever the password does."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


class SessionCodec:
    """Sign and verify session cookies and CSRF tokens with one secret key."""

    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="taskrun-session")
        self._csrf_key = hashlib.sha256(f"csrf:{secret_key}".encode()).digest()

    def new_session(self, uid: int | None = None, pwv: str | None = None) -> SessionData:
        """Create a session with a fresh random id (a new id at every login stops fixation)."""
        return SessionData(sid=secrets.token_urlsafe(24), uid=uid, pwv=pwv)

    def encode(self, session: SessionData) -> str:
        """Sign a session for the cookie."""
        return self._serializer.dumps({"sid": session.sid, "uid": session.uid, "pwv": session.pwv})

    def decode(self, cookie: str | None) -> SessionData | None:
        """Return the session in a cookie, or None when it is missing, forged or expired."""
        if not cookie:
            return None
        try:
            payload = self._serializer.loads(cookie, max_age=SESSION_MAX_AGE_SECONDS)
        except BadSignature:
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("sid"), str):
            return None
        uid = payload.get("uid")
        pwv = payload.get("pwv")
        return SessionData(
            sid=payload["sid"],
            uid=uid if isinstance(uid, int) else None,
            pwv=pwv if isinstance(pwv, str) else None,
        )

    def csrf_token(self, session: SessionData) -> str:
        """Return the CSRF token of a session."""
        return hmac.new(self._csrf_key, session.sid.encode(), hashlib.sha256).hexdigest()

    def csrf_matches(self, session: SessionData, token: str) -> bool:
        """Compare a submitted CSRF token with the session's in constant time."""
        return hmac.compare_digest(self.csrf_token(session), token)
