"""Invalid ``TASKRUN_*`` settings, described per variable in Chinese and English.

``config.get_settings`` turns pydantic's validation error into ``InvalidSettingsError``. Each
problem names the environment variable and its rule, never the value, because a database URL
may carry a password.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import ValidationError
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from taskrun_center.errors import ConfigurationError
from taskrun_center.i18n import Text

ENV_PREFIX = "TASKRUN_"
DATABASE_URL_VARIABLE = "TASKRUN_DATABASE_URL"
SUPPORTED_BACKENDS = ("sqlite", "postgresql")

# Rule of each pydantic error type (and of the custom types raised in config.py), filled in
# with the error's context: ``ge`` for greater_than_equal, ``backend`` for database_backend.
_RULES: dict[str, Text] = {
    "int_parsing": Text("必须是整数", "must be an integer"),
    "float_parsing": Text("必须是数字", "must be a number"),
    "bool_parsing": Text("必须是 true 或 false", "must be true or false"),
    "greater_than_equal": Text("不能小于 {ge}", "must be at least {ge}"),
    "greater_than": Text("必须大于 {gt}", "must be greater than {gt}"),
    "less_than_equal": Text("不能大于 {le}", "must be at most {le}"),
    "less_than": Text("必须小于 {lt}", "must be less than {lt}"),
    "json_invalid": Text("必须是 JSON 对象", "must be a JSON object"),
    "log_level": Text(
        "必须是 DEBUG、INFO、WARNING、ERROR 或 CRITICAL 之一",
        "must be one of DEBUG, INFO, WARNING, ERROR or CRITICAL",
    ),
    "log_format": Text("必须是 console 或 json", "must be console or json"),
    "language": Text(
        "必须是 zh-CN 或 en（也接受 zh、zh_CN、en-US 这类写法）",
        "must be zh-CN or en (zh, zh_CN, en-US and similar tags are accepted too)",
    ),
    "database_url_syntax": Text(
        "不是有效的数据库 URL，格式应为 sqlite:///路径 或 postgresql+psycopg://用户@主机/库名",
        "is not a database URL; use sqlite:///PATH or postgresql+psycopg://USER@HOST/DATABASE",
    ),
    "database_url_at_sign": Text(
        "含有多个未转义的 @，主机名因此无法识别；请把用户名、密码或参数中的 @ 写成 %40"
        "（例如 postgresql+psycopg://用户:pa%40ss@主机/库名）",
        "has more than one unescaped @, so the host cannot be told apart; write an @ in the "
        "user name, password or a parameter as %40 "
        "(e.g. postgresql+psycopg://USER:pa%40ss@HOST/DATABASE)",
    ),
    "database_connect_timeout": Text(
        "的 connect_timeout 参数应为 0 到 86400 之间表示秒数的整数（例如 ?connect_timeout=10），"
        "参数名小写，且只能出现一次",
        "has a connect_timeout parameter that is not one whole number of seconds from 0 to "
        "86400; give it once, in lower case, e.g. ?connect_timeout=10",
    ),
    "database_url_port": Text(
        "的端口超出 1 到 65535 的范围（PostgreSQL 默认端口为 5432；用户名后的密码要写在 @ 之前）",
        "has a port outside 1 to 65535 (PostgreSQL listens on 5432 by default; a password "
        "goes before the @)",
    ),
    "database_url_parameter": Text(
        "的参数 {name} 不是 PostgreSQL 的连接参数（是否想写 {closest}？）",
        "has the parameter {name}, which is no PostgreSQL connection parameter (did you mean "
        "{closest}?)",
    ),
    "database_url_parameter_unknown": Text(
        "的参数 {name} 不是 PostgreSQL 的连接参数（参见 libpq 文档中的连接参数列表）",
        "has the parameter {name}, which is no PostgreSQL connection parameter (libpq's "
        "documentation lists them)",
    ),
    "database_backend": Text(
        "指定的数据库类型 {backend} 不受支持，只支持 sqlite 和 postgresql"
        "（postgresql+psycopg://…）",
        "names the database type {backend}, which is not supported; use sqlite or "
        "postgresql (postgresql+psycopg://…)",
    ),
    "proxy_addresses": Text(
        "中的 {entry} 不是 IP 地址或网段；请用逗号分隔的地址或 CIDR，例如 127.0.0.1,10.0.0.0/8",
        "holds {entry}, which is no IP address or network; use comma-separated addresses or "
        "CIDR networks, e.g. 127.0.0.1,10.0.0.0/8",
    ),
    "heartbeat_interval": Text(
        "不能超过 TASKRUN_REAP_TIMEOUT_SECONDS 的一半（{limit} 秒），否则一次迟到的心跳就会让"
        "回收任务把仍在运行的任务标记为失败",
        "must be at most half of TASKRUN_REAP_TIMEOUT_SECONDS ({limit} s), or one late beat "
        "would let the reaper fail a run that is still working",
    ),
    "celery_missing": Text(
        "为 true，但未安装 celery 包；请安装（pip install 'taskrun-center[celery]'，在源码目录中为 "
        ".venv/bin/pip install -e '.[celery]'），或把它设为 false",
        "is true, but the celery package is not installed; install it (pip install "
        "'taskrun-center[celery]', or .venv/bin/pip install -e '.[celery]' in a checkout) or "
        "set it to false",
    ),
    "database_driver": Text(
        "需要的数据库驱动 {driver} 未安装或不存在；PostgreSQL 请用 postgresql+psycopg://…",
        "needs the database driver {driver}, which is not installed or does not exist; "
        "for PostgreSQL use postgresql+psycopg://…",
    ),
}
_FALLBACK_RULE = Text("的值无效（{message}）", "is invalid ({message})")
_LINE = Text(
    "配置无效：{variable} {rule}。请改正或删除这个环境变量后重试。",
    "Invalid setting: {variable} {rule}. Correct or unset the variable and retry.",
)
_OPTION_LINE = Text(
    "选项无效：{variable} {rule}。请改正或去掉这个选项后重试。",
    "Invalid option: {variable} {rule}. Correct or drop the option and retry.",
)
_SETTINGS_ERROR_FIELD = re.compile(r'field "(\w+)"')


def rule_text(kind: str, context: dict[str, Any]) -> Text:
    """Return the rule of a pydantic error type (or a custom one above) in both languages.

    ``context`` fills the placeholders (``ge`` for greater_than_equal); an unknown type reads
    "is invalid (message)" with ``context["message"]``.
    """
    template = _RULES.get(kind, _FALLBACK_RULE)
    values = {key: str(value) for key, value in context.items()}
    return Text(template.zh.format(**values), template.en.format(**values))


@dataclass(frozen=True, slots=True)
class SettingProblem:
    """One invalid variable: its name, the rule it breaks (``kind``) and that rule's context."""

    variable: str
    kind: str
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def rule(self) -> Text:
        """The broken rule in both languages, with the context filled in."""
        return rule_text(self.kind, self.context)

    def render(self, language: str) -> str:
        """Return one line naming the variable, the rule and the fix, in ``language``."""
        line = _OPTION_LINE if self.variable.startswith("--") else _LINE
        return line.render(language, variable=self.variable, rule=self.rule.render(language))


class InvalidSettingsError(ConfigurationError):
    """Raised when one or more ``TASKRUN_*`` variables (or the ``--database-url`` option) are
    invalid; ``problems`` has one entry per variable."""

    def __init__(self, problems: list[SettingProblem]) -> None:
        super().__init__(" ".join(problem.render("en") for problem in problems))
        self.problems = problems

    def render_lines(self, language: str) -> list[str]:
        """Return one line per invalid variable in ``language``."""
        return [problem.render(language) for problem in self.problems]

    def __reduce__(self) -> tuple[type[InvalidSettingsError], tuple[list[SettingProblem]]]:
        # Exception pickling would call the class with the message alone.
        return type(self), (self.problems,)


def check_database_url(url: str, variable: str = DATABASE_URL_VARIABLE) -> SettingProblem | None:
    """Return the problem of a database URL, or None when its backend and driver are usable.

    Only SQLite and PostgreSQL are supported. The driver is imported here, so that a missing
    one is reported as a setting and not as an ``ImportError`` at the first query.
    """
    # Only one @ may stand in a server URL: with a raw @ in the user name or password (or a
    # /, ? or : after it), part of the password ends up in the host name or the port, where a
    # message or a DNS lookup would carry it. A SQLite path may contain @.
    scheme, _, rest = url.partition("://")
    if not scheme.startswith("sqlite") and rest.count("@") > 1:
        return SettingProblem(variable, "database_url_at_sign")

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        # ValueError: a port that is no number. The message never quotes the URL, which may
        # hold a password.
        return SettingProblem(variable, "database_url_syntax")

    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        return SettingProblem(variable, "database_backend", {"backend": backend})

    if backend == "postgresql":
        problem = _server_url_problem(parsed, variable)
        if problem is not None:
            return problem
    return _driver_problem(parsed, variable)


def _server_url_problem(parsed: URL, variable: str) -> SettingProblem | None:
    """Return the problem of a PostgreSQL URL's port and parameters, which libpq would reject.

    libpq's own messages are English and, for a port out of range, advise starting the server.
    """
    if parsed.port is not None and not 1 <= parsed.port <= MAX_PORT:
        # The number is not quoted: in user:12345/db, with the @host left out, it is the
        # password.
        return SettingProblem(variable, "database_url_port")
    timeouts = _connect_timeout_values(parsed.query)
    if timeouts and (len(timeouts) > 1 or "connect_timeout" not in parsed.query
                     or not _whole_seconds(timeouts[0])):
        return SettingProblem(variable, "database_connect_timeout")
    known = _libpq_parameters()
    for name in parsed.query:
        if known and name not in known and name.lower() != "connect_timeout":
            closest = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.7)
            printable_name = name if name.isprintable() else ascii(name)
            hint = {"name": printable_name, "closest": closest[0] if closest else None}
            return SettingProblem(variable, "database_url_parameter"
                                  if closest else "database_url_parameter_unknown", hint)
    return None


#: Highest TCP port number.
MAX_PORT = 65535


@cache
def _libpq_parameters() -> frozenset[str]:
    """Return the connection parameters that the installed libpq accepts (none when unknown)."""
    try:
        from psycopg import pq

        return frozenset(option.keyword.decode() for option in pq.Conninfo.get_defaults())
    except Exception:
        # No check is better than a wrong one: the driver still reports an unknown parameter.
        return frozenset()


def _driver_problem(parsed: URL, variable: str) -> SettingProblem | None:
    try:
        parsed.get_dialect().import_dbapi()
    except NoSuchModuleError:
        return SettingProblem(variable, "database_driver", {"driver": parsed.drivername})
    except ImportError as error:
        return SettingProblem(variable, "database_driver", {"driver": error.name or "?"})
    return None


#: The longest ``connect_timeout`` accepted, in seconds (a day). 0 waits without a limit.
MAX_CONNECT_TIMEOUT_SECONDS = 86_400


def _whole_seconds(value: str | tuple[str, ...]) -> bool:
    # SQLAlchemy reads a repeated parameter as a tuple, which the driver rejects. ASCII digits
    # only: str.isdigit() also accepts "²", which libpq does not.
    if not isinstance(value, str) or not value.strip().isascii() or not value.strip().isdigit():
        return False
    return int(value) <= MAX_CONNECT_TIMEOUT_SECONDS


def _connect_timeout_values(
    query: Mapping[str, str | tuple[str, ...]],
) -> list[str | tuple[str, ...]]:
    # libpq's parameter names are lower case, so Connect_Timeout would reach the driver unchecked.
    return [value for key, value in query.items() if key.lower() == "connect_timeout"]


def check_language(value: str | None, variable: str = "TASKRUN_LANGUAGE") -> SettingProblem | None:
    """Return the problem of a language setting, or None when it is Chinese, English or unset.

    Any tag whose primary subtag is ``zh`` or ``en`` is accepted, in either case and with ``-``
    or ``_``, because ``i18n.normalize_language`` maps those onto zh-CN and en.
    """
    if value is None or not value.strip():
        return None
    primary = value.strip().replace("_", "-").split("-", 1)[0].lower()
    if primary in ("zh", "en"):
        return None
    return SettingProblem(variable, "language")


def check_proxy_addresses(
    value: str | None, variable: str = "TASKRUN_FORWARDED_ALLOW_IPS"
) -> SettingProblem | None:
    """Return the problem of a trusted-proxy list, or None when every entry is an IP or network.

    ``*`` (trust every peer) is accepted as uvicorn accepts it. uvicorn would otherwise skip an
    entry it cannot read and silently trust no proxy.
    """
    for entry in (part.strip() for part in (value or "").split(",")):
        if not entry or entry == "*":
            continue
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            return SettingProblem(variable, "proxy_addresses", {"entry": repr(entry[:64])})
    return None


def problems_of(error: ValidationError) -> list[SettingProblem]:
    """Return one problem per invalid variable reported by pydantic, without input values."""
    problems = []
    for detail in error.errors(include_input=False, include_url=False):
        variable = ENV_PREFIX + "__".join(str(part).upper() for part in detail["loc"])
        context = dict(detail.get("ctx") or {})
        if detail["type"] not in _RULES:
            context = {"message": detail["msg"]}
        problems.append(SettingProblem(variable, detail["type"], context))
    return problems


def problem_of_settings_error(message: str) -> SettingProblem:
    """Return the problem of pydantic-settings' ``SettingsError``, raised on a nested
    variable (such as ``TASKRUN_SUMMARY_LIMITS``) whose value is not JSON."""
    match = _SETTINGS_ERROR_FIELD.search(message)
    name = match.group(1).upper() if match else "*"
    return SettingProblem(ENV_PREFIX + name, "json_invalid")


# Variables with the prefix that are no setting: the test suite's own.
_NOT_SETTINGS_PREFIX = "TASKRUN_TEST_"


def unknown_variables(environment: Mapping[str, str],
                      known: Collection[str]) -> list[tuple[str, str | None]]:
    """Return the ``TASKRUN_*`` variables that name no setting, each with the closest known one.

    ``known`` lists the variables of the settings, nested ones included
    (``TASKRUN_SUMMARY_LIMITS__MAX_BYTES``). A misspelt variable is otherwise ignored without
    a word, and the default it meant to replace stays in force.
    """
    unknown = []
    for name in sorted(environment):
        # The settings read their variables in any case (taskrun_port sets the port).
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper.startswith(_NOT_SETTINGS_PREFIX):
            continue
        if upper in known:
            continue
        matches = difflib.get_close_matches(upper, known, n=1, cutoff=0.8)
        unknown.append((name, matches[0] if matches else None))
    return unknown
