"""Where the WS API lives: Binance's mainnet and testnet, and a local posrisk."""

__all__ = ["BINANCE_MAINNET", "BINANCE_TESTNET", "POSRISK_LOCAL"]

BINANCE_MAINNET = "wss://ws-fapi.binance.com/ws-fapi/v1"
BINANCE_TESTNET = "wss://testnet.binancefuture.com/ws-fapi/v1"
POSRISK_LOCAL = "ws://127.0.0.1:8765/ws-fapi/v1"
