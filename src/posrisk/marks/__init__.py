"""Where mark prices come from: replay, random walk, Binance's stream (as sources of
batches; ``service.mark_feed`` applies them)."""

from .sources import (
    BINANCE_MARK_STREAM,
    BinanceMarkStream,
    MarkFileError,
    MarkSource,
    RandomWalk,
    Replay,
    parse_mark_prices,
    read_mark_file,
)

__all__ = [
    "BINANCE_MARK_STREAM",
    "BinanceMarkStream",
    "MarkFileError",
    "MarkSource",
    "RandomWalk",
    "Replay",
    "parse_mark_prices",
    "read_mark_file",
]
