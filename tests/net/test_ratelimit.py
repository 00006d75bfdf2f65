"""The command rate limit, driven with explicit times: bursts, refills, clocks that step back, and
a property check that a bucket never allows more than its burst plus what the clock earned.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from net.ratelimit import TokenBucket


def test_a_full_bucket_allows_a_burst_then_refuses() -> None:
    bucket = TokenBucket(rate_per_s=10, burst=20)
    assert [bucket.allow(100.0) for _ in range(20)] == [True] * 20
    assert bucket.allow(100.0) is False
    assert bucket.allow(100.0) is False


def test_the_bucket_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate_per_s=10, burst=20)
    for _ in range(20):
        bucket.allow(0.0)
    assert bucket.allow(0.05) is False  # half a token
    assert bucket.allow(0.1) is True  # one whole token since t=0
    assert bucket.allow(0.1) is False
    assert [bucket.allow(0.4) for _ in range(4)] == [True, True, True, False]


def test_a_steady_client_at_the_rate_is_never_refused() -> None:
    bucket = TokenBucket(rate_per_s=10, burst=20)
    for _ in range(20):
        bucket.allow(0.0)
    assert all(bucket.allow(0.1 * step) for step in range(1, 1001))


def test_float_steps_that_add_to_a_whole_token_earn_it() -> None:
    bucket = TokenBucket(rate_per_s=10, burst=1)
    assert bucket.allow(0.2)
    assert bucket.allow(0.3)  # 0.3 - 0.2 is 0.09999999999999998 in floats


def test_an_idle_bucket_refills_to_its_burst_and_no_further() -> None:
    bucket = TokenBucket(rate_per_s=10, burst=20)
    for _ in range(20):
        bucket.allow(0.0)
    assert bucket.tokens(3600.0) == 20.0
    assert sum(bucket.allow(3600.0) for _ in range(50)) == 20


def test_a_fractional_rate_allows_one_action_every_few_seconds() -> None:
    bucket = TokenBucket(rate_per_s=0.5, burst=1)
    assert bucket.allow(10.0) is True
    assert bucket.allow(11.9) is False
    assert bucket.allow(12.0) is True
    assert bucket.allow(13.0) is False
    assert bucket.allow(14.0) is True


def test_a_fractional_burst_still_allows_one_action() -> None:
    bucket = TokenBucket(rate_per_s=1, burst=1.5)
    assert [bucket.allow(0.0), bucket.allow(0.0)] == [True, False]
    assert bucket.allow(0.5) is True  # 0.5 left + 0.5 earned


def test_time_going_backwards_grants_nothing_and_raises_nothing() -> None:
    bucket = TokenBucket(rate_per_s=10, burst=2)
    assert [bucket.allow(100.0), bucket.allow(100.0)] == [True, True]
    assert bucket.allow(50.0) is False  # the clock stepped back: no tokens from it
    assert bucket.allow(50.05) is False  # counting on from the new reading: half a token
    assert bucket.allow(50.1) is True
    assert bucket.tokens(0.0) == pytest.approx(0.0)


def test_a_bucket_starts_full_whatever_the_first_time() -> None:
    assert TokenBucket(rate_per_s=1, burst=3).tokens(-5.0) == 3.0


def test_an_action_may_cost_more_than_one_token() -> None:
    bucket = TokenBucket(rate_per_s=1, burst=5)
    assert bucket.allow(0.0, cost=3) is True
    assert bucket.allow(0.0, cost=3) is False
    assert bucket.allow(1.0, cost=3) is True


def test_retry_after_says_how_long_until_the_next_action_is_allowed() -> None:
    bucket = TokenBucket(rate_per_s=10, burst=1)
    assert bucket.retry_after(0.0) == 0.0
    bucket.allow(0.0)
    assert bucket.retry_after(0.0) == pytest.approx(0.1)
    assert bucket.retry_after(0.04) == pytest.approx(0.06)
    assert bucket.retry_after(5.0) == 0.0
    assert bucket.retry_after(5.0, cost=2) == math.inf  # more than the bucket ever holds


@pytest.mark.parametrize(
    ("rate", "burst"), [(0, 1), (-1, 1), (math.nan, 1), (math.inf, 1), (1, 0.5), (1, math.nan)]
)
def test_a_bucket_that_could_never_allow_anything_sensible_is_refused(
    rate: float, burst: float
) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate_per_s=rate, burst=burst)


@pytest.mark.parametrize("now", [math.nan, math.inf, -math.inf])
def test_a_time_that_is_not_finite_is_refused(now: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        TokenBucket().allow(now)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=1, max_size=80))
def test_a_bucket_never_allows_more_than_its_burst_plus_what_the_clock_earned(
    times: list[float],
) -> None:
    bucket = TokenBucket(rate_per_s=10, burst=20)
    allowed, earned, last = 0, 0.0, times[0]
    for now in times:
        earned += max(0.0, now - last) * 10
        last = now
        allowed += bucket.allow(now)
        assert allowed <= 20 + earned + 1e-6
        assert 0.0 <= bucket.tokens(now) <= 20.0
