"""Connection URLs as people may see them."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = ["past_credentials", "redacted"]


def redacted(url: str) -> str:
    """``url`` without its password (for logs and banners)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def past_credentials(url: str) -> str:
    """``url`` from its host on when it names a user, else whole: how ``posrisk db`` names
    a database it migrated or copied (never with a password)."""
    return url.split("@")[-1]
