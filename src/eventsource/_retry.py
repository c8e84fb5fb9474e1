"""The reconnection delay policy: server ``retry:``, backoff, jitter, cap and clamps.

A small stateless value; the caller keeps the count of failures. Imports no
async or HTTP library.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RetryPolicy"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to wait before reconnecting.

    The base is the reconnection time (the ``retry`` option, replaced by the
    server's ``retry:`` clamped to ``[min_retry, max_retry]``). Consecutive
    failures multiply it by ``backoff_factor`` up to ``max_backoff`` (never
    below the base); the count resets after a connection that delivered an
    event. ``jitter`` takes up to that fraction off each delay at random, so
    that many clients do not reconnect in step.

    Attributes:
        backoff_factor: Growth per consecutive failure; 1.0 means the browser's constant delay.
        max_backoff: Ceiling in seconds for the grown delay.
        jitter: Fraction in ``[0, 1]`` of the delay that may be removed at random.
        min_retry: Floor in seconds for a server-sent ``retry:``.
        max_retry: Ceiling in seconds for a server-sent ``retry:``, or ``None``.
    """

    backoff_factor: float = 2.0
    max_backoff: float = 30.0
    jitter: float = 0.0
    min_retry: float = 0.0
    max_retry: float | None = None

    def __post_init__(self) -> None:
        if self.backoff_factor < 1.0:
            raise ValueError("backoff_factor must be at least 1.0")
        if self.max_backoff < 0 or self.min_retry < 0:
            raise ValueError("max_backoff and min_retry must not be negative")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be between 0 and 1")
        if self.max_retry is not None and self.max_retry < self.min_retry:
            raise ValueError("max_retry must not be below min_retry")

    def clamp_server_retry(self, seconds: float) -> float:
        """Bound a server-sent ``retry:`` value to ``[min_retry, max_retry]``."""
        seconds = max(seconds, self.min_retry)
        if self.max_retry is not None:
            seconds = min(seconds, self.max_retry)
        return seconds

    def delay(
        self, base: float, failures: int, random_fraction: Callable[[], float] = random.random
    ) -> float:
        """Seconds to wait before the attempt that follows ``failures`` failures in a row."""
        grown = base * self.backoff_factor ** max(failures - 1, 0)
        delay = max(base, min(grown, self.max_backoff))
        if self.jitter:
            delay -= delay * self.jitter * random_fraction()
        return delay
