"""Stream URLs as data: a handshake's path and query in, what it asks for out."""

from __future__ import annotations

import pytest

from posrisk.protocol.streams import (
    USER_EVENTS,
    StreamTarget,
    is_listen_key,
    parse_stream_target,
    stream_category,
)

K1 = "a" * 32 + "B" * 31 + "9"
K2 = "Z" * 64


def test_a_listen_key_is_64_letters_and_digits() -> None:
    assert is_listen_key(K1) and is_listen_key(K2)
    assert not is_listen_key(K1[:63])
    assert not is_listen_key(K1 + "x")
    assert not is_listen_key("_" + K1[1:])
    assert not is_listen_key("btcusdt@markPrice")


@pytest.mark.parametrize(
    ("path", "query", "expected"),
    [
        ("/ws", "", StreamTarget("raw", None)),
        ("/ws/btcusdt@markPrice", "", StreamTarget("raw", None, ("btcusdt@markPrice",))),
        ("/ws/a/b/a", "", StreamTarget("raw", None, ("a", "b"))),
        ("/public/ws", "", StreamTarget("raw", "public")),
        ("/market/ws/0", "", StreamTarget("raw", "market", ("0",))),
        ("/public/ws/1", "", StreamTarget("raw", "public", ("1",))),
        ("/stream", "", StreamTarget("combined", None)),
        (
            "/stream",
            "streams=a@trade/b@trade",
            StreamTarget("combined", None, ("a@trade", "b@trade")),
        ),
        (
            "/market/stream",
            "streams=x@markPrice",
            StreamTarget("combined", "market", ("x@markPrice",)),
        ),
        ("/public/stream", "", StreamTarget("combined", "public")),
        ("/private/stream", "", StreamTarget("combined", "private")),
        (f"/private/ws/{K1}", "", StreamTarget("raw", "private", (K1,))),
        (f"/ws/{K1}", "", StreamTarget("raw", None, (K1,))),
        ("/private/ws", f"listenKey={K1}", StreamTarget("raw", "private", (K1,))),
        ("/private/ws", f"listenKey={K1}/{K2}", StreamTarget("raw", "private", (K1, K2))),
        (
            "/private/ws",
            f"listenKey={K1}&events=ACCOUNT_UPDATE/listenKeyExpired",
            StreamTarget(
                "raw", "private", (K1,), frozenset({"ACCOUNT_UPDATE", "listenKeyExpired"})
            ),
        ),
        (
            "/private/ws",
            f"listenKey={K1}&events=",
            StreamTarget("raw", "private", (K1,), frozenset()),
        ),
        ("/private/stream", f"listenKey={K1}", StreamTarget("combined", "private", (K1,))),
    ],
)
def test_every_form_binance_serves(path: str, query: str, expected: StreamTarget) -> None:
    assert parse_stream_target(path, query) == expected


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/ws-fapi/v1",
        "/dashboard/ws",
        "/fapi/v1/ping",
        "/stream/x",
        "/private",
        "/other/ws",
        "",
    ],
)
def test_other_paths_are_no_streams(path: str) -> None:
    assert parse_stream_target(path, "") is None


def test_the_listen_keys_of_a_target() -> None:
    target = parse_stream_target("/stream", f"streams=btcusdt@trade/{K1}")
    assert target is not None
    assert target.names == ("btcusdt@trade", K1)
    assert target.listen_keys == (K1,)


@pytest.mark.parametrize(
    ("name", "category"),
    [
        (K1, "private"),
        ("btcusdt@bookTicker", "public"),
        ("!bookTicker", "public"),
        ("btcusdt@depth", "public"),
        ("btcusdt@depth5@100ms", "public"),
        ("btcusdt@rpiDepth@500ms", "public"),
        ("btcusdt@trade", "public"),
        ("btcusdt@aggTrade", "market"),
        ("btcusdt@markPrice", "market"),
        ("!markPrice@arr", "market"),
        ("btcusdt@kline_1m", "market"),
        ("0", "market"),
    ],
)
def test_the_category_binance_serves_a_stream_on(name: str, category: str) -> None:
    assert stream_category(name) == category


def test_strict_routes_serve_a_stream_only_on_its_own_category() -> None:
    private = StreamTarget("raw", "private")
    market = StreamTarget("raw", "market")
    unrouted = StreamTarget("raw", None)
    for strict in (False, True):
        assert private.serves(K1, strict) and unrouted.serves(K1, strict)
        assert market.serves("btcusdt@markPrice", strict)
    assert market.serves(K1, False) and not market.serves(K1, True)
    assert not private.serves("btcusdt@markPrice", True)
    assert not market.serves("btcusdt@trade", True)
    assert unrouted.serves("btcusdt@trade", True)


def test_the_user_events_are_binances_eight() -> None:
    assert len(USER_EVENTS) == 8 and USER_EVENTS[0] == "ACCOUNT_UPDATE"
