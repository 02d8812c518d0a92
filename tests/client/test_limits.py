from posrisk.client.limits import RateLimitTracker, RateLimitUsage

WINDOW = 1_700_000_040_000  # a minute boundary


def entry(
    count: int, limit: int = 2400, interval: str = "MINUTE", number: int = 1
) -> list[dict[str, object]]:
    return [
        {
            "rateLimitType": "REQUEST_WEIGHT",
            "interval": interval,
            "intervalNum": number,
            "limit": limit,
            "count": count,
        }
    ]


def test_usage_follows_the_last_rate_limits_in_clock_aligned_windows() -> None:
    tracker = RateLimitTracker()
    assert tracker.usage(WINDOW) is None and tracker.wait_ms(5, WINDOW) == 0
    tracker.observe(entry(2390), WINDOW + 10_000)
    usage = tracker.usage(WINDOW + 20_000)
    assert usage == RateLimitUsage(2390, 2400, 60_000, WINDOW)
    assert (usage.remaining, usage.resets_at) == (10, WINDOW + 60_000)
    assert tracker.wait_ms(10, WINDOW + 20_000) == 0
    assert tracker.wait_ms(11, WINDOW + 20_000) == 40_000
    tracker.spend(5, WINDOW + 20_000)
    assert tracker.wait_ms(6, WINDOW + 20_000) == 40_000
    # A new window forgets the old count.
    assert tracker.usage(WINDOW + 60_000) == RateLimitUsage(0, 2400, 60_000, WINDOW + 60_000)
    assert tracker.wait_ms(2400, WINDOW + 60_000) == 0


def test_other_limits_and_junk_are_ignored() -> None:
    tracker = RateLimitTracker()
    tracker.observe(
        [
            {
                "rateLimitType": "ORDERS",
                "interval": "SECOND",
                "intervalNum": 10,
                "limit": 300,
                "count": 299,
            },
            "junk",
            {"rateLimitType": "REQUEST_WEIGHT"},
        ],
        WINDOW,
    )
    tracker.observe(None, WINDOW)
    assert tracker.usage(WINDOW) is None
    tracker.observe(entry(3, 10, "SECOND", 1), WINDOW + 500)
    assert tracker.usage(WINDOW + 999) == RateLimitUsage(3, 10, 1000, WINDOW)
    assert tracker.wait_ms(8, WINDOW + 999) == 1
