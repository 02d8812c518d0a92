"""Engine cost per request: mark an account with N positions and produce its rows.

    python -m benchmarks.engine [--positions 10] [--repeat 15]

Prints the median µs per call and per position for the three views, plus the cost of
the full-market ``account.position`` (every symbol, no ``symbol`` param). Target
(issue 2): ≤ 20 µs per position for 10 positions.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from decimal import Decimal

from posrisk.engine import (
    Account,
    AccountRisk,
    Fill,
    MarginType,
    Market,
    PositionMode,
    PositionSide,
    SetMarginType,
    Side,
    WalletTransfer,
    account_position_rows,
    account_position_v2_rows,
    apply,
    position_row_v1,
)


def build_account(market: Market, positions: int, mode: PositionMode) -> tuple[Account, dict]:
    names = [s.name for s in market if s.margin_asset == "USDT"][:positions]
    account = apply(Account(position_mode=mode), WalletTransfer("USDT", Decimal(10**7)), market)
    state = account.account
    marks = {}
    for i, name in enumerate(names):
        if i % 3 == 0:
            state = apply(state, SetMarginType(name, MarginType.ISOLATED), market).account
        side = PositionSide.LONG if mode is PositionMode.HEDGE else PositionSide.BOTH
        for price in ("101.5", "99.25"):
            fill = Fill(name, Side.BUY, Decimal(1), Decimal(price), side, Decimal("0.04"))
            state = apply(state, fill, market).account
        marks[name] = Decimal("100.12345678")
    return state, marks


def median_us(fn: Callable[[], object], repeat: int, number: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number * 1e6)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    market = Market.default()
    n = args.positions
    for mode in PositionMode:
        account, marks = build_account(market, n, mode)
        names = list(marks)
        side = PositionSide.LONG if mode is PositionMode.HEDGE else PositionSide.BOTH

        def marked_rows(
            account: Account = account,
            marks: dict = marks,
            names: list = names,
            side: PositionSide = side,
        ) -> object:
            risk = AccountRisk(account, market, marks)
            return [position_row_v1(risk.position(name, side)) for name in names]

        cases = {
            "mark + v1 rows of the open positions": marked_rows,
            "v2/account.position (no symbol)": lambda a=account, m=marks: account_position_v2_rows(
                a, market, m
            ),
            "account.position symbol=one": lambda a=account, m=marks, s=names[0]: (
                account_position_rows(a, market, m, s)
            ),
            "account.position (all symbols)": lambda a=account, m=marks: account_position_rows(
                a, market, m
            ),
        }
        print(f"{mode.value}: account with {n} positions, {len(market)} listed symbols")
        for label, fn in cases.items():
            number = 20 if "all symbols" in label else 500
            us = median_us(fn, args.repeat, number)
            per = f"{us / n:8.2f} µs/position" if "symbol=" not in label else ""
            print(f"  {label:40s} {us:9.1f} µs/call {per}")


if __name__ == "__main__":
    main()
