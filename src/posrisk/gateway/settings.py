"""What a gateway can be told: timings, limits and bounds per connection and per IP.

Every number a client's cost is bounded by is here, with Binance's value where Binance
has one (SPEC §7: pings, pong timeout, lifetime; stream connections per IP and frames per
second from Binance's WebSocket stream limits).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..protocol import DEFAULT_MAX_FRAGMENTS

__all__ = ["GatewaySettings"]


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    # Server ping interval and how long a pong may take (SPEC §7: 3 and 10 minutes).
    ping_interval_s: float = 180.0
    pong_timeout_s: float = 600.0
    # Largest frame, and message, accepted (python-binance's own limit is 1 MiB).
    max_frame_size: int = 1 << 20
    # Most frames one message may arrive in (empty continuations cost memory too).
    max_fragments: int = DEFAULT_MAX_FRAGMENTS
    handshake_timeout_s: float = 10.0
    # How often listenKeys are checked for expiry (their lifetime is the streams' TTL).
    listen_key_check_s: float = 1.0
    # A connection lives at most this long (SPEC §7: 24 hours), checked at each ping round.
    max_lifetime_s: float = 24 * 3600.0
    # Open WS connections (API, streams, dashboard) allowed per IP at once; None: a
    # quarter of the file descriptors the process may open (RLIMIT_NOFILE), found at start.
    max_connections_per_ip: int | None = None
    # Stream and dashboard connections an IP may open per window, refused or not (Binance:
    # 300 connections every 5 minutes per IP), and frames each may send per second (10).
    stream_attempts: int = 300
    stream_attempts_window_s: float = 300.0
    stream_messages_per_s: int = 10
    # Binance serves each market stream on one path category only (/public or /market)
    # and user data on /private, silent elsewhere; by default every stream is served on
    # every path. True reproduces the silence (``serve --strict-stream-routes``).
    strict_stream_routes: bool = False
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
    # Plain HTTP (REST) connections: the largest request head and body (bytes), the
    # requests one connection may have read and not yet answered, and how long one with
    # nothing to answer stays open (a request must arrive whole within that time).
    http_max_head_bytes: int = 16 << 10
    http_max_body_bytes: int = 64 << 10
    http_max_pipelined: int = 16
    http_idle_timeout_s: float = 60.0
    # Log lines clients can cause: this many per message per interval, then a count.
    client_log_lines: int = 10
    client_log_interval_s: float = 60.0
    # Share the port with other processes (SO_REUSEPORT): ``serve --workers N``.
    reuse_port: bool = False
    # Who may see the dashboard (``GET /``): "loopback" clients, "any" client, or "off".
    dashboard: str = "loopback"
    # How often the dashboard's viewers are sent what moved.
    dashboard_interval_s: float = 0.25
    # Who may read ``/health`` and ``/metrics``: "loopback" clients, "any" client, or "off".
    monitoring: str = "loopback"
    # serve --workers N: this worker's index and the folder where the workers exchange
    # their /metrics figures (every ``metrics_share_s``), so any of them shows them all.
    worker: int = 0
    metrics_folder: str | None = None
    metrics_share_s: float = 1.0

    def __post_init__(self) -> None:
        """Bounds that cannot work together are refused here, naming the numbers."""
        for name in (
            "stream_attempts",
            "stream_messages_per_s",
            "max_requests_in_flight",
            "max_fragments",
            "http_max_head_bytes",
            "http_max_pipelined",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_connections_per_ip is not None and self.max_connections_per_ip < 1:
            raise ValueError(
                f"max_connections_per_ip must be at least 1, got {self.max_connections_per_ip}"
            )
        if not 0 <= self.output_resume_bytes <= self.output_pause_bytes <= self.output_max_bytes:
            raise ValueError(
                "need 0 <= output_resume_bytes <= output_pause_bytes <= output_max_bytes, got "
                f"{self.output_resume_bytes}, {self.output_pause_bytes}, {self.output_max_bytes}"
            )
        if self.max_waiting_bytes < self.max_frame_size:
            raise ValueError(
                f"max_waiting_bytes ({self.max_waiting_bytes}) must hold one frame of "
                f"max_frame_size ({self.max_frame_size})"
            )
