"""A check, before anything starts, that the console can listen on its address and port.

uvicorn reports a taken port only after the server has started up, in English, with exit code
3; ``taskrun up`` would have run its whole first round and printed the console's URL by then.
"""

from __future__ import annotations

import errno
import socket

from taskrun_center.errors import TaskRunError
from taskrun_center.i18n import Text

_IN_USE = Text(
    "无法监听 {host}:{port}：端口已被其他程序占用。请用 --port 换一个端口（或设置 TASKRUN_PORT），"
    "或先停止占用它的程序。",
    "Cannot listen on {host}:{port}: another program uses the port. Pick another one with "
    "--port (or TASKRUN_PORT), or stop the program that uses it.",
)
_NOT_PERMITTED = Text(
    "无法监听 {host}:{port}：没有权限（1024 以下的端口需要 root）。"
    "请用 --port 换一个 1024 以上的端口。",
    "Cannot listen on {host}:{port}: permission denied (ports below 1024 need root). Pick a port "
    "above 1024 with --port.",
)
_NO_SUCH_ADDRESS = Text(
    "无法监听 {host}:{port}：本机没有这个地址。请用 --host（或 TASKRUN_HOST）指定本机的地址，"
    "例如 127.0.0.1 或 0.0.0.0。",
    "Cannot listen on {host}:{port}: this machine has no such address. Name one of its "
    "addresses with --host (or TASKRUN_HOST), such as 127.0.0.1 or 0.0.0.0.",
)
_OTHER = Text(
    "无法监听 {host}:{port}：{reason}。请检查 --host 和 --port。",
    "Cannot listen on {host}:{port}: {reason}. Check --host and --port.",
)
_REASONS = {errno.EADDRINUSE: _IN_USE, errno.EACCES: _NOT_PERMITTED,
            errno.EADDRNOTAVAIL: _NO_SUCH_ADDRESS}


class ListenAddressError(TaskRunError):
    """Raised when the server cannot listen on its address; ``text`` has both languages."""

    code = "SERVER_ADDRESS_UNAVAILABLE"

    def __init__(self, host: str, port: int, error: OSError) -> None:
        template = _REASONS.get(error.errno or 0)
        if isinstance(error, socket.gaierror):
            template = _NO_SUCH_ADDRESS
        params = {"host": host, "port": port, "reason": error.strerror or str(error)}
        chosen = template or _OTHER
        self.text = Text(chosen.zh.format(**params), chosen.en.format(**params))
        super().__init__(self.text.en)


def check_listen_address(host: str, port: int) -> None:
    """Bind ``host:port`` once and release it, as the server will bind it.

    uvicorn listens through asyncio's ``create_server``: one socket per address that
    ``getaddrinfo`` gives for the host. Each has ``SO_REUSEADDR``, so a port left in TIME_WAIT
    by a server that just stopped counts as free. IPv6 sockets have ``IPV6_V6ONLY``, so
    ``::ffff:127.0.0.1`` fails here as it fails there.

    Raises:
        ListenAddressError: the port is taken, needs root, or the host is no local address.
    """
    probes: list[socket.socket] = []
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        for family, kind, protocol, _, address in dict.fromkeys(infos):
            probe = socket.socket(family, kind, protocol)
            probes.append(probe)
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            probe.bind(address)
    except OSError as error:
        raise ListenAddressError(host, port, error) from None
    finally:
        for probe in probes:
            probe.close()


def url_host(host: str) -> str:
    """Return ``host`` as written in a URL: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host
