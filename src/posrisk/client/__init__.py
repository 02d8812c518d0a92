"""A client for positions on Binance's USDⓈ-M Futures WS API, and on posrisk.

async with PositionClient(POSRISK_LOCAL, api_key, secret_or_private_key) as client:
    rows = await client.positions()          # account.position, typed rows
    rows = await client.positions_v2()       # v2/account.position
    account = await client.account_status()  # account.status: totals, assets, positions
    balances = await client.balance()        # account.balance

with PositionClient.sync(BINANCE_TESTNET, api_key, Path("key.pem")) as client:
    rows = client.positions("BTCUSDT")
"""

from .connection import PositionClient
from .errors import (
    AdminError,
    BinanceError,
    ClientError,
    ConnectionLost,
    InvalidApiKey,
    InvalidApiKeyFormat,
    InvalidParameter,
    InvalidSignature,
    InvalidSymbol,
    IPBanned,
    KeyTypeNotSupported,
    MalformedRequest,
    ProtocolError,
    RateLimited,
    RequestRejected,
    RequestTimeout,
    ServerInternalError,
    TimestampOutsideRecvWindow,
    Unauthorized,
)
from .keys import HmacSigner, KeySigner, Signer, load_signer
from .limits import RateLimitUsage
from .models import (
    AccountPosition,
    AccountStatus,
    AssetBalance,
    Balance,
    MarginType,
    Position,
    PositionSide,
    PositionV2,
)
from .sync import SyncPositionClient
from .urls import BINANCE_MAINNET, BINANCE_TESTNET, POSRISK_LOCAL

__all__ = [
    "BINANCE_MAINNET",
    "BINANCE_TESTNET",
    "POSRISK_LOCAL",
    "AccountPosition",
    "AccountStatus",
    "AdminError",
    "AssetBalance",
    "Balance",
    "BinanceError",
    "ClientError",
    "ConnectionLost",
    "HmacSigner",
    "IPBanned",
    "InvalidApiKey",
    "InvalidApiKeyFormat",
    "InvalidParameter",
    "InvalidSignature",
    "InvalidSymbol",
    "KeySigner",
    "KeyTypeNotSupported",
    "MalformedRequest",
    "MarginType",
    "Position",
    "PositionClient",
    "PositionSide",
    "PositionV2",
    "ProtocolError",
    "RateLimitUsage",
    "RateLimited",
    "RequestRejected",
    "RequestTimeout",
    "ServerInternalError",
    "Signer",
    "SyncPositionClient",
    "TimestampOutsideRecvWindow",
    "Unauthorized",
    "load_signer",
]
