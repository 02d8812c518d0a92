"""The two spot wallet routes clients ask for when they start, answered so that they start.

ccxt's ``load_markets`` with a key set asks ``GET /sapi/v1/capital/config/getall`` (all
coins' information) and ``GET /sapi/v1/margin/allPairs`` at once and fails if either is
missing. posrisk has no spot wallet: every margin asset of the market is listed with one
network and zero balances, and there are no margin pairs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .rest import RestRequest, RestService

__all__ = ["all_coins", "coin_info", "margin_pairs"]

# The names Binance gives the usual margin assets; another asset is named by its code.
_NAMES = {
    "USDT": "TetherUS",
    "USDC": "USD Coin",
    "BTC": "Bitcoin",
    "ETH": "Ethereum",
    "BNB": "BNB",
    "FDUSD": "First Digital USD",
    "BFUSD": "BFUSD",
}


def coin_info(coin: str) -> dict[str, Any]:
    """One entry of ``/sapi/v1/capital/config/getall`` in Binance's shape, zero balances."""
    name = _NAMES.get(coin, coin)
    network = {
        "network": "BSC",
        "coin": coin,
        "withdrawIntegerMultiple": "0.00000001",
        "isDefault": True,
        "depositEnable": True,
        "withdrawEnable": True,
        "depositDesc": "",
        "withdrawDesc": "",
        "specialTips": "",
        "specialWithdrawTips": "",
        "name": "BNB Smart Chain (BEP20)",
        "resetAddressStatus": False,
        "addressRegex": "^(0x)[0-9A-Fa-f]{40}$",
        "memoRegex": "",
        "withdrawFee": "0",
        "withdrawMin": "0",
        "withdrawMax": "9999999999.99999999",
        "withdrawInternalMin": "0.00000001",
        "depositDust": "0.00000001",
        "minConfirm": 15,
        "unLockConfirm": 0,
        "sameAddress": False,
        "estimatedArrivalTime": 1,
        "busy": False,
        "contractAddressUrl": "",
        "contractAddress": "",
        "denomination": 1,
    }
    zero = "0"
    return {
        "coin": coin,
        "depositAllEnable": True,
        "withdrawAllEnable": True,
        "name": name,
        "free": zero,
        "locked": zero,
        "freeze": zero,
        "withdrawing": zero,
        "ipoing": zero,
        "ipoable": zero,
        "storage": zero,
        "isLegalMoney": False,
        "trading": True,
        "networkList": [network],
    }


def all_coins(rest: RestService, request: RestRequest, now: int) -> Any:
    """``GET /sapi/v1/capital/config/getall`` (signed): one entry per margin asset."""
    rest.authenticate(request, now)
    return [coin_info(asset) for asset in rest.api.market.margin_assets]


def margin_pairs(rest: RestService, request: RestRequest, now: int) -> Any:
    """``GET /sapi/v1/margin/allPairs``: no cross margin pairs."""
    return b"[]"
