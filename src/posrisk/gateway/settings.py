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
    # Unsent output of one connection (bytes). Above ``output_pause_bytes`` a WS API
    # connection is neither read nor answered until it drains below ``output_resume_bytes``
    # (an all-symbol hedge-mode account.position answer is ~250 kB); above
    # ``output_max_bytes`` any connection is dropped.
    output_pause_bytes: int = 1 << 20
    output_resume_bytes: int = 256 << 10
    output_max_bytes: int = 4 << 20
    # Per WS API connection: requests awaiting the shared limiter's decision, and bytes of
    # requests read but held back while its output drains.
    max_requests_in_flight: int = 8
    max_waiting_bytes: int = 1 << 20
    # Share the port with other processes (SO_REUSEPORT): ``serve --workers N``.
    reuse_port: bool = False
    # Who may see the dashboard (``GET /``): "loopback" clients, "any" client, or "off".
    dashboard: str = "loopback"
    # How often the dashboard's viewers are sent what moved.
    dashboard_interval_s: float = 0.25
