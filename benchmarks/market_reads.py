"""CPU per request of the expensive public market reads, in process (no sockets).

    python -m benchmarks.market_reads [--symbols 300] [--minutes 1500] [--requests 20]

Builds the services over the shipped market's first ``--symbols`` symbols, fills each
one's mark history with ``--minutes`` 1-minute buckets (every mark moving each minute),
then answers each read ``--requests`` times through ``RestService.handle`` and prints the
CPU time (process time) per request: ``ticker/24hr`` for every symbol (weight 40), with
one symbol, ``klines`` and ``markPriceKlines`` at ``limit=1500``, ``premiumIndex`` and
``ticker/bookTicker`` for every symbol. A second ``ticker/24hr`` figure is a request made
after every mark moved (what a cache keyed on the marks cannot save).
"""

from __future__ import annotations

import argparse
import time
from decimal import Decimal

from posrisk.engine import Market
from posrisk.protocol import LimitRules, RequestWeightLimiter
from posrisk.service.api import ApiService
from posrisk.service.clock import ManualClock
from posrisk.service.exchange_info import ExchangeInfo
from posrisk.service.registry import Registry
from posrisk.service.rest import HttpResponse, RestService
from posrisk.store import SetMarks

MINUTE = 60_000
START = 1_700_000_000_000 - 1_700_000_000_000 % MINUTE


def build(symbols: int, minutes: int) -> tuple[RestService, Registry, ManualClock]:
    market = Market.default()
    names = [symbol.name for symbol in market][:symbols]
    clock = ManualClock(START)
    registry = Registry(market)
    api = ApiService(registry, RequestWeightLimiter(LimitRules(request_weight=10**15)), clock)
    for minute in range(minutes):
        clock.now = START + minute * MINUTE
        price = Decimal(1000 + minute % 97) + Decimal(minute % 13) / 7
        registry.apply_committed([SetMarks(dict.fromkeys(names, price), 0)])
    clock.now += 30_000
    return RestService(api, ExchangeInfo(market)), registry, clock


def per_request(rest: RestService, path: str, query: str, requests: int) -> float:
    """CPU seconds per request, each from a different IP (no limiter in the way)."""
    started = time.process_time()
    for i in range(requests):
        response = rest.handle("GET", path, query, {}, b"", f"10.9.{i // 250}.{i % 250}")
        assert isinstance(response, HttpResponse) and response.status == 200, response
    return (time.process_time() - started) / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=300)
    parser.add_argument("--minutes", type=int, default=1500)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    rest, registry, clock = build(args.symbols, args.minutes)
    minute_klines = "symbol=BTCUSDT&interval=1m&limit=1500"
    reads = [
        ("ticker/24hr (all)", "/fapi/v1/ticker/24hr", ""),
        ("ticker/24hr BTCUSDT", "/fapi/v1/ticker/24hr", "symbol=BTCUSDT"),
        ("klines 1m x1500", "/fapi/v1/klines", minute_klines),
        ("markPriceKlines 1m x1500", "/fapi/v1/markPriceKlines", minute_klines),
        ("klines 1M x1500", "/fapi/v1/klines", "symbol=BTCUSDT&interval=1M&limit=1500"),
        ("premiumIndex (all)", "/fapi/v1/premiumIndex", ""),
        ("bookTicker (all)", "/fapi/v1/ticker/bookTicker", ""),
    ]
    print(f"{args.symbols} symbols, {args.minutes} minutes of history, CPU per request:")
    for label, path, query in reads:
        cost = per_request(rest, path, query, args.requests)
        print(f"  {label:28} {cost * 1000:8.2f} ms")
    moved = 0.0
    names = list(registry.marks)
    for i in range(args.requests):
        clock.now += 1000
        registry.apply_committed([SetMarks(dict.fromkeys(names, Decimal(2000 + i)), 0)])
        moved += per_request(rest, "/fapi/v1/ticker/24hr", "", 1)
    print(f"  {'ticker/24hr (all), marks moved':28} {moved / args.requests * 1000:8.2f} ms")


if __name__ == "__main__":
    main()
