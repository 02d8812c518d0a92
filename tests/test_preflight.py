"""What a server checks before it binds a port or opens its database: a setting that
cannot work is refused with nothing left behind (no database, lock, token or key file)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from posrisk.app import PosriskServer, ServerSettings
from posrisk.service.errors import ServiceError

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"marks": "replay", "marks_file": Path("nope.csv")}, "cannot read nope.csv"),
        ({"marks": "replay"}, "--marks replay needs --marks-file"),
        ({"marks": "sideways"}, "--marks takes fixed, replay, walk or binance"),
        ({"certfile": Path("nope.pem")}, "cannot use the TLS certificate nope.pem"),
        ({"keyfile": Path("key.pem")}, "--keyfile needs --certfile"),
    ],
)
async def test_a_refused_setting_leaves_nothing_behind(
    tmp_path: Path, options: dict[str, object], message: str
) -> None:
    settings = ServerSettings(db=str(tmp_path / "posrisk.db"), port=0, admin_port=0)
    for name, value in options.items():
        setattr(settings, name, value)
    with pytest.raises(ServiceError, match=message):
        await PosriskServer(settings).start()
    assert list(tmp_path.iterdir()) == []


async def test_a_random_walk_starts_from_the_marks_of_the_database(tmp_path: Path) -> None:
    settings = ServerSettings(db=str(tmp_path / "posrisk.db"), port=0, admin_port=None)
    settings.marks, settings.marks_interval = "walk", 0.001
    server = PosriskServer(settings)
    await server.start()
    try:
        assert server.feed is not None
        for _ in range(1000):  # a walk from no marks would never tick
            if server.feed.ticks:
                break
            await asyncio.sleep(0.01)
        assert server.feed.ticks > 0
    finally:
        await server.stop()
