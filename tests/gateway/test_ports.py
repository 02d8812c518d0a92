"""Binding a server's ports before anything else: refusals name the port and its option,
and a supervisor's reservation keeps the port from everyone but its own workers."""

from __future__ import annotations

import socket

import pytest

from posrisk.gateway.ports import bind_port, close_all
from posrisk.service.errors import ServiceError


def test_port_zero_binds_a_free_port_that_accepts_connections() -> None:
    sockets = bind_port("127.0.0.1", 0, "the WS API (--port)")
    try:
        [sock] = sockets
        port = sock.getsockname()[1]
        assert port > 0 and not sock.getblocking()
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    finally:
        close_all(sockets)


def test_a_busy_port_is_refused_naming_it() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServiceError) as refused:
            bind_port("127.0.0.1", port, "the admin API (--admin-port)")
    assert refused.value.msg == (
        f"cannot listen on 127.0.0.1:{port} for the admin API (--admin-port): "
        "Address already in use"
    )


def test_a_reservation_keeps_the_port_for_the_workers_only() -> None:
    reserved = bind_port("127.0.0.1", 0, "the WS API (--port)", listen=False, reuse_port=True)
    port = reserved[0].getsockname()[1]
    try:
        with pytest.raises(ServiceError, match="Address already in use"):
            bind_port("127.0.0.1", port, "another server")
        worker = bind_port("127.0.0.1", port, "a worker", reuse_port=True)
        try:
            # The kernel hands connections to the listening worker, never to the holder.
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        finally:
            close_all(worker)
    finally:
        close_all(reserved)
