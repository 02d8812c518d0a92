"""The pytest plugin (registered as ``posrisk``): a posrisk server per test.

    def test_my_bot_sees_its_position(posrisk_server):
        key = posrisk_server.key("demo")
        ...

    @pytest.mark.posrisk(scenario="scenarios/near-liquidation.json", liquidate=True)
    def test_my_bot_survives_a_liquidation(posrisk_server): ...

``posrisk_server`` is a started ``PosriskTestServer`` (see ``posrisk.testing``), stopped
after the test. Its scenario is the ``posrisk`` marker's ``scenario`` (a dict or a file,
relative paths from the test file's folder), else the ``posrisk_scenario`` fixture's value
(override it in a conftest.py or a module), else the demo accounts with fresh keys. The
marker's other keywords go to ``serve``. Works for sync tests and for pytest-asyncio tests
alike (the server runs on a thread of its own): in pytest-asyncio's strict mode an
``async def`` test that asks for ``posrisk_server`` (itself or through a fixture of yours)
is marked ``asyncio`` for you, unless it carries another framework's marker (``anyio``,
``trio``); in auto mode pytest-asyncio runs it anyway.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import PosriskTestServer, serve


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "posrisk(scenario=None, **options): the scenario and options of posrisk_server",
    )


# Markers that say which framework runs an async test (pytest-asyncio's, anyio's, trio's).
_ASYNC_MARKERS = ("asyncio", "anyio", "trio")


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_pycollect_makeitem(
    collector: pytest.Module | pytest.Class, name: str, obj: object
) -> Any:
    """Mark an unmarked ``async def`` test that uses ``posrisk_server`` for pytest-asyncio,
    before pytest-asyncio's own wrapper (an outer one) looks for the marker."""
    result = yield
    if not inspect.iscoroutinefunction(obj) or not collector.config.pluginmanager.has_plugin(
        "asyncio"
    ):
        return result
    for item in result if isinstance(result, list) else [result]:
        if (
            isinstance(item, pytest.Function)
            and "posrisk_server" in item.fixturenames
            and not any(item.get_closest_marker(m) for m in _ASYNC_MARKERS)
        ):
            item.add_marker("asyncio")
    return result


@pytest.fixture
def posrisk_scenario() -> Any:
    """The scenario ``posrisk_server`` loads when no ``posrisk`` marker gives one: None
    (the demo accounts). Override it to give yours (a dict or a path)."""
    return None


@pytest.fixture
def posrisk_server(
    request: pytest.FixtureRequest, posrisk_scenario: Any
) -> Iterator[PosriskTestServer]:
    """A posrisk server on a free loopback port, stopped after the test."""
    options: dict[str, Any] = {}
    scenario = posrisk_scenario
    marker = request.node.get_closest_marker("posrisk")
    if marker is not None:
        options = dict(marker.kwargs)
        if marker.args:
            options.setdefault("scenario", marker.args[0])
        scenario = options.pop("scenario", scenario)
    if isinstance(scenario, str | Path) and not Path(scenario).is_absolute():
        scenario = Path(request.path).parent / scenario
    with serve(scenario, **options) as server:
        yield server
