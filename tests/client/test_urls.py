"""Where the client connects: Binance's WS API endpoints, and a local posrisk's."""

from __future__ import annotations

from urllib.parse import urlsplit

from posrisk.app import ServerSettings
from posrisk.client import BINANCE_MAINNET, BINANCE_TESTNET, POSRISK_LOCAL
from posrisk.gateway.server import WS_API_PATH


def test_binance_is_reached_over_tls_on_its_ws_api_path() -> None:
    for url in (BINANCE_MAINNET, BINANCE_TESTNET):
        parts = urlsplit(url)
        assert (parts.scheme, parts.path) == ("wss", "/ws-fapi/v1")
    assert urlsplit(BINANCE_MAINNET).hostname == "ws-fapi.binance.com"
    assert urlsplit(BINANCE_TESTNET).hostname == "testnet.binancefuture.com"


def test_a_local_posrisk_is_served_where_its_gateway_listens() -> None:
    parts = urlsplit(POSRISK_LOCAL)
    assert (parts.scheme, parts.hostname) == ("ws", "127.0.0.1")
    assert parts.port == ServerSettings().port  # the default of ``posrisk serve``
    assert parts.path == WS_API_PATH
