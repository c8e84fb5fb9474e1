"""The reconnection delay policy: server ``retry:``, backoff, jitter, cap and clamps.

A small stateless value; the caller keeps the count of failures. Imports no
async or HTTP library.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["DEFAULT_RETRY_POLICY", "ZERO_RETRY_FLOOR", "RetryPolicy"]

#: Seconds from which a zero reconnection time (``retry=0``, or ``retry: 0``
#: with ``min_retry=0``) backs off: the first reconnect of a row is at once, as
#: in browsers, but a product with zero never grows, and without a floor a dead
#: server would be asked a thousand times a second. (A zero delay after a
#: connection open less than a second is this much too: see ``_connection``.)
ZERO_RETRY_FLOOR = 0.1


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to wait before reconnecting.

    The base is the reconnection time (the ``retry`` option, replaced by the
    server's ``retry:`` clamped to ``[min_retry, max_retry]``). Consecutive
    failures multiply it by ``backoff_factor`` up to ``max_backoff`` (never
    below the base); a zero base backs off from :data:`ZERO_RETRY_FLOOR` (or
    ``max_backoff``, if lower). ``jitter`` takes up to that fraction off each
    delay at random, so that many clients do not reconnect in step; a
    minimum that may not be cut (a ``Retry-After``) gets up to that fraction
    added instead.

    The defaults suit many clients that lose one server at the same moment:
    the delay doubles up to 30 s, each client waits between half and all of
    it, and a server's ``retry:`` may ask for no less than half a second (a
    ``retry: 0`` does not bring every client back at once, again and again)
    and no more than a minute.

    Attributes:
        backoff_factor: Growth per consecutive failure; 1.0 means the browser's constant delay.
        max_backoff: Ceiling in seconds for the grown delay.
        jitter: Fraction in ``[0, 1]`` of the delay that may be removed at random.
        min_retry: Floor in seconds for a server-sent ``retry:``.
        max_retry: Ceiling in seconds for a server-sent ``retry:``, or ``None`` for none.
        max_reconnects: How many reconnections may follow a failure, or ``None``
            to retry for ever. When they have all failed too (``max_reconnects + 1``
            failures in a row; ``0`` never reconnects), the last error is raised.
            A request that a cancel (a timeout around ``anext()``) cut before
            its answer counts as a failure (unless it only had what the
            reconnection wait left of that timeout).
        max_reconnect_time: Give up when failures in a row have lasted this many
            seconds, or ``None``.

    Raises:
        ValueError: a setting out of range, or not a finite number.
    """

    backoff_factor: float = 2.0
    max_backoff: float = 30.0
    jitter: float = 0.5
    min_retry: float = 0.5
    max_retry: float | None = 60.0
    max_reconnects: int | None = None
    max_reconnect_time: float | None = None

    def __post_init__(self) -> None:
        settings = (self.backoff_factor, self.max_backoff, self.jitter, self.min_retry)
        if not all(map(math.isfinite, settings)) or (
            self.max_retry is not None and not math.isfinite(self.max_retry)
        ):
            raise ValueError("retry settings must be finite numbers")
        if self.backoff_factor < 1.0:
            raise ValueError("backoff_factor must be at least 1.0")
        if self.max_backoff < 0 or self.min_retry < 0:
            raise ValueError("max_backoff and min_retry must not be negative")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be between 0 and 1")
        if self.max_retry is not None and self.max_retry < self.min_retry:
            raise ValueError("max_retry must not be below min_retry")
        if self.max_reconnects is not None and self.max_reconnects < 0:
            raise ValueError("max_reconnects must not be negative")
        if self.max_reconnect_time is not None and not self.max_reconnect_time >= 0:
            raise ValueError("max_reconnect_time must be a number of seconds, not negative")

    def clamp_server_retry(self, seconds: float) -> float:
        """Bound a server-sent ``retry:`` value to ``[min_retry, max_retry]``."""
        seconds = max(seconds, self.min_retry)
        if self.max_retry is not None:
            seconds = min(seconds, self.max_retry)
        return seconds

    def delay(
        self,
        base: float,
        failures: int,
        random_fraction: Callable[[], float] = random.random,
        *,
        at_least: float = 0.0,
    ) -> float:
        """Seconds to wait before the attempt that follows ``failures`` failures in a row.

        Args:
            base: The reconnection time in seconds (``inf`` waits for ever).
            failures: Failed attempts in a row, counting the one just ended; any size.
            random_fraction: Source of jitter, a float in ``[0, 1]``.
            at_least: A minimum in seconds (a ``Retry-After``); NaN or negative is none.

        Returns:
            A number of seconds, never negative and never NaN.
        """
        grown = self._grown(base, failures)
        spread = self.jitter * random_fraction() if self.jitter else 0.0
        if grown != math.inf:  # inf times no time at all would be NaN
            grown *= 1.0 - spread
        if not at_least > 0.0:
            return grown
        return max(grown, at_least * (1.0 + spread))

    def _grown(self, base: float, failures: int) -> float:
        """The delay before jitter: the base grown per failure, capped, never below the base."""
        if failures <= 1:
            return base  # the first reconnect of a row waits the reconnection time
        if base > 0.0:
            start, steps = base, failures - 1
        else:
            start, steps = min(ZERO_RETRY_FLOOR, self.max_backoff), failures - 2
        try:
            grown = start * self.backoff_factor**steps
        except OverflowError:  # long past the cap: 2.0 ** 1024 is too big for a float
            grown = math.inf
        return max(base, min(grown, self.max_backoff))


#: The policy of every connection given none: a frozen value, so one for all
#: (one each was 88 B a stream; fan-out memory).
DEFAULT_RETRY_POLICY = RetryPolicy()
