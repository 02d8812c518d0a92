import pytest
from hypothesis import given
from hypothesis import strategies as st

from posrisk.protocol import (
    DEFAULT_METHOD_WEIGHTS,
    Allow,
    Ban,
    LimitRules,
    Throttle,
    WindowState,
    ban_duration,
    decide,
    interval_label,
    retry_after,
    window_start,
)

T0 = 1_702_920_660_000  # a whole minute
assert T0 % 60_000 == 0


def test_windows_align_to_whole_minutes() -> None:
    assert window_start(T0) == T0
    assert window_start(T0 + 59_999) == T0
    assert window_start(T0 + 60_000) == T0 + 60_000
    assert window_start(T0 - 1) == T0 - 60_000
    assert retry_after(T0 + 12_345) == T0 + 60_000
    assert retry_after(T0) == T0 + 60_000


def test_custom_one_second_window() -> None:
    assert window_start(1_234_567, 1000) == 1_234_000
    assert retry_after(1_234_567, 1000) == 1_235_000
    rules = LimitRules(request_weight=10, interval_ms=1000)
    assert rules.label() == ("SECOND", 1)
    state, decision = decide(rules, None, 1_234_567, 10)
    assert decision == Allow(10)
    state, decision = decide(rules, state, 1_234_999, 1)
    assert decision == Throttle(10, 1_235_000)
    state, decision = decide(rules, state, 1_235_000, 1)
    assert decision == Allow(1)
    assert state == WindowState(1_235_000, 1, 0)


@given(st.integers(min_value=0, max_value=2**50), st.sampled_from([1000, 60_000, 3_600_000]))
def test_window_properties(now: int, interval: int) -> None:
    start = window_start(now, interval)
    assert start <= now < start + interval
    assert start % interval == 0
    assert retry_after(now, interval) == start + interval


def test_interval_labels() -> None:
    assert interval_label(60_000) == ("MINUTE", 1)
    assert interval_label(1000) == ("SECOND", 1)
    assert interval_label(10_000) == ("SECOND", 10)
    assert interval_label(300_000) == ("MINUTE", 5)
    assert interval_label(3_600_000) == ("HOUR", 1)
    assert interval_label(86_400_000) == ("DAY", 1)
    with pytest.raises(ValueError, match="whole number of seconds"):
        interval_label(1500)


def test_default_rules_and_weights() -> None:
    rules = LimitRules()
    assert (rules.request_weight, rules.interval_ms, rules.handshake_weight) == (2400, 60_000, 5)
    assert (rules.ban_after_rejections, rules.ban_base_ms, rules.ban_max_ms) == (
        10,
        120_000,
        259_200_000,
    )
    assert rules.weight("account.position") == 5
    assert rules.weight("v2/account.position") == 5
    assert rules.weight("session.logon") == 2
    assert rules.weight("session.status") == 2
    assert rules.weight("session.logout") == 2
    for method in ("userDataStream.start", "userDataStream.ping", "userDataStream.stop"):
        assert rules.weight(method) == 1
    assert rules.weight("no.such.method") == 1
    assert rules.method_weights == DEFAULT_METHOD_WEIGHTS


def test_method_weights_are_configurable() -> None:
    rules = LimitRules(method_weights={"account.position": 10}, default_weight=3)
    assert rules.weight("account.position") == 10
    assert rules.weight("v2/account.position") == 3


@pytest.mark.parametrize(
    "kwargs",
    [
        {"request_weight": 0},
        {"interval_ms": 0},
        {"interval_ms": 1500},
        {"ban_after_rejections": 0},
        {"ban_base_ms": 0},
        {"ban_max_ms": 1000},
        {"handshake_weight": -1},
        {"method_weights": {"account.position": -5}},
    ],
)
def test_nonsense_rules_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        LimitRules(**kwargs)  # type: ignore[arg-type]


def test_counts_weight_and_resets_each_window() -> None:
    rules = LimitRules()
    state, decision = decide(rules, None, T0 + 10, rules.handshake_weight)
    assert decision == Allow(5)
    for expected in (10, 15, 20):
        state, decision = decide(rules, state, T0 + 20, rules.weight("account.position"))
        assert decision == Allow(expected)
    assert state == WindowState(T0, 20, 0)
    state, decision = decide(rules, state, T0 + 60_000, 5)
    assert decision == Allow(5)
    assert state == WindowState(T0 + 60_000, 5, 0)


def test_up_to_the_limit_is_allowed_then_429_with_the_count_as_it_stands() -> None:
    rules = LimitRules()
    state = WindowState(T0, 2395, 0)
    state, decision = decide(rules, state, T0 + 1, 5)
    assert decision == Allow(2400)
    state, decision = decide(rules, state, T0 + 2, 5)
    assert decision == Throttle(2400, T0 + 60_000)
    assert state == WindowState(T0, 2400, 1)


def test_a_lighter_request_that_fits_after_a_429_is_allowed() -> None:
    rules = LimitRules()
    state, decision = decide(rules, WindowState(T0, 2397, 0), T0, 5)
    assert decision == Throttle(2397, T0 + 60_000)
    state, decision = decide(rules, state, T0, 1)
    assert decision == Allow(2398)
    assert state.rejected == 1


def test_the_tenth_further_request_after_a_429_bans() -> None:
    rules = LimitRules()
    state = WindowState(T0, 2400, 0)
    state, decision = decide(rules, state, T0 + 5, 5)
    assert decision == Throttle(2400, T0 + 60_000)  # the first 429
    for further in range(1, 10):
        state, decision = decide(rules, state, T0 + 5 + further, 5)
        assert decision == Throttle(2400, T0 + 60_000), further
    assert state.rejected == 10
    state, decision = decide(rules, state, T0 + 100, 5)  # the 10th further request
    assert decision == Ban(2400)
    assert state == WindowState(T0, 2400, 0)


def test_refusals_in_an_earlier_window_do_not_count() -> None:
    rules = LimitRules()
    state = WindowState(T0, 2400, 9)
    state, decision = decide(rules, state, T0 + 60_000, 2400)
    assert decision == Allow(2400)
    state, decision = decide(rules, state, T0 + 60_001, 1)
    assert decision == Throttle(2400, T0 + 120_000)
    assert state.rejected == 1


def test_custom_ban_threshold() -> None:
    rules = LimitRules(request_weight=1, ban_after_rejections=2)
    state, decisions = None, []
    for _ in range(5):
        state, decision = decide(rules, state, T0, 1)
        decisions.append(type(decision))
    assert decisions == [Allow, Throttle, Throttle, Ban, Throttle]


def test_a_request_heavier_than_the_limit_is_never_allowed() -> None:
    rules = LimitRules(request_weight=4)
    assert decide(rules, None, T0, 5)[1] == Throttle(0, T0 + 60_000)


def test_ban_ladder_doubles_up_to_three_days() -> None:
    rules = LimitRules()
    minutes = [ban_duration(rules, offence) // 60_000 for offence in range(1, 15)]
    assert minutes == [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 4320, 4320]
    assert ban_duration(rules, 10**6) == 3 * 24 * 3600 * 1000
    with pytest.raises(ValueError):
        ban_duration(rules, 0)


def test_custom_ladder() -> None:
    rules = LimitRules(ban_base_ms=1000, ban_max_ms=5000)
    assert [ban_duration(rules, n) for n in range(1, 6)] == [1000, 2000, 4000, 5000, 5000]


@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=3000), st.integers(min_value=0, max_value=20)),
        max_size=60,
    )
)
def test_count_never_exceeds_the_limit(steps: list[tuple[int, int]]) -> None:
    rules = LimitRules(request_weight=50, ban_after_rejections=3)
    state, now = None, T0
    for delta, weight in steps:
        now += delta
        before = state
        state, decision = decide(rules, state, now, weight)
        assert state.count <= rules.request_weight
        assert state.window == window_start(now)
        if isinstance(decision, Allow):
            previous = before.count if before and before.window == state.window else 0
            assert decision.count == state.count == previous + weight
        elif isinstance(decision, Throttle):
            assert decision.retry_after == state.window + 60_000
            assert 1 <= state.rejected <= rules.ban_after_rejections
        else:
            assert state.rejected == 0
