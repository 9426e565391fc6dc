"""Pick the language of a response: the ``lang`` cookie, then ``Accept-Language``, then settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from taskrun_center.i18n import Language, match_language, resolve_language

LANGUAGE_COOKIE = "lang"


def request_language(request: Request) -> Language:
    """Return the language for this request.

    An explicit choice (the console's switch stores it in the ``lang`` cookie) beats the
    browser's ``Accept-Language``. A cookie naming no supported language is ignored. Without
    either, the configured default applies (zh-CN).
    """
    chosen = match_language(request.cookies.get(LANGUAGE_COOKIE) or "")
    if chosen is not None:
        return chosen
    default = getattr(request.app.state, "default_language", None)
    return resolve_language(request.headers.get("accept-language"), default)


async def _language_dependency(request: Request) -> Language:
    return request_language(request)


RequestLanguage = Annotated[str, Depends(_language_dependency)]
