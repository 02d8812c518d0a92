"""A real posrisk server on a free loopback port, loaded with the known scenario."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from posrisk.app import PosriskServer, ServerSettings
from posrisk.gateway.server import GatewaySettings
from posrisk.protocol import LimitRules

from ..service.conftest import Keys, keys, known_scenario

__all__ = ["keys", "make_server", "server"]


async def make_server(tmp_path: Path, keys: Keys, **overrides: object) -> PosriskServer:
    scenario = tmp_path / "scenario.json"
    if not scenario.exists():
        scenario.write_text(json.dumps(known_scenario(keys)))
    settings = ServerSettings(
        db=str(tmp_path / "posrisk.db"),
        port=0,
        scenario=scenario,
        gateway=GatewaySettings(ping_interval_s=3600, pong_timeout_s=3600),
        admin_port=0,
    )
    for name, value in overrides.items():
        setattr(settings, name, value)
    server = PosriskServer(settings)
    await server.start()
    return server


@pytest_asyncio.fixture
async def server(tmp_path: Path, keys: Keys) -> AsyncIterator[PosriskServer]:
    running = await make_server(tmp_path, keys, limits=LimitRules())
    yield running
    await running.stop()
