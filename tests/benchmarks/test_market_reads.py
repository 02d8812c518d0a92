"""``benchmarks.market_reads`` runs: its services answer every read it measures with a
200 on a small market (no timing asserted)."""

from __future__ import annotations

import pytest
from benchmarks.market_reads import build, main, per_request


def test_every_read_it_measures_is_answered() -> None:
    rest, registry, _ = build(symbols=5, minutes=30)
    assert len(registry.marks) == 5
    for path, query in (
        ("/fapi/v1/ticker/24hr", ""),
        ("/fapi/v1/premiumIndex", ""),
        ("/fapi/v1/ticker/bookTicker", ""),
    ):
        assert per_request(rest, path, query, 2) >= 0


def test_main_prints_every_figure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        "sys.argv", ["market_reads", "--symbols", "345", "--minutes", "3", "--requests", "1"]
    )
    main()
    printed = capsys.readouterr().out
    assert "ticker/24hr (all)" in printed and "klines 1M x1500" in printed
