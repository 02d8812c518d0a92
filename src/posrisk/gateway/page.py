"""The dashboard page (``GET /``) and the headers it is served with.

The page is one file, ``dashboard.html``, with one inline ``<style>`` and one inline
``<script>``. Its Content-Security-Policy allows exactly those two (by their SHA-256, taken
when the page is loaded), a WebSocket back to where the page came from (``connect-src
'self'``) and nothing else: no other script, style, image, frame, form or base URL, and no
page may frame it (``frame-ancestors 'none'``, and ``X-Frame-Options: DENY`` for browsers
that predate it).
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from importlib import resources

__all__ = ["DashboardPage"]

_INLINE = {tag: re.compile(rf"<{tag}>(.*?)</{tag}>", re.DOTALL) for tag in ("script", "style")}


@dataclass(frozen=True, slots=True)
class DashboardPage:
    body: bytes
    headers: dict[str, str]

    @classmethod
    def load(cls) -> DashboardPage:
        return cls.of((resources.files(__package__) / "dashboard.html").read_bytes())

    @classmethod
    def of(cls, body: bytes) -> DashboardPage:
        """``body`` served with a policy that allows its own inline script and style."""
        text = body.decode()
        sources = {tag: " ".join(_hashes(p, text)) or "'none'" for tag, p in _INLINE.items()}
        policy = "; ".join(
            [
                "default-src 'none'",
                f"script-src {sources['script']}",
                f"style-src {sources['style']}",
                "connect-src 'self'",
                "base-uri 'none'",
                "form-action 'none'",
                "frame-ancestors 'none'",
            ]
        )
        return cls(
            body,
            {
                "Content-Type": "text/html; charset=utf-8",
                "Content-Security-Policy": policy,
                "X-Frame-Options": "DENY",
                "X-Content-Type-Options": "nosniff",
            },
        )


def _hashes(pattern: re.Pattern[str], text: str) -> list[str]:
    digests = (hashlib.sha256(found.encode()).digest() for found in pattern.findall(text))
    return [f"'sha256-{base64.b64encode(digest).decode()}'" for digest in digests]
