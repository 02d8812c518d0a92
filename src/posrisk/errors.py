"""The root of every refusal posrisk raises (the client, which stands alone, has its own).

Each layer keeps its own classes (``EngineError``, ``WireError``, ``StoreError``,
``ServiceError``, ``BusError``, ...), all ``PosriskError``: Binance's ``code`` (or the
closest one), the HTTP ``status`` a surface answers with, and ``str(e)``, the full text
for an operator. Each surface translates the root once: the WS API and REST answer a
``WireError`` (``service.api``, ``service.rest``), the admin API ``{"code", "msg"}``
(``gateway.admin``), the CLI one ``error <code>: <text>`` line. This module imports
nothing: every layer may use it.
"""

from __future__ import annotations

__all__ = ["PosriskError"]


class PosriskError(Exception):
    """A refusal: ``code`` and ``status`` for the surfaces, ``str(e)`` for an operator."""

    code: int = -1000
    status: int = 400
