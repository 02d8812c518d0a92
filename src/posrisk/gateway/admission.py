"""Who may open a connection on the WS port, and what a refused one is told.

- A banned IP gets 418 (-1003, "IP banned until ...") on every path of the WS port.
- User data streams and dashboard viewers are charged as Binance charges stream
  connections: ``stream_attempts`` attempts per IP per ``stream_attempts_window_s``
  (300 per 5 minutes), then 429 (-1003). The WS API handshake costs REQUEST_WEIGHT 5
  instead (``ApiService``'s limiter).
- Open connections of every kind (WS API, streams, dashboard, plain HTTP) are capped per
  IP (429, -1003). By default the cap
  is a quarter of the file descriptors the process may open, so one IP can never take
  them all; ``open_file_limit`` first raises the soft RLIMIT_NOFILE to the hard one.
"""

from __future__ import annotations

import logging
import resource
from collections.abc import Callable
from http import HTTPStatus

from picows import WSUpgradeResponse, WSUpgradeResponseWithListener

from ..protocol import ConnectionAttempts, Limiter, WireError
from ..service.clock import Clock
from ..service.rest import error_response
from .settings import GatewaySettings

__all__ = [
    "Admission",
    "connections_per_ip",
    "error_refusal",
    "http_response",
    "open_file_limit",
]

log = logging.getLogger("posrisk.gateway")

Refusal = WSUpgradeResponseWithListener

# Without a limit on descriptors (RLIM_INFINITY), count as if there were this many.
_UNLIMITED = 1 << 20


class Admission:
    """The per-IP rules a handshake passes, and the places connections hold."""

    def __init__(self, settings: GatewaySettings, limiter: Limiter, clock: Clock) -> None:
        self.limiter = limiter
        self.clock = clock
        # The cap on open connections per IP: the setting's, or derived at ``start``.
        self.cap = settings.max_connections_per_ip or 0
        self._derive = settings.max_connections_per_ip is None
        # Open WS connections per IP (API, streams, dashboard).
        self.per_ip: dict[str, int] = {}
        # Stream and dashboard connection attempts per IP.
        self.attempts = ConnectionAttempts(
            settings.stream_attempts, int(settings.stream_attempts_window_s * 1000)
        )

    def __repr__(self) -> str:
        return f"<Admission {self.cap} per IP, {sum(self.per_ip.values())} open>"

    def start(self) -> None:
        """Derive the cap from RLIMIT_NOFILE (unless set), and say it once."""
        if self._derive:
            files = open_file_limit()
            self.cap = connections_per_ip(files)
            log.info(
                "at most %d WS connections per IP (a quarter of the %d file descriptors "
                "this process may open)",
                self.cap,
                files,
            )

    def banned(self, ip: str) -> Refusal | None:
        """418 while ``ip`` is banned."""
        now = self.clock.now_ms()
        until = self.limiter.banned_until(ip, now)
        if until is None:
            return None
        return error_refusal(WireError.ip_banned(until, now), now)

    def stream_attempt(self, ip: str) -> Refusal | None:
        """Count a stream (or dashboard) connection attempt: 429 past the allowance."""
        now = self.clock.now_ms()
        attempts = self.attempts
        retry_at = attempts.attempt(ip, now)
        if retry_at is None:
            return None
        window = _duration(attempts.interval_ms)
        msg = f"Too many new connections; current limit is {attempts.limit} per {window} per IP."
        return error_refusal(WireError(429, -1003, msg, {"retryAfter": retry_at}), now)

    def room(self, ip: str) -> Refusal | None:
        """429 if ``ip`` holds its cap of open connections (checked at the handshake,
        counted once connected: a handshake that fails never holds a place)."""
        msg = self.full(ip)
        if msg is None:
            return None
        return error_refusal(WireError(429, -1003, msg))

    def full(self, ip: str) -> str | None:
        """Why ``ip`` may open no other connection (its cap is reached), or None."""
        if self.per_ip.get(ip, 0) < self.cap:
            return None
        return f"Too many connections; current limit is {self.cap} per IP."

    def count(self, ip: str) -> None:
        self.per_ip[ip] = self.per_ip.get(ip, 0) + 1

    def release(self, ip: str) -> None:
        count = self.per_ip.get(ip, 0) - 1
        if count > 0:
            self.per_ip[ip] = count
        else:
            self.per_ip.pop(ip, None)


def open_file_limit(
    get: Callable[[int], tuple[int, int]] | None = None,
    set_: Callable[[int, tuple[int, int]], None] | None = None,
) -> int:
    """The descriptors this process may open, after raising the soft limit to the hard
    one where allowed (an unlimited hard limit is left alone: systems refuse it)."""
    get = get or resource.getrlimit
    set_ = set_ or resource.setrlimit
    soft, hard = get(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and (soft == resource.RLIM_INFINITY or soft < hard):
        try:
            set_(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


def connections_per_ip(open_files: int) -> int:
    """The default cap: a quarter of the descriptors, at least one."""
    if open_files == resource.RLIM_INFINITY or open_files > _UNLIMITED:
        open_files = _UNLIMITED
    return max(1, open_files // 4)


def http_response(status: int, body: bytes, headers: dict[str, str]) -> Refusal:
    """A plain HTTP answer on the WS port (no listener: picows closes after it)."""
    if status == 200:
        response = WSUpgradeResponse.create_ok_response(body, headers)
    else:
        response = WSUpgradeResponse.create_error_response(HTTPStatus(status), body, headers)
    return WSUpgradeResponseWithListener(response, None)


def error_refusal(error: WireError, now: int | None = None) -> Refusal:
    """A handshake refused as every HTTP refusal is (``rest.error_response``): Binance's
    code and message; given ``now``, a 429 or 418 with ``Retry-After``."""
    answer = error_response(error, now=now)
    return http_response(answer.status, answer.body, answer.headers)


def _duration(ms: int) -> str:
    units = (("day", 86_400_000), ("hour", 3_600_000), ("minute", 60_000), ("second", 1000))
    for unit, size in units:
        if ms % size == 0:
            count = ms // size
            return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
    return f"{ms} ms"
