"""``posrisk serve``'s options become the server's settings in one place."""

from __future__ import annotations

import inspect
from typing import Any

from posrisk.cli.serve import serve
from posrisk.cli.serve_options import server_settings


def defaults() -> dict[str, Any]:
    """Every option of ``serve`` at its default, by parameter name."""
    return {name: p.default for name, p in inspect.signature(serve).parameters.items()}


def test_strict_stream_routes_reach_the_gateway() -> None:
    options = defaults()
    assert options["strict_stream_routes"] is False
    assert server_settings(options).gateway.strict_stream_routes is False
    options["strict_stream_routes"] = True
    settings = server_settings(options)
    assert settings.gateway.strict_stream_routes is True
    assert (settings.gateway.dashboard, settings.gateway.monitoring) == ("loopback", "loopback")
