"""The ports a server listens on, bound before anything else is touched.

``posrisk serve`` binds its WebSocket port and its admin port first, then opens the
database: a port that is busy refuses the start before a database, a token or a key file
exists. A supervisor (``--workers``) reserves both ports the same way (bound, not
listening) before it prepares the database; its workers bind them again with
``SO_REUSEPORT`` and the kernel spreads the connections over them.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

from ..service.errors import ServiceError

__all__ = ["BACKLOG", "bind_port", "close_all"]

# Connections the kernel queues before the server accepts them (asyncio's default).
BACKLOG = 100


def bind_port(
    host: str, port: int, what: str, *, reuse_port: bool = False, listen: bool = True
) -> list[socket.socket]:
    """Non-blocking sockets bound to every address of ``host`` (as asyncio's
    ``create_server`` binds them) on ``port``; 0 picks a free port, the same for every
    address. ``listen=False`` reserves the port: a bound socket the kernel never hands a
    connection. ``SO_REUSEPORT`` only when asked (the workers of one supervisor), so a
    second server on a busy port is refused. ``what`` names the port in the refusal:
    ``cannot listen on 127.0.0.1:8766 for the admin API (--admin-port): Address already
    in use``."""
    where = f"{host}:{port}"
    try:
        found = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as e:
        raise ServiceError(f"cannot listen on {where} for {what}: {e.strerror}") from None
    bound: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(found):
            sock = socket.socket(family, kind, proto)
            bound.append(sock)
            if listen:  # a reservation stays exclusive: no SO_REUSEADDR on it
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and len(bound) > 1:  # every address on the port the first got
                address = (address[0], bound[0].getsockname()[1], *address[2:])
            sock.bind(address)
            if listen:
                sock.listen(BACKLOG)
            sock.setblocking(False)
    except OSError as e:
        close_all(bound)
        raise ServiceError(f"cannot listen on {where} for {what}: {e.strerror or e}") from None
    return bound


def close_all(sockets: Sequence[socket.socket]) -> None:
    for sock in sockets:
        sock.close()
