"""posrisk: Binance USDⓈ-M Futures ``account.position``, self-hosted."""

__version__ = "0.1.0"
