"""What a gateway can be told: timings, limits and bounds per connection and per IP."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GatewaySettings"]


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    # Server ping interval and how long a pong may take (SPEC §7: 3 and 10 minutes).
    ping_interval_s: float = 180.0
    pong_timeout_s: float = 600.0
    # Largest frame accepted (python-binance's own limit is 1 MiB).
    max_frame_size: int = 1 << 20
    handshake_timeout_s: float = 10.0
    # How often listenKeys are checked for expiry (their lifetime is the streams' TTL).
    listen_key_check_s: float = 1.0
    # A connection lives at most this long (SPEC §7: 24 hours), checked at each ping round.
    max_lifetime_s: float = 24 * 3600.0
    # Open WS connections (API and streams) allowed per IP at once.
    max_connections_per_ip: int = 10_000
    # Share the port with other processes (SO_REUSEPORT): ``serve --workers N``.
    reuse_port: bool = False
    # Who may see the dashboard (``GET /``): "loopback" clients, "any" client, or "off".
    dashboard: str = "loopback"
    # How often the dashboard's viewers are sent what moved.
    dashboard_interval_s: float = 0.25
