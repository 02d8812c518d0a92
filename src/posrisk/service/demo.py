"""The demo seeded into a new database: two accounts with known positions and marks.

``demo`` is one-way (BTCUSDT cross long, ETHUSDT isolated short); ``demo-hedge`` is hedge
mode (BTCUSDT long and short, cross; SOLUSDT isolated long). Keys are generated: an HMAC
key for each, and an Ed25519 key pair for ``demo`` written next to the database.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..protocol import generate_ed25519
from ..store import SetMeta
from .admin import AdminService
from .keys import CreatedKey

__all__ = ["DEMO_SCENARIO", "DemoCredentials", "seed_demo"]

DEMO_SCENARIO: dict[str, Any] = {
    "accounts": [
        {
            "name": "demo",
            "deposits": {"USDT": "10000"},
            "symbols": {
                "BTCUSDT": {"leverage": 10},
                "ETHUSDT": {"leverage": 20, "marginType": "isolated"},
            },
            "fills": [
                {
                    "symbol": "BTCUSDT",
                    "side": "BUY",
                    "qty": "0.050",
                    "price": "60500.1",
                    "fee": "1.210002",
                },
                {
                    "symbol": "BTCUSDT",
                    "side": "BUY",
                    "qty": "0.030",
                    "price": "61200",
                    "fee": "0.7344",
                },
                {
                    "symbol": "ETHUSDT",
                    "side": "SELL",
                    "qty": "1.500",
                    "price": "2410.55",
                    "fee": "1.446330",
                },
            ],
        },
        {
            "name": "demo-hedge",
            "positionMode": "hedge",
            "deposits": {"USDT": "5000"},
            "symbols": {"SOLUSDT": {"leverage": 5, "marginType": "isolated"}},
            "fills": [
                {
                    "symbol": "BTCUSDT",
                    "side": "BUY",
                    "positionSide": "LONG",
                    "qty": "0.020",
                    "price": "60000",
                    "fee": "0.48",
                },
                {
                    "symbol": "BTCUSDT",
                    "side": "SELL",
                    "positionSide": "SHORT",
                    "qty": "0.010",
                    "price": "62500",
                    "fee": "0.25",
                },
                {
                    "symbol": "SOLUSDT",
                    "side": "BUY",
                    "positionSide": "LONG",
                    "qty": "10",
                    "price": "140.25",
                    "fee": "0.561",
                },
            ],
            "isolatedMarginTransfers": [
                {"symbol": "SOLUSDT", "positionSide": "LONG", "amount": "25"},
            ],
        },
    ],
    "marks": {"BTCUSDT": "61250.5", "ETHUSDT": "2385.25", "SOLUSDT": "142.3"},
}


@dataclass(frozen=True, slots=True)
class DemoCredentials:
    hmac: CreatedKey
    hedge_hmac: CreatedKey
    ed25519: CreatedKey
    private_key_path: Path
    public_key_path: Path


async def seed_demo(admin: AdminService, key_dir: Path, stem: str) -> DemoCredentials:
    """Load the demo accounts and create their keys; the private key goes to a 0600 file."""
    await admin.load_scenario(DEMO_SCENARIO)
    await admin.store.commit([SetMeta("demo", "1")])  # liquidation is on for the demo
    hmac_key = await admin.create_key("demo", "hmac")
    hedge_key = await admin.create_key("demo-hedge", "hmac")
    private_pem, public_pem = generate_ed25519()
    ed_key = await admin.create_key("demo", "ed25519", public_key=public_pem)
    key_dir.mkdir(parents=True, exist_ok=True)
    private_path = key_dir / f"{stem}-demo-ed25519.pem"
    public_path = key_dir / f"{stem}-demo-ed25519.pub.pem"
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(private_pem)
    public_path.write_text(public_pem)
    return DemoCredentials(hmac_key, hedge_key, ed_key, private_path, public_path)
