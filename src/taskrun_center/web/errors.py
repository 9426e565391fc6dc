"""The one place that turns exceptions into the API's failure body.

Every failure is ``{"success": false, "message", "message_code"}``; an invalid parameter adds
``parameter``. Messages follow the request's language. An unexpected exception becomes a 500
whose message names nothing internal, and a database failure becomes a 503 with Retry-After.
The traceback goes only to the log.
"""

from __future__ import annotations

import secrets
import traceback
from collections.abc import Callable, Mapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taskrun_center.errors import (
    InvalidQueryError,
    InvalidTransitionError,
    RunNotFoundError,
    StorageError,
    TaskRunError,
    UnknownTaskTypeError,
)
from taskrun_center.i18n import Text
from taskrun_center.lifecycle.query_reasons import INVALID_VALUE, validation_reason
from taskrun_center.quoting import quote_identifier
from taskrun_center.storage.errors import (
    DatabaseFileInvalidError,
    DatabaseUnreachableError,
    SchemaMissingError,
    to_storage_error,
)
from taskrun_center.web.language import request_language

log = structlog.get_logger(__name__)


class WebError(TaskRunError):
    """An error raised by the web layer itself, carrying its HTTP status and message."""

    status_code = 400
    text = Text("请求无效。", "The request is invalid.")
    #: Wording for a console page when the API's advice does not apply to a browser user.
    console_text: Text | None = None

    def __init__(self, text: Text | None = None, **params: object) -> None:
        super().__init__(self.code)
        if text is not None:
            self.text = text
        self.params = params

    def render(self, language: str, *, console: bool = False) -> str:
        """Format the message in ``language``, worded for a console page when ``console``."""
        text = self.console_text if console and self.console_text is not None else self.text
        return text.render(language, **self.params)


class AuthenticationRequired(WebError):
    """Raised when a route needs a signed-in user or an API token and the request has neither."""

    status_code = 401
    code = "AUTHENTICATION_REQUIRED"
    text = Text("请先登录，或在 Authorization 头中提供 API 令牌。",
                "Sign in first, or send an API token in the Authorization header.")


class PermissionRequired(WebError):
    """Raised when the signed-in user's role is below the role a route needs."""

    status_code = 403
    code = "PERMISSION_REQUIRED"
    text = Text("当前用户（角色 {role}）无权执行此操作，需要 {required} 角色。",
                "Your role {role} does not allow this action; it needs the {required} role.")


class CsrfMissing(WebError):
    """Raised when a state-changing request from a session carries no CSRF token."""

    status_code = 403
    code = "CSRF_MISSING"
    text = Text("缺少 CSRF 令牌：请在 X-CSRFToken 头中发送 /api/v1/auth/csrf-token 返回的值。",
                "The CSRF token is missing: send the value of /api/v1/auth/csrf-token "
                "in the X-CSRFToken header.")
    console_text = Text("页面缺少安全令牌，请刷新页面后重试。",
                        "This page's security token is missing; reload the page and try again.")


class CsrfInvalid(WebError):
    """Raised when the CSRF token does not belong to the request's session."""

    status_code = 403
    code = "CSRF_INVALID"
    text = Text("CSRF 令牌无效或已过期：请刷新页面或重新获取令牌。",
                "The CSRF token is invalid or expired: reload the page or fetch a new token.")
    console_text = Text("页面的安全令牌已过期（例如已在其他标签页重新登录），请刷新页面后重试。",
                        "This page's security token has expired (for example after signing in "
                        "again in another tab); reload the page and try again.")


class LoginFailed(WebError):
    """Raised when a username and password do not match an active user."""

    status_code = 401
    code = "LOGIN_FAILED"
    text = Text("用户名或密码错误。", "Wrong username or password.")


class LoginThrottled(WebError):
    """Raised when too many failed logins came for a username, an address, or both together."""

    status_code = 429
    code = "LOGIN_THROTTLED"
    text = Text("登录失败次数过多，请在 {seconds} 秒后重试。",
                "Too many failed sign-ins; try again in {seconds} seconds.")


class RunNotCancelable(WebError):
    """Raised when a cancel request reaches a run that has already finished."""

    status_code = 409
    code = "RUN_NOT_CANCELABLE"
    text = Text("运行 {run_id} 已结束（状态 {status}），无法取消。",
                "Run {run_id} has already finished (status {status}) and cannot be cancelled.")

    def __init__(self, *, run_id: str, status: str) -> None:
        super().__init__(run_id=quote_identifier(run_id), status=status)


class TaskNotRunnable(WebError):
    """Raised when run-now names a task type that has no runnable task in this process."""

    status_code = 404
    code = "RESOURCE_NOT_FOUND"
    text = Text("任务 {task_key} 未在本服务中注册，无法立即运行。",
                "Task {task_key} is not registered in this server and cannot be run now.")

    def __init__(self, *, task_key: str) -> None:
        super().__init__(task_key=quote_identifier(task_key))


NOT_FOUND = Text("运行 {run_id} 不存在。", "Run {run_id} does not exist.")
UNKNOWN_TASK = Text("任务类型 {task_key} 未注册。", "Task type {task_key} is not registered.")
INVALID_PARAMETER = Text("参数 {parameter} 无效：{reason}",
                         "Invalid parameter {parameter}: {reason}")
INVALID_TRANSITION = Text("{object_id} 无法从状态 {current} 变为 {requested}。",
                          "{object_id} cannot change from status {current} to {requested}.")
PAGE_NOT_FOUND = Text("页面或接口不存在。", "No page or endpoint at this address.")
METHOD_NOT_ALLOWED = Text("此地址不支持该请求方法。", "This address does not accept that method.")
STORAGE_UNAVAILABLE = Text("数据库暂时不可用（例如被其他写入者锁定），请稍后重试。",
                           "The database is unavailable for now (for example locked by another "
                           "writer); try again shortly.")
SCHEMA_MISSING = Text("数据库的表结构尚未创建或不是最新版本；"
                      "请管理员运行 taskrun db upgrade 后重试。",
                      "The database schema was never created or is out of date; an "
                      "administrator should run taskrun db upgrade, then try again.")
FILE_INVALID = Text("服务器的 SQLite 数据库文件不是数据库或已损坏，重试无济于事；"
                    "请管理员检查数据库设置或从备份恢复该文件。",
                    "The server's SQLite database file is not a database or is damaged, so a "
                    "retry will not help; an administrator should check the database setting "
                    "or restore the file from a backup.")
INTERNAL_ERROR = Text("服务器内部错误，已记录日志；请稍后重试或联系管理员。",
                      "Internal server error; it has been logged. Try again later or "
                      "contact the administrator.")
INTERNAL_ERROR_LOGGED = Text("服务器内部错误，已记入日志，编号 {error_id}；"
                             "请稍后重试，或把这个编号告诉管理员。",
                             "Internal server error, logged as {error_id}. Try again later, or "
                             "give the administrator this reference.")


JSON_CONTENT_TYPE_REQUIRED = Text(
    "请求体的 Content-Type 必须是 application/json（收到的是 {content_type}）。",
    "The request body's Content-Type must be application/json (received {content_type}).",
)

def failure_body(message: str, code: str, **extra: Any) -> dict[str, Any]:
    """Build the failure body shared by every error response."""
    return {"success": False, "message": message, "message_code": code, **extra}


def _message_of(error: TaskRunError, language: str) -> str:
    if isinstance(error, RunNotFoundError):
        return NOT_FOUND.render(language, run_id=quote_identifier(error.run_id))
    if isinstance(error, UnknownTaskTypeError):
        return UNKNOWN_TASK.render(language, task_key=quote_identifier(error.task_key))
    if isinstance(error, InvalidQueryError):
        return INVALID_PARAMETER.render(language, parameter=error.parameter,
                                        reason=error.render_reason(language))
    if isinstance(error, InvalidTransitionError):
        return INVALID_TRANSITION.render(language, object_id=error.object_id,
                                         current=error.current, requested=error.requested)
    if isinstance(error, StorageError):
        return _storage_message(error, language)
    return INTERNAL_ERROR.render(language)


def _storage_message(error: StorageError, language: str) -> str:
    # An unreachable database gets its cause and the fix, which a retry alone would not bring.
    # The database's address stays in the log: any client, signed in or not, reads this body.
    if isinstance(error, DatabaseUnreachableError):
        return error.render_problem(language, show_address=False)
    if isinstance(error, DatabaseFileInvalidError):
        return FILE_INVALID.render(language)
    advice = SCHEMA_MISSING if isinstance(error, SchemaMissingError) else STORAGE_UNAVAILABLE
    return advice.render(language)


# HTTP status of each of the package's errors that a request can cause; any other is a 500.
_STATUS_BY_ERROR: tuple[tuple[type[TaskRunError], int], ...] = (
    (RunNotFoundError, 404),
    (UnknownTaskTypeError, 404),
    (InvalidQueryError, 400),
    (InvalidTransitionError, 409),
    (StorageError, 503),
)


# Every ``message_code`` a failure body can carry, with its HTTP status. A test checks it against
# the error classes and against the table in docs/api.md, so the docs cannot miss a code.
# Other HTTP errors raised by the framework itself get ``HTTP_<status>``.
API_MESSAGE_CODES: dict[str, int] = {
    "INVALID_PARAMETER": 400,
    "AUTHENTICATION_REQUIRED": 401,
    "LOGIN_FAILED": 401,
    "PERMISSION_REQUIRED": 403,
    "CSRF_MISSING": 403,
    "CSRF_INVALID": 403,
    "RESOURCE_NOT_FOUND": 404,
    "TASK_TYPE_UNKNOWN": 404,
    "METHOD_NOT_ALLOWED": 405,
    "INVALID_TRANSITION": 409,
    "RUN_NOT_CANCELABLE": 409,
    "LOGIN_THROTTLED": 429,
    "INTERNAL_ERROR": 500,
    "STORAGE_ERROR": 503,
    "STORAGE_LOCKED": 503,
    "STORAGE_CONNECTION_LOST": 503,
    "STORAGE_SCHEMA_MISSING": 503,
    "STORAGE_UNREACHABLE": 503,
    "STORAGE_FILE_INVALID": 503,
    "STORAGE_FOREIGN_TABLES": 503,
    "STORAGE_USERNAME_COLLISION": 503,
    "RUN_END_NOT_RECORDED": 503,
}


def describe_error(
    error: TaskRunError, language: str, *, console: bool = False
) -> tuple[int, str, dict[str, Any]]:
    """Return the HTTP status, the message and extra body fields for one of our errors.

    ``console`` picks the wording for a console page where it differs from the API's.
    """
    if isinstance(error, WebError):
        return error.status_code, error.render(language, console=console), {}
    status = next((code for kind, code in _STATUS_BY_ERROR if isinstance(error, kind)), 500)
    extra = {"parameter": error.parameter} if isinstance(error, InvalidQueryError) else {}
    return status, _message_of(error, language), extra


def validation_parameter(error: RequestValidationError, language: str) -> tuple[str, str]:
    """Return the name of the first invalid parameter and the reason, in ``language``."""
    for detail in error.errors():
        error_type = str(detail.get("type"))
        location = [str(part) for part in detail.get("loc", ())]
        # The location starts with where the value came from: query, path, body, header.
        name = ".".join(location[1:]) or (location[0] if location else "request")
        if error_type == "json_invalid":
            # The rest of a JSON error's location is the character position, not a field.
            name = "body"
        reason = validation_reason(error_type, _plain_context(detail.get("ctx")))
        return name, reason.render(language)
    return "request", INVALID_VALUE.render(language)


def _plain_context(context: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """Rewrite pydantic's English list of allowed values as a comma-separated list.

    Pydantic writes the allowed values of a ``Literal`` as ``'a', 'b' or 'c'``, which would put
    an English "or" into a Chinese message.
    """
    if not context or "expected" not in context:
        return context
    expected = str(context["expected"])
    head, separator, last = expected.rpartition(" or ")
    values = [*head.split(", "), last] if separator else [expected]
    return {**context, "expected": ", ".join(value.strip("'") for value in values)}


def format_traceback(error: BaseException) -> str:
    """Format the traceback as plain text, without local variables.

    Passing ``exc_info`` would let a console renderer print each frame's locals, which can hold
    request data such as passwords, and rendering them costs seconds.
    """
    return "".join(traceback.format_exception(error))


ErrorPageRenderer = Callable[[Request, int, str, str], Response]
API_PREFIXES = ("/api/", "/metrics", "/healthz")


def _respond(
    request: Request,
    status: int,
    message: str,
    code: str,
    *,
    extra: dict[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Send the JSON failure body to API clients and an HTML error page to the console."""
    render_page = _error_page_renderer(request)
    if render_page is not None:
        return render_page(request, status, message, code)
    body = failure_body(message, code, **(extra or {}))
    return JSONResponse(body, status_code=status, headers=headers)


def _error_page_renderer(request: Request) -> ErrorPageRenderer | None:
    """Return the console's error page renderer for a console path, else None (JSON)."""
    if request.url.path.startswith(API_PREFIXES):
        return None
    render_page: ErrorPageRenderer | None = getattr(request.app.state, "render_error_page", None)
    return render_page


async def _handle_taskrun_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, TaskRunError)
    language = request_language(request)
    console = _error_page_renderer(request) is not None
    status, message, extra = describe_error(error, language, console=console)
    if status == 503:
        log.error("api_storage_error", path=request.url.path, error_code=error.code,
                  traceback=format_traceback(error))
        # A file that is not a database stays so until someone restores it, so no retry time.
        retry = {} if isinstance(error, DatabaseFileInvalidError) else {"Retry-After": "5"}
        return _respond(request, 503, message, error.code, headers=retry)
    if status >= 500:
        log.error("api_error_unmapped", path=request.url.path, error_code=error.code,
                  traceback=format_traceback(error))
        return _respond(request, 500, message, "INTERNAL_ERROR")
    return _respond(request, status, message, error.code, extra=extra,
                    headers=_headers_of(error, status))


def _headers_of(error: TaskRunError, status: int) -> dict[str, str] | None:
    if status == 401:
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(error, LoginThrottled):
        return {"Retry-After": str(error.params["seconds"])}
    return None


async def _handle_validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    language = request_language(request)
    content_type = _non_json_body_type(request, error)
    if content_type is not None:
        # FastAPI does not parse a body sent as another type, so the model check fails even
        # when the text is a valid JSON object. The fix is the header, not the body.
        message = JSON_CONTENT_TYPE_REQUIRED.render(language, content_type=content_type)
        return _respond(request, 400, message, "INVALID_PARAMETER",
                        extra={"parameter": "Content-Type"})
    parameter, reason = validation_parameter(error, language)
    message = INVALID_PARAMETER.render(language, parameter=parameter, reason=reason)
    return _respond(request, 400, message, "INVALID_PARAMETER", extra={"parameter": parameter})


def _non_json_body_type(request: Request, error: RequestValidationError) -> str | None:
    """Return the request's Content-Type when an API body failed because it is not JSON."""
    if not request.url.path.startswith("/api/"):
        return None
    content_type = request.headers.get("content-type")
    if not content_type:
        return None
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        return None
    body_failed = any(tuple(detail.get("loc", ()))[:1] == ("body",) for detail in error.errors())
    return content_type if body_failed else None


async def _handle_http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    language = request_language(request)
    if error.status_code == 404:
        message, code = PAGE_NOT_FOUND.render(language), "RESOURCE_NOT_FOUND"
    elif error.status_code == 405:
        message, code = METHOD_NOT_ALLOWED.render(language), "METHOD_NOT_ALLOWED"
    else:
        message, code = str(error.detail), f"HTTP_{error.status_code}"
    return _respond(request, error.status_code, message, code, headers=error.headers)


async def _handle_database_error(request: Request, error: Exception) -> Response:
    # Read paths run queries without the write service's translation, so a missing table, a
    # lock or a dropped connection arrives here raw and gets the same 503 as a write would.
    assert isinstance(error, SQLAlchemyError)
    storage_error = to_storage_error(error, f"{request.method} {request.url.path}")
    storage_error.__cause__ = error
    return await _handle_taskrun_error(request, storage_error)


async def _handle_unexpected(request: Request, error: Exception) -> Response:
    # The reference in the body lets an administrator find this log line from a user's report.
    error_id = secrets.token_hex(6)
    log.error("api_error_unexpected", path=request.url.path, method=request.method,
              error_id=error_id, error_type=type(error).__name__,
              error=str(error), traceback=format_traceback(error))
    message = INTERNAL_ERROR_LOGGED.render(request_language(request), error_id=error_id)
    return _respond(request, 500, message, "INTERNAL_ERROR", extra={"error_id": error_id})


class UnexpectedErrorMiddleware:
    """Send the 500 failure body for an unexpected exception and log the exception once.

    Starlette passes a handler for ``Exception`` to its outermost middleware, which sends the
    response and then re-raises, so uvicorn logged a second, raw traceback of every 500. This
    middleware sits inside that one and does not re-raise.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking_start(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking_start)
        except Exception as error:
            if started:
                # Part of the response is out, so no error body can follow. Logging here and
                # ending the call leaves uvicorn to close the incomplete response.
                log.error("api_error_after_response_start", path=scope.get("path"),
                          method=scope.get("method"), error_id=secrets.token_hex(6),
                          error_type=type(error).__name__, error=str(error),
                          traceback=format_traceback(error))
                return
            response = await _handle_unexpected(Request(scope, receive), error)
            await response(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that map every exception to a failure response.

    API paths get the JSON failure body; console paths get an HTML page when the console has
    set ``app.state.render_error_page``. Middleware added after this call sits outside
    ``UnexpectedErrorMiddleware``, so its own exceptions still reach Starlette's handler.
    """
    app.add_exception_handler(TaskRunError, _handle_taskrun_error)
    app.add_exception_handler(SQLAlchemyError, _handle_database_error)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_error)
    app.add_exception_handler(Exception, _handle_unexpected)
    app.add_middleware(UnexpectedErrorMiddleware)
