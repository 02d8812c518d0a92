from decimal import Decimal

from posrisk.engine.funding import FundingSchedule, SymbolFunding, next_funding_time

D = Decimal
HOUR = 3_600_000


def test_funding_is_due_at_whole_intervals_from_midnight_utc() -> None:
    assert next_funding_time(0, 8) == 8 * HOUR
    assert next_funding_time(8 * HOUR - 1, 8) == 8 * HOUR
    assert next_funding_time(8 * HOUR, 8) == 16 * HOUR  # strictly after
    assert next_funding_time(5 * HOUR, 4) == 8 * HOUR


def test_a_schedule_gives_the_defaults_unless_a_symbol_differs() -> None:
    schedule = FundingSchedule({"ETHUSDT": SymbolFunding(D("0.05"), interval_hours=4)})
    assert schedule.of("BTCUSDT").clamped_rate == D("0.0001")
    assert schedule.of("BTCUSDT").is_default
    eth = schedule.of("ETHUSDT")
    assert eth.clamped_rate == D("0.02") and not eth.is_default  # clamped to the cap
    assert schedule.next_time("ETHUSDT", 5 * HOUR) == 8 * HOUR
    assert SymbolFunding(D("-0.5")).clamped_rate == D("-0.02")
