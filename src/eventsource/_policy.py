"""Plug points that judge a response: the status policy and its ready-made retrying form.

Pure functions of status and headers; imports no async or HTTP library.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Literal, TypeAlias

__all__ = [
    "TRANSIENT_STATUSES",
    "ResponseInfo",
    "StatusPolicy",
    "StatusVerdict",
    "parse_retry_after",
    "retry_transient",
]

#: Statuses that usually mean "try again soon": a rate limit, and gateways during a deploy
#: (502, 503, 504). A 500 is left out: it more often means a bug that the next try meets too.
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class ResponseInfo:
    """What a policy or validation hook may look at: status, headers and URL."""

    status: int
    headers: Mapping[str, str]
    url: str

    def header(self, name: str) -> str | None:
        """A header's value, looked up case-insensitively."""
        value = self.headers.get(name)
        if value is not None:
            return value
        lowered = name.lower()
        for key, candidate in self.headers.items():
            if key.lower() == lowered:
                return candidate
        return None


#: ``"fail"`` (the browser's answer), ``"retry"`` (reconnect after the usual delay),
#: ``"accept"`` (read the body as an event stream anyway), or a number of seconds to
#: wait at least before reconnecting. ``None`` means ``"fail"``.
StatusVerdict: TypeAlias = "Literal['fail', 'retry', 'accept'] | float | None"
StatusPolicy: TypeAlias = Callable[[ResponseInfo], StatusVerdict]


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP-date).

    Returns ``None`` for a missing or malformed value; a date in the past gives 0,
    and a number too large for a float gives ``inf``.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):  # a year or offset out of range
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max((when - now).total_seconds(), 0.0)


def retry_transient(
    statuses: Collection[int] = TRANSIENT_STATUSES, *, max_retry_after: float = 300.0
) -> StatusPolicy:
    """A status policy that retries ``statuses`` (429, 502, 503 and 504 by default).

    The policy an EventSource uses unless told otherwise. Each retried response
    is a failure in a row: the reconnection waits the usual backoff delay, which
    grows, or at least what the response's ``Retry-After`` asks (capped at
    ``max_retry_after`` seconds, to which the retry policy's jitter then adds
    up to its fraction: 450 s at most with the defaults). Any other status
    fails, as in the browser.
    Combine with ``max_reconnects`` or ``max_reconnect_time`` to bound the
    retrying.
    """
    allowed = frozenset(statuses)

    def policy(response: ResponseInfo) -> StatusVerdict:
        if response.status not in allowed:
            return "fail"
        wait = parse_retry_after(response.header("retry-after"))
        return "retry" if wait is None else min(wait, max_retry_after)

    return policy
