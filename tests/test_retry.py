"""The reconnection delay policy, as a pure value."""

from __future__ import annotations

import pytest

from eventsource import RetryPolicy


@pytest.mark.parametrize(
    ("failures", "expected"),
    [(0, 1.0), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (50, 10.0)],
)
def test_delay_doubles_per_consecutive_failure_up_to_the_cap(
    failures: int, expected: float
) -> None:
    assert RetryPolicy(backoff_factor=2.0, max_backoff=10.0).delay(1.0, failures) == expected


def test_a_base_above_the_cap_is_still_honoured() -> None:
    assert RetryPolicy(max_backoff=5.0).delay(60.0, 3) == 60.0


def test_factor_one_is_the_browsers_constant_delay() -> None:
    policy = RetryPolicy(backoff_factor=1.0)
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
    assert RetryPolicy().clamp_server_retry(3600.0) == 3600.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"backoff_factor": 0.5},
        {"max_backoff": -1.0},
        {"min_retry": -1.0},
        {"jitter": 1.5},
        {"jitter": -0.1},
        {"min_retry": 2.0, "max_retry": 1.0},
    ],
)
def test_invalid_settings_raise_value_error(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each message differs
        RetryPolicy(**kwargs)
