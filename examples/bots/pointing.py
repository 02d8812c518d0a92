"""Point a Binance client at posrisk: replace the scheme and host of every Binance URL it
holds with the server's origin, nothing else (the paths, the options and the code stay
Binance's). ``origin`` is the server's HTTP origin, e.g. ``http://127.0.0.1:8765``; its
WebSocket twin (``ws://…``) takes the place of every ``wss://`` URL.
"""

from __future__ import annotations

import re
from typing import Any

_HOST = re.compile(r"^(https?|wss?)://[^/]+")


def ws_origin(origin: str) -> str:
    """``http://h:p`` → ``ws://h:p`` (and ``https`` → ``wss``)."""
    return re.sub(r"^http", "ws", origin.rstrip("/"))


def rehost(url: str, origin: str) -> str:
    """``url`` with its scheme and host replaced by ``origin`` (HTTP) or its WS twin."""
    origin = origin.rstrip("/")
    match = _HOST.match(url)
    if match is None:
        return url
    base = ws_origin(origin) if match.group(1).startswith("ws") else origin
    return base + url[match.end() :]


def point_ccxt(exchange: Any, origin: str) -> Any:
    """Every URL string under ccxt's ``exchange.urls['api']``, nested ones included."""

    def walk(urls: dict[str, Any]) -> None:
        for name, value in urls.items():
            if isinstance(value, dict):
                walk(value)
            elif isinstance(value, str):
                urls[name] = rehost(value, origin)

    walk(exchange.urls["api"])
    return exchange


def python_binance_class(origin: str) -> Any:
    """python-binance's ``AsyncClient`` with its class-level URLs pointed at ``origin``: its
    ``create()`` pings and builds its WS API client before the instance can be touched, so
    the URLs must be right on the class (a subclass: the library's own class is left as is)."""
    from binance.async_client import AsyncClient

    urls = {
        "API_URL": f"{origin}/api",
        "MARGIN_API_URL": f"{origin}/sapi",
        "FUTURES_URL": f"{origin}/fapi",
        "FUTURES_DATA_URL": f"{origin}/futures/data",
        "WS_FUTURES_URL": f"{ws_origin(origin)}/ws-fapi/v1",
    }
    return type("AsyncClient", (AsyncClient,), urls)


def point_python_binance_streams(manager: Any, origin: str) -> Any:
    """A ``BinanceSocketManager``'s futures stream base (it appends ``market/``,
    ``public/``, ``private/``)."""
    manager.FSTREAM_URL = f"{ws_origin(origin)}/"
    return manager
