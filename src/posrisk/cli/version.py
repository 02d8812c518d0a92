"""``posrisk version``."""

from __future__ import annotations

from .. import __version__
from .common import out

__all__ = ["version"]


def version() -> None:
    """Print the version."""
    out.print(__version__)
