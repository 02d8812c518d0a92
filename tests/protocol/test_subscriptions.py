"""Subscription frames as data: one message in, the reply and the streams changed out."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from posrisk.protocol.streams import MAX_STREAM_NAME, MAX_STREAMS
from posrisk.protocol.subscriptions import Subscriptions

UNKNOWN_METHOD = (
    "Invalid request: unknown variant {}, expected one of SUBSCRIBE, UNSUBSCRIBE, "
    "LIST_SUBSCRIPTIONS, SET_PROPERTY, GET_PROPERTY"
)


def ask(subs: Subscriptions, request: Any) -> Any:
    raw = request if isinstance(request, bytes) else orjson.dumps(request)
    return orjson.loads(subs.handle(raw).reply)


def test_subscribe_list_and_unsubscribe() -> None:
    subs = Subscriptions(["a"])
    outcome = subs.handle(b'{"method":"SUBSCRIBE","params":["b","a","c","b"],"id":1}')
    assert orjson.loads(outcome.reply) == {"result": None, "id": 1}
    assert (outcome.added, outcome.removed) == (("b", "c"), ())
    assert ask(subs, {"method": "LIST_SUBSCRIPTIONS", "id": 2}) == {
        "result": ["a", "b", "c"],
        "id": 2,
    }
    outcome = subs.handle(b'{"method":"UNSUBSCRIBE","params":["b","x"],"id":3}')
    assert orjson.loads(outcome.reply) == {"result": None, "id": 3}
    assert (outcome.added, outcome.removed) == ((), ("b",))
    assert subs.names == ["a", "c"] and "a" in subs and "b" not in subs
    subs.discard("a")
    assert subs.names == ["c"]


@pytest.mark.parametrize(
    "request_id", [0, 7, 2**63, "6b2c4d5e-1f0a-4b7c-9d8e-0123456789ab", "", None]
)
def test_an_id_is_echoed_as_sent(request_id: Any) -> None:
    reply = Subscriptions().handle(
        orjson.dumps({"method": "SUBSCRIBE", "params": ["x"], "id": request_id})
    )
    assert reply.reply == orjson.dumps({"result": None, "id": request_id})


@pytest.mark.parametrize("request_id", [-1, 1.5, True, [], {}])
def test_an_id_of_another_type_is_refused(request_id: Any) -> None:
    subs = Subscriptions()
    assert ask(subs, {"method": "SUBSCRIBE", "params": ["x"], "id": request_id}) == {
        "code": 2,
        "msg": "Invalid request: request ID must be an unsigned integer",
        "id": None,
    }
    assert subs.names == []


def test_a_missing_id_is_refused() -> None:
    assert ask(Subscriptions(), {"method": "LIST_SUBSCRIPTIONS"})["code"] == 2


def test_the_combined_property() -> None:
    subs = Subscriptions()
    assert ask(subs, {"method": "GET_PROPERTY", "params": ["combined"], "id": 1}) == {
        "result": False,
        "id": 1,
    }
    assert ask(subs, {"method": "SET_PROPERTY", "params": ["combined", True], "id": 2}) == {
        "result": None,
        "id": 2,
    }
    assert subs.combined
    assert ask(subs, {"method": "GET_PROPERTY", "params": ["combined"], "id": "x"}) == {
        "result": True,
        "id": "x",
    }
    assert Subscriptions(combined=True).combined


@pytest.mark.parametrize(
    ("frame", "code", "msg"),
    [
        ({"method": "SET_PROPERTY", "params": ["merged", True], "id": 5}, 0, "Unknown property"),
        ({"method": "GET_PROPERTY", "params": ["merged"], "id": 5}, 0, "Unknown property"),
        (
            {"method": "SET_PROPERTY", "params": ["combined", "true"], "id": 5},
            1,
            "Invalid value type: expected Boolean",
        ),
        (
            {"method": "SET_PROPERTY", "params": ["combined"], "id": 5},
            1,
            "Invalid value type: expected Boolean",
        ),
        (
            {"method": "SET_PROPERTY", "params": [1, True], "id": 5},
            2,
            "Invalid request: property name must be a string",
        ),
        (
            {"method": "GET_PROPERTY", "id": 5},
            2,
            "Invalid request: property name must be a string",
        ),
        (
            {"method": "SET_PROPERTY", "params": ["combined", True, 1], "id": 5},
            2,
            "Invalid request: too many parameters",
        ),
        (
            {"method": "GET_PROPERTY", "params": ["combined", True], "id": 5},
            2,
            "Invalid request: too many parameters",
        ),
        ({"method": "SUBSCRIBEE", "params": [], "id": 5}, 2, UNKNOWN_METHOD.format("SUBSCRIBEE")),
        ({"params": [], "id": 5}, 2, "Invalid request: missing field method"),
        (
            {"method": "SUBSCRIBE", "params": "btcusdt@trade", "id": 5},
            2,
            "Invalid request: invalid type: expected a sequence of stream names",
        ),
        (
            {"method": "SUBSCRIBE", "params": [1], "id": 5},
            2,
            "Invalid request: invalid type: expected a sequence of stream names",
        ),
    ],
)
def test_each_error_is_flat_with_its_code(frame: Any, code: int, msg: str) -> None:
    subs = Subscriptions()
    assert ask(subs, frame) == {"code": code, "msg": msg, "id": 5}
    assert not subs.combined and subs.names == []


def test_invalid_json_has_a_null_id() -> None:
    assert ask(Subscriptions(), b'{"method": SUBSCRIBE}') == {
        "code": 3,
        "msg": "Invalid JSON: expected value at line 1 column 12",
        "id": None,
    }
    assert ask(Subscriptions(), b"[1]") == {
        "code": 2,
        "msg": "Invalid request: invalid type: expected a JSON object",
        "id": None,
    }


def test_at_most_1024_streams() -> None:
    subs = Subscriptions([f"s{i}" for i in range(1000)])
    names = [f"t{i}" for i in range(25)]
    refused = subs.handle(orjson.dumps({"method": "SUBSCRIBE", "params": names, "id": 9}))
    assert orjson.loads(refused.reply) == {
        "code": 2,
        "msg": "Invalid request: too many parameters",
        "id": 9,
    }
    assert refused.added == () and len(subs.names) == 1000
    accepted = subs.handle(orjson.dumps({"method": "SUBSCRIBE", "params": names[:24], "id": 10}))
    assert len(accepted.added) == 24 and len(subs.names) == 1024
    # names already there do not count twice
    again = subs.handle(orjson.dumps({"method": "SUBSCRIBE", "params": ["s0", "t0"], "id": 11}))
    assert orjson.loads(again.reply) == {"result": None, "id": 11} and again.added == ()


def encode(value: Any) -> bytes:
    return json.dumps(value).encode()  # integers of any width, which orjson cannot write


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(
    st.one_of(
        st.binary(max_size=64),
        JSON.map(encode),
        st.fixed_dictionaries(
            {"method": st.sampled_from(["SUBSCRIBE", "UNSUBSCRIBE", "SET_PROPERTY"]) | JSON},
            optional={"params": JSON, "id": JSON},
        ).map(encode),
    )
)
def test_any_message_gets_a_result_or_a_flat_error(message: bytes) -> None:
    subs = Subscriptions(["a"])
    reply = orjson.loads(subs.handle(message).reply)
    assert isinstance(reply, dict) and "id" in reply
    assert set(reply) in ({"result", "id"}, {"code", "msg", "id"})
    if "code" in reply:
        assert reply["code"] in (0, 1, 2, 3) and isinstance(reply["msg"], str)
    assert len(subs.names) <= 1024


def test_a_name_longer_than_the_bound_subscribes_nothing() -> None:
    """A connection keeps the names it subscribed: 1024 names of a frame's size each would
    hold a gigabyte. A name past ``MAX_STREAM_NAME`` refuses the whole frame, as Binance
    refuses a malformed name."""
    subscriptions = Subscriptions()
    longest = "a" * MAX_STREAM_NAME
    frame = {"method": "SUBSCRIBE", "params": ["btcusdt@markPrice", longest + "b"], "id": 7}
    outcome = subscriptions.handle(orjson.dumps(frame))
    assert orjson.loads(outcome.reply) == {
        "code": 2,
        "msg": "Invalid request: invalid stream",
        "id": 7,
    }
    assert outcome.added == () and subscriptions.names == []
    frame["params"] = [longest]
    assert subscriptions.handle(orjson.dumps(frame)).added == (longest,)
    # 1024 names at the bound: what a connection can hold, at most.
    many = [f"{i:04d}" + "x" * (MAX_STREAM_NAME - 4) for i in range(MAX_STREAMS - 1)]
    frame["params"] = many
    assert len(subscriptions.handle(orjson.dumps(frame)).added) == MAX_STREAMS - 1
    assert sum(map(len, subscriptions.names)) <= MAX_STREAMS * MAX_STREAM_NAME
