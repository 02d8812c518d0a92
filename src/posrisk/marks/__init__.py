"""Mark prices that move: sources (replay, random walk, Binance's stream) and the feed."""

from .feed import MarkFeed
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
    "MarkFeed",
    "MarkFileError",
    "MarkSource",
    "RandomWalk",
    "Replay",
    "parse_mark_prices",
    "read_mark_file",
]
