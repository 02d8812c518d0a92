"""Who may see what is not the API: the dashboard (``/``, ``/dashboard/ws``) and the
operator's endpoints (``/health``, ``/metrics``).

Each has an audience: ``loopback`` clients (the default), ``any`` client, or ``off``.
A client outside the audience is answered as for an unknown path. Inside it, a browser is
checked too, because a page open in a browser on the host is a loopback client:

- ``Origin``, when sent (browsers always send it on a WebSocket handshake and on a
  cross-origin ``fetch``), must be this very server as the page addressed it: ``http://``
  or ``https://`` and the request's ``Host``. No ``Origin`` is a program, not a page.
- With ``loopback``, ``Host`` must name this host by a loopback name (``localhost``,
  ``*.localhost``) or an IP address: a page whose own name was made to resolve to
  127.0.0.1 (DNS rebinding) is its own origin and passes the ``Origin`` check, but it
  cannot choose the ``Host`` its browser sends.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

__all__ = ["AUDIENCES", "admits", "browser_refusal", "is_loopback"]

# Who may see a page: loopback clients, any client, or nobody.
AUDIENCES = ("loopback", "any", "off")
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def is_loopback(ip: str) -> bool:
    return ip.startswith(("127.", "::ffff:127.")) or ip == "::1"


def admits(audience: str, ip: str) -> bool:
    """Whether a client at ``ip`` is in ``audience``."""
    return audience == "any" or (audience == "loopback" and is_loopback(ip))


def browser_refusal(headers: Mapping[str, str], audience: str) -> str | None:
    """Why a request from inside ``audience`` is refused (None: it is not), from its
    ``Host`` and ``Origin`` headers (``headers`` looks names up case-insensitively)."""
    host = headers.get("Host", "").strip().lower()
    if audience == "loopback" and host and not _loopback_name(host):
        return (
            f"Host {host[:100]!r} is not a loopback address: open this server as localhost "
            "or 127.0.0.1 (posrisk serve --dashboard any / --monitoring any serve it "
            "under any name)."
        )
    origin = headers.get("Origin")
    if origin is not None and not _same_origin(origin.strip().lower(), host):
        return f"Origin {origin[:100]!r} is not this server ({host[:100] or 'no Host'})."
    return None


def _loopback_name(host: str) -> bool:
    """``host`` (a Host header, lower case) is localhost, a name under .localhost, or an
    IP address: nothing DNS could make point here."""
    if host.startswith("["):
        name = host[1 : host.find("]")] if "]" in host else ""
    else:
        name = host.rpartition(":")[0] if ":" in host else host
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _same_origin(origin: str, host: str) -> bool:
    """``origin`` (lower case) is ``http://`` or ``https://`` and ``host``, the default
    port of the scheme written or not."""
    scheme, separator, authority = origin.partition("://")
    if not separator or scheme not in _DEFAULT_PORTS or not host:
        return False
    port = _DEFAULT_PORTS[scheme]
    return host in (authority, f"{authority}:{port}") or authority == f"{host}:{port}"
