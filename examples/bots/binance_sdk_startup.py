"""A bot's startup on Binance's own SDK (REST): the account, the balance, the position mode
and a leverage change.

    POSRISK_URL=http://127.0.0.1:8765 POSRISK_API_KEY=... POSRISK_API_SECRET=... \\
    python -m examples.bots.binance_sdk_startup

``base_path`` points the SDK's REST client at posrisk; leave ``POSRISK_URL`` unset and it
talks to Binance. The SDK's REST client blocks: an asyncio bot runs it in a thread.
"""

from __future__ import annotations

import os
from typing import Any

SYMBOL = "BTCUSDT"


def rest_client(api_key: str, secret: str, origin: str | None = None) -> Any:
    from binance_common.configuration import ConfigurationRestAPI
    from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
        DerivativesTradingUsdsFutures,
    )

    options: dict[str, Any] = {"api_key": api_key, "api_secret": secret}
    if origin is not None:
        options["base_path"] = origin
    return DerivativesTradingUsdsFutures(config_rest_api=ConfigurationRestAPI(**options)).rest_api


def startup(rest: Any, symbol: str = SYMBOL, leverage: int = 20) -> list[str]:
    """What the bot learns at startup, one line each; sets ``leverage`` on ``symbol``."""
    account = rest.account_information_v3().data()
    [usdt] = [b for b in rest.futures_account_balance_v3().data() if b.asset == "USDT"]
    hedged = rest.get_current_position_mode().data().dual_side_position
    changed = rest.change_initial_leverage(symbol=symbol, leverage=leverage).data()
    [config] = rest.symbol_configuration(symbol=symbol).data()
    return [
        f"wallet {account.total_wallet_balance}, margin {account.total_margin_balance}",
        f"USDT: balance {usdt.balance}, available {usdt.available_balance}",
        f"position mode: {'hedge' if hedged else 'one-way'}",
        f"{symbol}: leverage {changed.leverage}x, margin {config.margin_type}",
    ]


def main() -> None:
    rest = rest_client(
        os.environ["POSRISK_API_KEY"],
        os.environ["POSRISK_API_SECRET"],
        os.environ.get("POSRISK_URL"),
    )
    for line in startup(rest):
        print(line)


if __name__ == "__main__":
    main()
