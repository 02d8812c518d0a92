"""What the dashboard sends its viewers, through a fake sink (no sockets): the accounts'
numbers, never their keys."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest

from posrisk.engine import Fill, PositionSide, Side
from posrisk.service.dashboard import Dashboard

from .conftest import (
    ED_KEY,
    HEDGE_KEY,
    HEDGE_SECRET,
    HMAC_KEY,
    HMAC_SECRET,
    RSA_KEY,
    Keys,
    Services,
)

pytestmark = pytest.mark.asyncio


class Viewer:
    """A dashboard viewer that keeps what it was sent."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.closed = False

    def send(self, message: bytes) -> None:
        self.messages.append(message)

    def close(self) -> None:
        self.closed = True


def _pem_body(pem: str) -> list[str]:
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


async def test_the_dashboard_sends_no_key_material(services: Services, keys: Keys) -> None:
    dashboard = Dashboard(services.admin, services.clock)
    viewer = Viewer()
    dashboard.attach(viewer)
    await services.admin.fill(
        "alice", Fill("BTCUSDT", Side.BUY, Decimal("0.010"), Decimal("21000"), PositionSide.BOTH)
    )
    services.clock.advance(1000)
    dashboard.tick()
    kinds = [orjson.loads(m)["type"] for m in viewer.messages]
    assert kinds == ["state", "update", "state"]

    # Whatever is added to an account's description later, the dashboard publishes only
    # what its page shows.
    state = orjson.loads(viewer.messages[0])
    assert [sorted(a) for a in state["accounts"]] == [
        ["balances", "name", "positionMode", "positions"]
    ] * 2
    assert [a["name"] for a in state["accounts"]] == ["alice", "bob"]
    assert state["accounts"][0]["positions"][0]["symbol"] == "BTCUSDT"

    sent = b"\n".join(viewer.messages)
    material = [HMAC_KEY, HMAC_SECRET, ED_KEY, RSA_KEY, HEDGE_KEY, HEDGE_SECRET]
    material += _pem_body(keys.ed25519_public) + _pem_body(keys.rsa_public)
    material += _pem_body(keys.ed25519_private) + _pem_body(keys.rsa_private)
    leaked = [m for m in material if m.encode() in sent]
    assert leaked == []
    assert b"apiKey" not in sent and b'"keys"' not in sent


async def test_the_state_shows_the_marks_held_and_the_latest_updates(services: Services) -> None:
    dashboard = Dashboard(services.admin, services.clock, feed=1)
    viewer = Viewer()
    dashboard.attach(viewer)
    start = services.clock.now_ms()
    state = orjson.loads(viewer.messages[0])
    assert state["marks"] == {
        "BTCUSDT": [[start, "21123.05052574"]],
        "ETHUSDT": [[start, "950"]],
    }
    dashboard.tick()  # nothing moved: nothing sent
    assert len(viewer.messages) == 1

    services.clock.advance(1000)
    await services.admin.set_marks({"BTCUSDT": Decimal("21000.50")})
    for qty in ("0.001", "0.002"):
        fill = Fill("BTCUSDT", Side.BUY, Decimal(qty), Decimal("21000"), PositionSide.BOTH)
        await services.admin.fill("alice", fill)
    dashboard.tick()
    state = orjson.loads(viewer.messages[-1])
    assert state["marks"]["BTCUSDT"] == [[start, "21123.05052574"], [start + 1000, "21000.50"]]
    assert state["marks"]["ETHUSDT"] == [[start, "950"]]  # unchanged: no new point
    [latest] = state["feed"]  # only the newest is kept (feed=1)
    assert latest["account"] == "alice"
    assert latest["event"]["a"]["P"][0]["pa"] == "0.013"
    updates = [orjson.loads(m) for m in viewer.messages if b'"type":"update"' in m]
    assert [u["event"]["a"]["P"][0]["pa"] for u in updates] == ["0.011", "0.013"]
