"""``serve --certfile/--keyfile``: wss:// and https:// with a test CA made at test time,
for posrisk's client and the three third-party clients."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import re
import ssl
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from posrisk.app import PosriskServer
from posrisk.client import ConnectionLost, PositionClient

from ..service.conftest import HEDGE_KEY, HEDGE_SECRET, Keys
from .conftest import make_server

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


@dataclass
class Tls:
    ca: Path
    cert: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """A throwaway CA and a certificate for 127.0.0.1 and localhost, signed by it."""
    folder = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("posrisk test CA"))
        .issuer_name(_name("posrisk test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = Tls(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    paths.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@pytest_asyncio.fixture
async def server(tmp_path: Path, keys: Keys, tls: Tls) -> AsyncIterator[PosriskServer]:
    running = await make_server(tmp_path, keys, certfile=tls.cert, keyfile=tls.key)
    yield running
    await running.stop()


async def test_urls_are_wss_and_https(server: PosriskServer, tls: Tls) -> None:
    assert server.ws_url.startswith("wss://127.0.0.1:")
    assert server.http_url.startswith("https://127.0.0.1:")

    def get() -> Any:
        with urllib.request.urlopen(
            server.http_url + "/fapi/v1/time", context=tls.client_context(), timeout=5
        ) as response:
            return json.loads(response.read())

    assert "serverTime" in await asyncio.to_thread(get)


async def test_posrisk_client_over_tls(server: PosriskServer, tls: Tls) -> None:
    async with PositionClient(
        server.ws_url, HEDGE_KEY, HEDGE_SECRET, ssl_context=tls.client_context()
    ) as client:
        [long, _] = await client.positions("BTCUSDT")
        assert str(long.liquidation_price) == "19731.45529116"
    # A client that does not trust the CA is refused, clearly.
    with pytest.raises(ConnectionLost, match="cannot connect"):
        await PositionClient(server.ws_url, HEDGE_KEY, HEDGE_SECRET).connect()


async def test_ccxt_over_tls(server: PosriskServer, tls: Tls) -> None:
    import ccxt.pro

    exchange = ccxt.pro.binanceusdm(
        {
            "apiKey": HEDGE_KEY,
            "secret": HEDGE_SECRET,
            "cafile": str(tls.ca),
            "options": {"fetchCurrencies": False},
        }
    )
    for name, url in list(exchange.urls["api"].items()):
        if isinstance(url, str):
            exchange.urls["api"][name] = re.sub(r"^https?://[^/]+", server.http_url, url)
    exchange.urls["api"]["ws"]["ws-api"]["linear"] = server.ws_url
    try:
        [long] = await exchange.fetch_positions_ws(["BTC/USDT:USDT"])
        assert long["liquidationPrice"] == 19731.45529116
    finally:
        await exchange.close()


async def test_binance_sdk_over_tls(server: PosriskServer, tls: Tls) -> None:
    from binance_common.configuration import ConfigurationWebSocketAPI
    from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
        DerivativesTradingUsdsFutures,
    )

    config = ConfigurationWebSocketAPI(
        api_key=HEDGE_KEY,
        api_secret=HEDGE_SECRET,
        stream_url=server.ws_url,
        https_agent=tls.client_context(),
    )
    sdk = DerivativesTradingUsdsFutures(config_ws_api=config)
    connection = await sdk.websocket_api.create_connection()  # type: ignore[no-untyped-call]
    assert connection is not None
    try:
        long, _ = (await connection.position_information(symbol="BTCUSDT")).data().result
        assert long.liquidation_price == "19731.45529116"
    finally:
        await connection.close_connection()


async def test_python_binance_over_tls(server: PosriskServer, tls: Tls) -> None:
    from binance.async_client import AsyncClient
    from binance.ws.websocket_api import WebsocketAPI

    client = AsyncClient(HEDGE_KEY, HEDGE_SECRET)
    client.ws_future = WebsocketAPI(url=server.ws_url)
    client.ws_future._ws_kwargs = {"ssl": tls.client_context()}
    client.ws_future.TIMEOUT = 1
    try:
        long, _ = await client.ws_futures_account_position(symbol="BTCUSDT")
        assert long["liquidationPrice"] == "19731.45529116"
    finally:
        await client.ws_future.close()
        await client.close_connection()


async def test_a_bad_certificate_is_refused_at_start(tmp_path: Path, keys: Keys) -> None:
    from posrisk.service.errors import ServiceError

    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(ServiceError, match="cannot use the TLS certificate"):
        await make_server(tmp_path, keys, certfile=junk, keyfile=junk)
