"""The blocking client's construction failures stay readable."""

from __future__ import annotations

import pytest

from posrisk.client import PositionClient
from posrisk.client.sync import SyncPositionClient


def test_a_client_that_could_not_be_made_still_shows_itself() -> None:
    with pytest.raises(TypeError, match="url"):
        PositionClient.sync()  # no URL: refused by PositionClient itself
    unconnected = SyncPositionClient.__new__(SyncPositionClient)
    assert repr(unconnected) == "<SyncPositionClient unconnected>"
