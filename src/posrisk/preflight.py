"""What a server checks, builds and binds from its settings before it opens its database:
a start refused here (a bad setting, a busy port) leaves nothing behind — no database,
token or key file.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from .engine import Market
from .gateway.ports import bind_port, close_all
from .marks import BinanceMarkStream, MarkFileError, MarkSource, RandomWalk, Replay
from .service.errors import ServiceError

if TYPE_CHECKING:
    from .app import ServerSettings

__all__ = ["MarkSourceFactory", "bind_ports", "mark_source", "tls_context"]

# The mark source, given the marks the database holds (a random walk starts from them).
MarkSourceFactory = Callable[[Mapping[str, Decimal]], MarkSource | None]


def tls_context(settings: ServerSettings) -> ssl.SSLContext | None:
    """The TLS context of ``--certfile``/``--keyfile`` (None: plain ws:// and http://)."""
    if settings.certfile is None:
        if settings.keyfile is not None:
            raise ServiceError("--keyfile needs --certfile")
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(settings.certfile, settings.keyfile)
    except (OSError, ssl.SSLError) as e:
        raise ServiceError(f"cannot use the TLS certificate {settings.certfile}: {e}") from None
    return context


def mark_source(settings: ServerSettings, market: Market) -> MarkSourceFactory:
    """Where marks move from, checked now (a replay file is read now), built once the
    database's marks are known."""
    kind = settings.marks
    if kind == "fixed":
        return lambda marks: None
    if kind == "replay":
        if settings.marks_file is None:
            raise ServiceError("--marks replay needs --marks-file (CSV or JSONL)")
        try:
            replay = Replay(settings.marks_file, settings.marks_speed)
        except MarkFileError as e:
            raise ServiceError(str(e)) from None
        return lambda marks: replay
    if kind == "walk":
        seed, interval = settings.marks_seed, settings.marks_interval
        return lambda marks: RandomWalk(marks, market, seed=seed, interval=interval)
    if kind == "binance":
        stream = BinanceMarkStream(settings.marks_url)
        return lambda marks: stream
    raise ServiceError(f"--marks takes fixed, replay, walk or binance, not {kind!r}")


def bind_ports(
    settings: ServerSettings, *, listen: bool = True
) -> tuple[list[socket.socket], list[socket.socket]]:
    """The WS API's sockets and the admin API's (none without one). ``listen=False``
    reserves both ports for a supervisor's workers, which bind them again (SO_REUSEPORT)."""
    reuse = settings.gateway.reuse_port or not listen
    ws = bind_port(
        settings.host, settings.port, "the WS API (--port)", reuse_port=reuse, listen=listen
    )
    if settings.admin_port is None:
        return ws, []
    try:
        admin = bind_port(
            settings.admin_host,
            settings.admin_port,
            "the admin API (--admin-port)",
            reuse_port=reuse,
            listen=listen,
        )
    except BaseException:
        close_all(ws)
        raise
    return ws, admin
