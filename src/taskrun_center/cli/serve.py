"""``taskrun serve``: run the console and the REST API with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from taskrun_center.cli.common import DatabaseUrlOption, cli_language, resolve_database_url, tr
from taskrun_center.i18n import Text

HELP = Text(
    "启动 Web 控制台和 REST API（默认同时运行内置调度器）。"
    "首次启动会创建 admin 用户并打印一次随机密码，除非设置了 TASKRUN_ADMIN_PASSWORD。",
    "Serve the web console and the REST API (with the in-process scheduler by default). The "
    "first start creates the admin user and prints its random password once, unless "
    "TASKRUN_ADMIN_PASSWORD is set.",
)
HOST_HELP = Text("监听地址，默认 TASKRUN_HOST 或 127.0.0.1。",
                 "Address to listen on; default TASKRUN_HOST or 127.0.0.1.")
PORT_HELP = Text("监听端口，1 到 65535，默认 TASKRUN_PORT 或 8000。",
                 "Port to listen on, 1 to 65535; default TASKRUN_PORT or 8000.")
# Click prefixes "Invalid value for '--port':", so the text states only the rule.
PORT_INVALID = Text("{port} 超出 1 到 65535 的范围。", "{port} is outside 1 to 65535.")
MAX_PORT = 65535
FORWARDED_HELP = Text(
    "信任其 X-Forwarded-For / X-Forwarded-Proto 头的反向代理地址或网段，逗号分隔，"
    "默认 TASKRUN_FORWARDED_ALLOW_IPS；为空时不信任任何代理头。",
    "Comma-separated addresses or networks of reverse proxies whose X-Forwarded-For and "
    "X-Forwarded-Proto headers are trusted; default TASKRUN_FORWARDED_ALLOW_IPS. Empty trusts "
    "no proxy headers.",
)
SCHEDULER_HELP = Text("是否在本进程运行调度器（多进程时只有一个会成为主调度器）。",
                      "Run the scheduler in this process (with several processes, one leads).")
CONFIG_HELP = Text("调度任务的 TOML 文件，默认 TASKRUN_SCHEDULER_CONFIG。",
                   "TOML file of scheduler jobs; default TASKRUN_SCHEDULER_CONFIG.")



def check_port(port: int | None) -> int | None:
    """Return ``port`` when it is unset or a TCP port number; uvicorn would wrap 70000 to 4464.

    Raises:
        typer.BadParameter: the port is outside 1..65535; Typer exits 2 with the message.
    """
    if port is not None and not 1 <= port <= MAX_PORT:
        raise typer.BadParameter(tr(PORT_INVALID, port=port))
    return port


# ``taskrun up`` uses the same options, so both commands accept the same port range. The range
# is checked by a callback rather than ``min``/``max``: Typer would print "[1<=x<=65535]" in a
# column of its own, which leaves too little width for the option names at 80 columns.
HostOption = Annotated[str | None, typer.Option("--host", help=tr(HOST_HELP))]
PortOption = Annotated[int | None, typer.Option("--port", callback=check_port, help=tr(PORT_HELP))]
def check_proxies(value: str | None) -> str | None:
    """Return ``value`` when every entry is an IP address, a network or ``*``.

    Raises:
        typer.BadParameter: an entry is neither; Typer exits 2 with the message.
    """
    from taskrun_center.config_errors import check_proxy_addresses

    problem = check_proxy_addresses(value, "--forwarded-allow-ips")
    if problem is not None:
        raise typer.BadParameter(problem.render(cli_language()))
    return value


ForwardedAllowIpsOption = Annotated[
    str | None,
    typer.Option("--forwarded-allow-ips", callback=check_proxies, help=tr(FORWARDED_HELP)),
]


def serve_command(
    *,
    database_url: DatabaseUrlOption = None,
    host: HostOption = None,
    port: PortOption = None,
    forwarded_allow_ips: ForwardedAllowIpsOption = None,
    scheduler: Annotated[bool, typer.Option("--scheduler/--no-scheduler",
                                            help=tr(SCHEDULER_HELP))] = True,
    scheduler_config: Annotated[str | None, typer.Option("--scheduler-config",
                                                         help=tr(CONFIG_HELP))] = None,
) -> None:
    """Serve the console and the API until Ctrl-C."""
    from taskrun_center.config import get_settings
    from taskrun_center.web.server import serve

    settings = get_settings()
    serve(
        resolve_database_url(database_url),
        host or settings.host,
        port or settings.port,
        scheduler=scheduler,
        scheduler_config=scheduler_config or settings.scheduler_config,
        forwarded_allow_ips=forwarded_allow_ips,
        language=cli_language(),
    )


def register(app: typer.Typer) -> None:
    """Add ``taskrun serve`` to app."""
    app.command("serve", help=tr(HELP))(serve_command)
