"""Pick the language of a response: the ``lang`` cookie, then ``Accept-Language``, then settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from taskrun_center.i18n import Language, normalize_language, resolve_language

LANGUAGE_COOKIE = "lang"


def request_language(request: Request) -> Language:
    """Return the language for this request.

    An explicit choice (the console's switch stores it in the ``lang`` cookie) beats the
    browser's ``Accept-Language``; without either, the configured default applies (zh-CN).
    """
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    if cookie:
        return normalize_language(cookie)
    default = getattr(request.app.state, "default_language", None)
    return resolve_language(request.headers.get("accept-language"), default)


async def _language_dependency(request: Request) -> Language:
    return request_language(request)


RequestLanguage = Annotated[str, Depends(_language_dependency)]
