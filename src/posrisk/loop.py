"""The event loop a server, a worker and the command line run on."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

__all__ = ["run_event_loop"]


def run_event_loop(coro: Awaitable[None]) -> None:
    """Run ``coro`` on uvloop where it is installed (a server's and a worker's loop)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux/macOS
        asyncio.run(coro)  # type: ignore[arg-type]
    else:
        uvloop.run(coro)  # type: ignore[arg-type]
