"""Mark-to-market: what an account's positions are worth and where they are liquidated.

``AccountRisk(account, market, marks)`` marks an account once and answers, per
(symbol, side), a ``PositionRisk`` with every quantity the rows need. The formulas are
module functions named after what they return (SPEC §9). A symbol with no mark shows
markPrice 0 and its positions are marked at their entry price (uPnL 0) until one arrives.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, localcontext
from itertools import product

from .account import Account, SymbolSettings, sides_for
from .assets import AssetRisk
from .events import MarginType, PositionSide
from .market import LeverageBracket, Market, Symbol
from .numbers import CONTEXT, ZERO
from .open_orders import OpenOrderMargin, open_order_margins
from .position import Position

__all__ = [
    "AccountRisk",
    "LiquidationLeg",
    "PositionRisk",
    "initial_margin",
    "liquidation_price",
    "maintenance_margin",
    "notional",
    "unrealized_pnl",
]


def unrealized_pnl(amount: Decimal, mark: Decimal, entry: Decimal) -> Decimal:
    """unRealizedProfit = positionAmt × (markPrice − entryPrice)."""
    return amount * (mark - entry)


def notional(amount: Decimal, mark: Decimal) -> Decimal:
    """notional = positionAmt × markPrice (signed, like positionAmt)."""
    return amount * mark


def maintenance_margin(bracket: LeverageBracket, position_notional: Decimal) -> Decimal:
    """maintMargin = |notional| × MMR − cum, with the bracket that holds |notional|."""
    if not position_notional:
        return ZERO
    return abs(position_notional) * bracket.maint_margin_ratio - bracket.cum


def initial_margin(position_notional: Decimal, leverage: int) -> Decimal:
    """positionInitialMargin = |notional| / leverage."""
    return abs(position_notional) / leverage


@dataclass(frozen=True, slots=True)
class LiquidationLeg:
    """One side entering the liquidation formula: +1 long / -1 short, |size|, entry."""

    direction: int
    size: Decimal
    entry: Decimal
    # Price whose notional picks the starting bracket (the mark).
    mark: Decimal
    symbol: Symbol


def _solve(
    base: Decimal, legs: Sequence[LiquidationLeg], brackets: Sequence[LeverageBracket]
) -> Decimal | None:
    numerator = base
    denominator = ZERO
    for leg, bracket in zip(legs, brackets, strict=True):
        numerator += bracket.cum - leg.direction * leg.size * leg.entry
        denominator += leg.size * bracket.maint_margin_ratio - leg.direction * leg.size
    if not denominator:
        return None
    return numerator / denominator


def _brackets_at(legs: Sequence[LiquidationLeg], price: Decimal) -> tuple[LeverageBracket, ...]:
    price = max(price, ZERO)
    return tuple(leg.symbol.bracket_for(leg.size * price) for leg in legs)


def liquidation_price(
    wallet: Decimal,
    other_maint_margin: Decimal,
    other_unrealized_pnl: Decimal,
    legs: Sequence[LiquidationLeg],
    *,
    _general: bool = False,
) -> Decimal:
    """The mark price at which margin balance falls to maintenance margin; 0 if none.

    ``LP = (WB − TMM1 + UPNL1 + Σcum − Σ side·Pos·EP) / (Σ Pos·MMR − Σ side·Pos)``
    over every leg (the BOTH position with its side, LONG as +1, SHORT as −1). Cross:
    WB is the cross wallet, TMM1/UPNL1 those of every other cross symbol in the same
    margin asset, and every side of the symbol is a leg. Isolated: WB is the position's
    own isolated wallet, TMM1 = UPNL1 = 0, one leg.

    Each leg's bracket starts from its notional at the mark; when the notional at the
    computed price falls in another bracket, the price is recomputed with that one.
    Golden case: LONG 0.001 @ 22185.2, MMR 0.004, cum 0, WB 2.53267053 → 19731.45529116…
    """
    with localcontext(CONTEXT):
        if not legs:
            return ZERO
        base = wallet - other_maint_margin + other_unrealized_pnl
        if len(legs) == 1 and not _general:
            return _one_leg_liquidation_price(base, legs[0])
        choice = tuple(leg.symbol.bracket_for(leg.size * leg.mark) for leg in legs)
        tried: set[tuple[int, ...]] = set()
        while (numbers := tuple(b.bracket for b in choice)) not in tried:
            tried.add(numbers)
            price = _solve(base, legs, choice)
            if price is None:
                return ZERO
            found = _brackets_at(legs, price)
            if all(a is b for a, b in zip(found, choice, strict=True)):
                return price if price > 0 else ZERO
            choice = found
        # The brackets cycled: take the consistent combination nearest the mark.
        marks = sum((leg.mark for leg in legs), ZERO) / len(legs)
        best: Decimal | None = None
        for combination in product(*(leg.symbol.brackets for leg in legs)):
            price = _solve(base, legs, combination)
            if price is None or price <= 0:
                continue
            if any(a is not b for a, b in zip(_brackets_at(legs, price), combination, strict=True)):
                continue
            if best is None or abs(price - marks) < abs(best - marks):
                best = price
        return best if best is not None else ZERO


def _one_leg_liquidation_price(base: Decimal, leg: LiquidationLeg) -> Decimal:
    # The common case (one-way, or an isolated side) without the tuples of the general one.
    brackets = leg.symbol.brackets
    bracket = leg.symbol.bracket_for(leg.size * leg.mark)
    signed = leg.direction * leg.size
    for _ in range(len(brackets) + 1):
        denominator = leg.size * bracket.maint_margin_ratio - signed
        if not denominator:
            return ZERO
        price = (base + bracket.cum - signed * leg.entry) / denominator
        found = leg.symbol.bracket_for(leg.size * price) if price > 0 else brackets[0]
        if found is bracket:
            return price if price > 0 else ZERO
        bracket = found
    # Bracket choices cycled (cannot happen with a continuous cum chain): general search.
    return liquidation_price(base, ZERO, ZERO, [replace(leg, mark=ZERO)], _general=True)


@dataclass(frozen=True, slots=True)
class PositionRisk:
    """One row's numbers, exact, before formatting."""

    symbol: Symbol
    settings: SymbolSettings
    position: Position
    # The symbol's mark, 0 when none is known (the row shows it as is).
    mark_price: Decimal
    unrealized_pnl: Decimal
    notional: Decimal
    maint_margin: Decimal
    # |notional| / leverage at the mark.
    position_initial_margin: Decimal
    max_notional: Decimal
    isolated_margin: Decimal
    liquidation_price: Decimal
    # What this side's open orders hold (``open_orders.open_order_margins``).
    open_order_initial_margin: Decimal = ZERO
    bid_notional: Decimal = ZERO
    ask_notional: Decimal = ZERO

    @property
    def initial_margin(self) -> Decimal:
        """initialMargin = positionInitialMargin + openOrderInitialMargin."""
        return self.position_initial_margin + self.open_order_initial_margin

    @property
    def isolated(self) -> bool:
        return self.settings.margin_type is MarginType.ISOLATED

    @property
    def liquidation_distance(self) -> Decimal | None:
        """|mark − liquidation| / mark, as a fraction; None without a mark or a price."""
        if not self.mark_price or not self.liquidation_price:
            return None
        with localcontext(CONTEXT):
            return abs(self.mark_price - self.liquidation_price) / self.mark_price


_NO_ORDERS = OpenOrderMargin()


@dataclass(slots=True)
class _Marked:
    # Exact mark-to-market of one open position.
    symbol: Symbol
    settings: SymbolSettings
    position: Position
    price: Decimal
    unrealized_pnl: Decimal
    notional: Decimal
    maint_margin: Decimal


class AccountRisk:
    """An account marked at ``marks`` (symbol → mark price), ready to answer rows.

    ``open_orders``: what the account's open orders hold, by (symbol, side)
    (openOrderInitialMargin, bid/ask notional); a side with only an open order is an
    open row too.
    """

    __slots__ = (
        "_assets",
        "_liquidation",
        "_marked",
        "account",
        "market",
        "marks",
        "open_orders",
    )

    def __init__(
        self,
        account: Account,
        market: Market,
        marks: Mapping[str, Decimal],
    ) -> None:
        self.account = account
        self.market = market
        self.marks = marks
        self.open_orders: Mapping[tuple[str, PositionSide], OpenOrderMargin] = open_order_margins(
            account, market
        )
        # Open positions of the account's current mode, marked.
        self._marked: dict[tuple[str, PositionSide], _Marked] = {}
        # Liquidation prices computed so far, by (symbol, side); cross sides share one.
        self._liquidation: dict[tuple[str, PositionSide], Decimal] = {}
        self._assets: dict[str, AssetRisk] = {}
        with localcontext(CONTEXT):
            self._mark_open_positions()

    def __repr__(self) -> str:
        return f"<AccountRisk {len(self._marked)} open positions, assets={sorted(self._assets)}>"

    def _mark_open_positions(self) -> None:
        sides = sides_for(self.account.position_mode)
        totals: dict[str, list[Decimal]] = {}
        for (name, side), position in self.account.positions.items():
            if not position.amount or side not in sides:
                continue
            symbol = self.market.get(name)
            if symbol is None:
                continue
            settings = self.account.settings_for(symbol)
            price = self.marks.get(name) or position.entry_price
            value = notional(position.amount, price)
            upnl = unrealized_pnl(position.amount, price, position.entry_price)
            mm = maintenance_margin(symbol.bracket_for(value), value)
            self._marked[(name, side)] = _Marked(symbol, settings, position, price, upnl, value, mm)
            # [upnl, cross upnl, mm, cross mm, initial margin, cross initial margin]
            total = totals.setdefault(symbol.margin_asset, [ZERO] * 6)
            im = initial_margin(value, settings.leverage)
            total[0] += upnl
            total[2] += mm
            total[4] += im
            if settings.margin_type is MarginType.CROSS:
                total[1] += upnl
                total[3] += mm
                total[5] += im
        isolated: dict[str, Decimal] = {}
        for position in self.account.positions.values():
            if position.isolated_wallet:
                symbol = self.market.get(position.symbol)
                if symbol is not None:
                    asset = symbol.margin_asset
                    isolated[asset] = isolated.get(asset, ZERO) + position.isolated_wallet
        orders: dict[str, Decimal] = {}
        for (name, _side), held in self.open_orders.items():
            asset = self.market[name].margin_asset
            orders[asset] = orders.get(asset, ZERO) + held.initial_margin
        for asset in self.market.margin_assets:
            upnl, cross_upnl, mm, cross_mm, im, cross_im = totals.get(asset, [ZERO] * 6)
            wallet = self.account.wallet_balance(asset)
            self._assets[asset] = AssetRisk(
                asset,
                wallet,
                wallet - isolated.get(asset, ZERO),
                upnl,
                cross_upnl,
                mm,
                cross_mm,
                im,
                cross_im,
                orders.get(asset, ZERO),
                self.account.balance_update_time(asset),
            )

    def asset(self, asset: str) -> AssetRisk:
        return self._assets[asset]

    @property
    def assets(self) -> tuple[AssetRisk, ...]:
        return tuple(self._assets.values())

    def position(self, name: str, side: PositionSide) -> PositionRisk:
        """The marked row of ``name``/``side`` (flat if the account holds none)."""
        symbol = self.market[name]
        marked = self._marked.get((name, side))
        mark = self.marks.get(name, ZERO)
        orders = self.open_orders.get((name, side), _NO_ORDERS)
        if marked is None:
            settings = self.account.settings_for(symbol)
            return PositionRisk(
                symbol,
                settings,
                self.account.position(name, side),
                mark,
                ZERO,
                ZERO,
                ZERO,
                ZERO,
                symbol.max_notional(settings.leverage),
                ZERO,
                ZERO,
                orders.initial_margin,
                orders.bid_notional,
                orders.ask_notional,
            )
        settings = marked.settings
        with localcontext(CONTEXT):
            isolated = settings.margin_type is MarginType.ISOLATED
            wallet = marked.position.isolated_wallet
            return PositionRisk(
                symbol,
                settings,
                marked.position,
                mark,
                marked.unrealized_pnl,
                marked.notional,
                marked.maint_margin,
                initial_margin(marked.notional, settings.leverage),
                symbol.max_notional(settings.leverage),
                wallet + marked.unrealized_pnl if isolated else ZERO,
                self._liquidation_price(marked, side),
                orders.initial_margin,
                orders.bid_notional,
                orders.ask_notional,
            )

    def rows(self, symbols: Iterable[str] | None = None) -> list[PositionRisk]:
        """Every side of every symbol asked for (all of the market's by default)."""
        names = self.market.names if symbols is None else symbols
        sides = sides_for(self.account.position_mode)
        return [self.position(name, side) for name in names for side in sides]

    def open_rows(self, symbols: Iterable[str] | None = None) -> list[PositionRisk]:
        """The sides holding a position or an open order, in market order
        (``v2/account.position``, ``v2/account.status``)."""
        wanted = None if symbols is None else set(symbols)
        order = {name: i for i, name in enumerate(self.market.names)}
        sides = sides_for(self.account.position_mode)
        held = self._marked.keys() | {k for k in self.open_orders if k[1] in sides}
        keys = sorted(
            (key for key in held if wanted is None or key[0] in wanted),
            key=lambda key: (order[key[0]], key[1] is PositionSide.SHORT),
        )
        return [self.position(name, side) for name, side in keys]

    def _liquidation_price(self, marked: _Marked, side: PositionSide) -> Decimal:
        symbol = marked.symbol
        key = (symbol.name, side)
        isolated = marked.settings.margin_type is MarginType.ISOLATED
        if not isolated:
            key = (symbol.name, PositionSide.BOTH)
        found = self._liquidation.get(key)
        if found is not None:
            return found
        if isolated:
            price = liquidation_price(marked.position.isolated_wallet, ZERO, ZERO, [_leg(marked)])
        else:
            own = [
                m
                for s in sides_for(self.account.position_mode)
                if (m := self._marked.get((symbol.name, s))) is not None
            ]
            asset = self._assets[symbol.margin_asset]
            price = liquidation_price(
                asset.cross_wallet_balance,
                asset.cross_maint_margin - sum((m.maint_margin for m in own), ZERO),
                asset.cross_unrealized_pnl - sum((m.unrealized_pnl for m in own), ZERO),
                [_leg(m) for m in own],
            )
        self._liquidation[key] = price
        return price


def _leg(marked: _Marked) -> LiquidationLeg:
    position = marked.position
    return LiquidationLeg(
        position.direction, abs(position.amount), position.entry_price, marked.price, marked.symbol
    )
