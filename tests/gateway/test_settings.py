"""Gateway settings whose bounds cannot work together are refused, naming the numbers."""

from __future__ import annotations

import pytest

from posrisk.gateway.settings import GatewaySettings


def test_the_defaults_hold_together() -> None:
    settings = GatewaySettings()
    assert settings.output_resume_bytes < settings.output_pause_bytes < settings.output_max_bytes
    assert settings.max_connections_per_ip is None  # derived from RLIMIT_NOFILE at start


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"output_pause_bytes": 8 << 20}, "output_pause_bytes <= output_max_bytes"),
        ({"output_resume_bytes": 2 << 20}, "output_resume_bytes <= output_pause_bytes"),
        ({"max_waiting_bytes": 1000}, "must hold one frame"),
        ({"max_requests_in_flight": 0}, "max_requests_in_flight must be at least 1"),
        ({"stream_attempts": 0}, "stream_attempts must be at least 1"),
        ({"max_connections_per_ip": 0}, "max_connections_per_ip must be at least 1"),
    ],
)
def test_bounds_that_cannot_work_are_refused(overrides: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GatewaySettings(**overrides)  # type: ignore[arg-type]
