"""Failures in a row and the wait before the next attempt: the connection's backoff record.

Sans-IO and clockless: the caller passes ``now`` (monotonic seconds). The
delay arithmetic is :class:`~eventsource.RetryPolicy`'s; this keeps what it
needs across attempts: how many failed in a row, since when, and whether the
connection that just ended made progress (which starts the count again).
"""

from __future__ import annotations

from ._retry import ZERO_RETRY_FLOOR, RetryPolicy

__all__ = ["SHORT_CONNECTION", "STABLE_CONNECTION", "Backoff"]

#: Seconds after which an open connection counts as healthy, whatever it received:
#: attempts that far apart put no load on a server that backing off would relieve.
STABLE_CONNECTION = 60.0
#: Seconds under which an open connection counts as short-lived. A zero delay
#: after one is raised to :data:`~eventsource._retry.ZERO_RETRY_FLOOR`: a server
#: that sends ``retry: 0`` and an event, then closes, would otherwise be asked
#: again at once, thousands of times a second, each time making progress.
SHORT_CONNECTION = 1.0


class Backoff:
    """The failures in a row of one EventSource, and the progress that resets them."""

    __slots__ = ("_failing_since", "_opened_at", "_opened_id", "_short", "delivered", "failures")

    def __init__(self) -> None:
        self.failures = 0  # failed attempts since the last connection that made progress
        self.delivered = False  # the open connection completed an event
        self._failing_since: float | None = None
        self._opened_at: float | None = None  # when it opened; None when none is open
        self._opened_id = ""
        self._short = False  # the connection that ended was open under SHORT_CONNECTION

    def opened(self, now: float, last_event_id: str) -> None:
        """A connection opened at ``now``, with ``last_event_id`` in force."""
        self.delivered = False
        self._opened_at = now
        self._opened_id = last_event_id

    def ended(self, now: float, *, mid_event: bool, last_event_id: str) -> None:
        """The attempt or open connection ended: forget it, and reset if it made progress.

        Progress: it completed an event (or an id-only block: ``last_event_id``
        changed), it was cut inside an event (``mid_event``: a large one that
        each connection resends from its start), or it stayed open
        :data:`STABLE_CONNECTION` seconds. A refused or reset connection, a
        retried status, or a 200 that ends with nothing but comments and
        ``retry:`` is no progress: that is what backoff is for.
        """
        opened_at, self._opened_at = self._opened_at, None
        delivered, self.delivered = self.delivered, False
        self._short = opened_at is not None and now - opened_at < SHORT_CONNECTION
        if opened_at is not None and (
            delivered
            or mid_event
            or last_event_id != self._opened_id
            or now - opened_at >= STABLE_CONNECTION
        ):
            self.failures = 0
            self._failing_since = None

    def failed(
        self, now: float, policy: RetryPolicy, reconnection_time: float, *, min_delay: float = 0.0
    ) -> float | None:
        """Count one more failure: the seconds to wait, or ``None`` past the budget.

        ``min_delay`` is a lower bound (a ``Retry-After``). A zero delay after a
        connection open less than :data:`SHORT_CONNECTION` is
        :data:`ZERO_RETRY_FLOOR` instead (less jitter). The budget is the
        policy's ``max_reconnects`` and ``max_reconnect_time``.
        """
        self.failures += 1
        if self._failing_since is None:
            self._failing_since = now
        delay = policy.delay(reconnection_time, self.failures, at_least=min_delay)
        if self._short and delay == 0.0:
            # NON-SPEC: the browser reconnects at once; see SHORT_CONNECTION.
            delay = policy.delay(min(ZERO_RETRY_FLOOR, policy.max_backoff), 1)
        over_count = policy.max_reconnects is not None and self.failures > policy.max_reconnects
        over_time = (
            policy.max_reconnect_time is not None
            and now + delay - self._failing_since > policy.max_reconnect_time
        )
        return None if over_count or over_time else delay

    def spent(self, now: float, policy: RetryPolicy) -> str:
        """Why :meth:`failed` returned ``None``: a line for the last error's notes."""
        attempts = (
            "1 failed attempt"
            if self.failures == 1
            else f"{self.failures} failed attempts in a row"
        )
        if policy.max_reconnects is not None and self.failures > policy.max_reconnects:
            return f"gave up after {attempts} (max_reconnects={policy.max_reconnects})"
        since = now - (self._failing_since if self._failing_since is not None else now)
        return (
            f"gave up after {attempts} over {since:.3g} s: waiting for the next would"
            f" pass max_reconnect_time={policy.max_reconnect_time}"
        )
