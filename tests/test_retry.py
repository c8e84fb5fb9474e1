"""The reconnection delay policy, as a pure value."""

from __future__ import annotations

import math

import pytest

from eventsource import ResponseInfo, RetryPolicy, retry_transient
from eventsource._retry import ZERO_RETRY_FLOOR


@pytest.mark.parametrize(
    ("failures", "expected"),
    [(0, 1.0), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (50, 10.0)],
)
def test_delay_doubles_per_consecutive_failure_up_to_the_cap(
    failures: int, expected: float
) -> None:
    policy = RetryPolicy(backoff_factor=2.0, max_backoff=10.0, jitter=0.0)
    assert policy.delay(1.0, failures) == expected


def test_a_base_above_the_cap_is_still_honoured() -> None:
    assert RetryPolicy(max_backoff=5.0, jitter=0.0).delay(60.0, 3) == 60.0


def test_factor_one_is_the_browsers_constant_delay() -> None:
    policy = RetryPolicy(backoff_factor=1.0, jitter=0.0)
    assert [policy.delay(3.0, n) for n in (1, 2, 10)] == [3.0, 3.0, 3.0]


def test_jitter_removes_up_to_its_fraction() -> None:
    policy = RetryPolicy(backoff_factor=1.0, jitter=0.5)
    assert policy.delay(2.0, 1, lambda: 0.0) == 2.0
    assert policy.delay(2.0, 1, lambda: 1.0) == 1.0
    assert policy.delay(2.0, 1, lambda: 0.5) == 1.5


def test_jitter_with_the_default_random_source_stays_in_range() -> None:
    policy = RetryPolicy(backoff_factor=1.0, jitter=0.2)
    assert all(1.6 <= policy.delay(2.0, 1) <= 2.0 for _ in range(200))


@pytest.mark.parametrize(("server", "expected"), [(0.0, 0.5), (1.0, 1.0), (100.0, 20.0)])
def test_server_retry_is_clamped_to_floor_and_ceiling(server: float, expected: float) -> None:
    policy = RetryPolicy(min_retry=0.5, max_retry=20.0)
    assert policy.clamp_server_retry(server) == expected


def test_server_retry_without_ceiling_is_only_floored() -> None:
    assert RetryPolicy(max_retry=None).clamp_server_retry(3600.0) == 3600.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"backoff_factor": 0.5},
        {"max_backoff": -1.0},
        {"min_retry": -1.0},
        {"jitter": 1.5},
        {"jitter": -0.1},
        {"min_retry": 2.0, "max_retry": 1.0},
        {"backoff_factor": math.nan},
        {"backoff_factor": math.inf},
        {"max_backoff": math.nan},
        {"max_backoff": math.inf},
        {"min_retry": math.nan},
        {"max_retry": math.nan},
        {"max_retry": math.inf},
    ],
)
def test_invalid_settings_raise_value_error(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each message differs
        RetryPolicy(**kwargs)


def test_a_zero_base_reconnects_at_once_then_grows_from_the_floor() -> None:
    # A server's `retry: 0`: the browser reconnects at once; failures after that
    # must slow down, though zero times any factor is zero.
    policy = RetryPolicy(backoff_factor=2.0, max_backoff=1.0, jitter=0.0)
    delays = [policy.delay(0.0, n) for n in range(1, 8)]
    assert delays == [0.0, ZERO_RETRY_FLOOR, 0.2, 0.4, 0.8, 1.0, 1.0]


def test_a_zero_base_with_the_browsers_constant_factor_still_waits_the_floor() -> None:
    policy = RetryPolicy(backoff_factor=1.0, jitter=0.0)
    assert [policy.delay(0.0, n) for n in (1, 2, 50)] == [0.0, ZERO_RETRY_FLOOR, ZERO_RETRY_FLOOR]


def test_a_zero_base_backs_off_from_max_backoff_when_that_is_lower_than_the_floor() -> None:
    policy = RetryPolicy(max_backoff=0.01, jitter=0.0)
    assert [policy.delay(0.0, n) for n in (1, 2, 3)] == [0.0, 0.01, 0.01]


@pytest.mark.parametrize("failures", [1025, 1100, 10**6, 10**18])
@pytest.mark.parametrize("base", [0.0, 0.001, 3.0])
def test_no_count_of_failures_overflows_the_delay(base: float, failures: int) -> None:
    # The power was computed before the cap: 2.0 ** 1024 raised OverflowError.
    assert RetryPolicy(jitter=0.0).delay(base, failures) == 30.0
    assert 15.0 <= RetryPolicy().delay(base, failures) <= 30.0


def test_a_huge_factor_does_not_overflow_either() -> None:
    policy = RetryPolicy(backoff_factor=1e300, max_backoff=5.0, jitter=0.0)
    assert [policy.delay(1.0, n) for n in (1, 2, 3, 4)] == [1.0, 5.0, 5.0, 5.0]


@pytest.mark.parametrize("fraction", [0.0, 0.5, 1.0])
def test_an_infinite_base_waits_for_ever_under_jitter_not_nan(fraction: float) -> None:
    # A `retry:` of 400 digits is inf seconds (max_retry=None): inf less a part of
    # inf was NaN, which anyio.sleep refuses with a ValueError.
    policy = RetryPolicy(jitter=1.0, max_retry=None)
    assert policy.delay(math.inf, 1, lambda: fraction) == math.inf
    assert policy.delay(math.inf, 5, lambda: fraction) == math.inf


@pytest.mark.parametrize(
    ("at_least", "fraction", "expected"),
    [(10.0, 0.0, 10.0), (10.0, 1.0, 15.0), (10.0, 0.5, 12.5), (0.5, 1.0, 1.0)],
)
def test_jitter_is_added_to_a_minimum_rather_than_taken_from_it(
    at_least: float, fraction: float, expected: float
) -> None:
    # Many clients given one Retry-After must not all come back at that instant.
    policy = RetryPolicy(jitter=0.5)
    assert policy.delay(1.0, 2, lambda: fraction, at_least=at_least) == expected


@pytest.mark.parametrize(("fraction", "expected"), [(0.0, 300.0), (0.5, 375.0), (1.0, 450.0)])
def test_a_retry_after_over_the_cap_waits_at_most_the_cap_plus_the_jitter_fraction(
    fraction: float, expected: float
) -> None:
    # What docs/reconnection.md promises: honoured up to max_retry_after, and
    # jitter (0.5 by default) adds up to half of that: 450 s at most.
    capped = retry_transient()(ResponseInfo(503, {"Retry-After": "100000"}, "http://a.test/"))
    assert capped == 300.0
    assert RetryPolicy().delay(3.0, 1, lambda: fraction, at_least=capped) == expected


@pytest.mark.parametrize("at_least", [math.nan, -5.0, 0.0])
def test_a_minimum_that_is_nan_or_not_positive_is_ignored(at_least: float) -> None:
    policy = RetryPolicy(jitter=0.0)
    assert policy.delay(2.0, 2, at_least=at_least) == 4.0


def test_a_minimum_of_inf_waits_for_ever() -> None:
    assert RetryPolicy().delay(1.0, 1, lambda: 0.5, at_least=math.inf) == math.inf


@pytest.mark.parametrize("base", [0.0, 0.001, 0.02, 3.0, 45.0])
def test_failures_in_a_row_never_wait_less(base: float) -> None:
    exact = RetryPolicy(jitter=0.0)
    delays = [exact.delay(base, n) for n in range(1, 40)]
    assert delays == sorted(delays)
    assert delays[-1] == max(base, 30.0)
    # With the default jitter (up to half off), while the delay still grows the
    # shortest wait after n + 1 failures is not below the longest after n.
    policy = RetryPolicy()
    for n in range(1, 40):
        if exact.delay(base, n + 1) >= 30.0:
            break
        assert policy.delay(base, n + 1, lambda: 1.0) >= policy.delay(base, n, lambda: 0.0)


def test_the_defaults_spread_clients_and_bound_the_servers_retry() -> None:
    policy = RetryPolicy()
    assert (policy.backoff_factor, policy.max_backoff) == (2.0, 30.0)
    assert policy.jitter == 0.5
    assert (policy.min_retry, policy.max_retry) == (0.5, 60.0)
    assert policy.clamp_server_retry(3600.0) == 60.0
    # Issue 13: a server's `retry: 0` brought every client back at once, each time.
    assert policy.clamp_server_retry(0.0) == 0.5
    assert RetryPolicy(min_retry=0.0).clamp_server_retry(0.0) == 0.0  # yours to choose
