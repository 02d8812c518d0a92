"""Stream connection attempts per IP (issue 13 A.4), as values in and out."""

from __future__ import annotations

import pytest

from posrisk.protocol.limits import ConnectionAttempts


def test_attempts_per_ip_per_clock_aligned_window() -> None:
    attempts = ConnectionAttempts(2, 300_000)
    now = 1_700_000_200_000  # the window started at 1_700_000_100_000
    assert attempts.attempt("a", now) is None
    assert attempts.attempt("a", now + 1) is None
    assert attempts.attempt("a", now + 2) == 1_700_000_400_000  # refused until the next
    assert attempts.attempt("a", now + 3) == 1_700_000_400_000  # refusals do not count
    assert attempts.attempt("b", now + 4) is None  # per IP
    assert attempts.attempt("a", 1_700_000_400_000) is None  # a new window


def test_old_windows_are_forgotten() -> None:
    attempts = ConnectionAttempts(1, 1000)
    for n in range(100):
        attempts.attempt(f"10.0.0.{n}", 5_000)
    attempts.attempt("10.0.0.1", 6_000)
    assert len(attempts._counts) == 1


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        ConnectionAttempts(0, 1000)
