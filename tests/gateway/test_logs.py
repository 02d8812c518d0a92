"""Log lines clients can cause are bounded (issue 13 A.5): a hostile client must not be
able to fill the disk through the server's log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets

from posrisk.gateway.logs import ClientLog, RateLimitFilter
from posrisk.gateway.server import GatewaySettings

from ..service.conftest import Keys
from .conftest import make_server
from .test_server import ask, signed


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("posrisk.test.clients")
    yield log
    log.filters.clear()


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("posrisk.test")]


def test_lines_past_the_allowance_are_counted_then_summed_up(
    logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    logger.addFilter(RateLimitFilter(lines=3, interval_s=60, clock=clock))
    with caplog.at_level(logging.INFO, logger="posrisk.test"):
        for n in range(50):
            logger.warning("bad frame from %s", n)
        logger.warning("another kind of line")  # counted apart
        assert messages(caplog) == [
            "bad frame from 0",
            "bad frame from 1",
            "bad frame from 2 (more like it are suppressed for up to 60 s)",
            "another kind of line",
        ]
        caplog.clear()
        clock.now += 59.9
        logger.warning("bad frame from %s", "late")
        assert messages(caplog) == []
        clock.now += 0.1  # the next interval
        logger.warning("bad frame from %s", "next")
        assert messages(caplog) == ["bad frame from next (48 similar lines suppressed)"]


def test_the_filter_forgets_old_messages(logger: logging.Logger) -> None:
    clock = Clock()
    limit = RateLimitFilter(lines=1, interval_s=1, clock=clock, max_messages=4)
    logger.addFilter(limit)
    for n in range(100):
        clock.now += 2
        logger.warning(f"line {n}")  # each its own template: the worst case
    assert len(limit._seen) <= 4


def test_picows_errors_about_a_client_become_warnings(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = ClientLog(logging.getLogger("posrisk.test.picows"))
    with caplog.at_level(logging.INFO, logger="posrisk.test"):
        log.error("WS parser error: %s, initiate disconnect", ("too big",))
        try:
            raise RuntimeError("a bug of ours")
        except RuntimeError:
            log.exception("Unhandled exception from user's WSListener.on_ws_frame")
    levels = [(r.levelname, r.exc_info is not None) for r in caplog.records]
    assert levels == [("WARNING", False), ("ERROR", True)]  # a traceback is ours: ERROR


@pytest.mark.asyncio
@pytest.mark.timeout(30)
async def test_oversize_frames_log_a_bounded_number_of_lines(
    tmp_path: Path, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    settings = GatewaySettings(
        ping_interval_s=3600, pong_timeout_s=3600, max_frame_size=1024, client_log_lines=5
    )
    server = await make_server(tmp_path, keys, gateway=settings)
    try:
        with caplog.at_level(logging.INFO, logger="posrisk.gateway"):
            for _ in range(30):
                async with websockets.connect(server.ws_url, max_size=None) as ws:
                    await ws.send("x" * 2048)
                    with pytest.raises(websockets.ConnectionClosed):
                        await ws.recv()
            async with websockets.connect(server.ws_url) as ws:  # still serving
                assert (await ask(ws, "v2/account.position", signed()))["status"] == 200
    finally:
        await server.stop()
    lines = [r for r in caplog.records if r.name.startswith("posrisk.gateway.picows")]
    assert not [r for r in lines if r.levelno >= logging.ERROR]
    by_message: dict[str, int] = {}
    for record in lines:
        by_message[str(record.msg)] = by_message.get(str(record.msg), 0) + 1
    assert by_message and max(by_message.values()) <= 5, by_message
