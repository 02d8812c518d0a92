"""Where mark prices come from: replay, random walk, Binance's stream (as sources of
batches; ``service.mark_feed`` applies them). Sources that know index prices and funding
rates tell them on the side (``extras``); ``read_funding_file`` reads a rate series."""

from .extras import (
    CarriesExtras,
    ExtrasListener,
    FundingFileError,
    MarkExtras,
    read_funding_file,
)
from .sources import (
    BINANCE_MARK_STREAM,
    BinanceMarkStream,
    MarkFileError,
    MarkRow,
    MarkSource,
    RandomWalk,
    Replay,
    parse_mark_prices,
    parse_mark_updates,
    read_mark_file,
    read_mark_rows,
)

__all__ = [
    "BINANCE_MARK_STREAM",
    "BinanceMarkStream",
    "CarriesExtras",
    "ExtrasListener",
    "FundingFileError",
    "MarkExtras",
    "MarkFileError",
    "MarkRow",
    "MarkSource",
    "RandomWalk",
    "Replay",
    "parse_mark_prices",
    "parse_mark_updates",
    "read_funding_file",
    "read_mark_file",
    "read_mark_rows",
]
