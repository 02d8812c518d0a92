"""The client package stands alone: it is also used against the real Binance, where the
server's packages have no business being imported."""

from __future__ import annotations

import subprocess
import sys

import posrisk.client


def test_importing_the_client_imports_nothing_else_of_posrisk() -> None:
    code = (
        "import sys, posrisk.client, posrisk.client.admin\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('posrisk'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    outside = [
        name
        for name in done.stdout.split()
        if name != "posrisk" and not name.startswith("posrisk.client")
    ]
    assert outside == []


def test_every_public_name_is_exported() -> None:
    for name in posrisk.client.__all__:
        assert getattr(posrisk.client, name) is not None
    assert {"AdminError", "MarginType", "PositionSide", "PositionClient"} <= set(
        posrisk.client.__all__
    )
