"""Judging a response: the browser's refusal, the status policy and its ready-made forms.

Pure functions of status and headers; imports no async or HTTP library.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Literal, TypeAlias

from multidict import CIMultiDictProxy

from ._errors import ContentTypeError, StatusError, status_line
from ._sendable import header_view

__all__ = [
    "TRANSIENT_STATUSES",
    "ResponseInfo",
    "StatusPolicy",
    "StatusVerdict",
    "apply_status_policy",
    "parse_retry_after",
    "refusal",
    "resolve_status_policy",
    "retry_transient",
]

#: Statuses that usually mean "try again soon": a rate limit, and gateways during a deploy
#: (502, 503, 504). A 500 is left out: it more often means a bug that the next try meets too.
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True, slots=True, init=False)
class ResponseInfo:
    """What a policy or validation hook may look at: status, headers and URL.

    Attributes:
        status: The HTTP status code.
        headers: The response headers: a read-only ``multidict.CIMultiDictProxy``,
            looked up case-insensitively, a repeated header keeping each value
            (``headers.getall("Set-Cookie")``), on every transport. Given as a
            mapping or ``(name, value)`` pairs, they are copied into one.
        url: The URL that gave this response.
    """

    status: int
    headers: CIMultiDictProxy[str]
    url: str

    def __init__(
        self,
        status: int,
        headers: Mapping[str, str] | Iterable[tuple[str, str]],
        url: str,
    ) -> None:
        object.__setattr__(self, "status", status)
        object.__setattr__(self, "headers", header_view(headers))
        object.__setattr__(self, "url", url)

    def header(self, name: str) -> str | None:
        """A header's value (the first, if repeated), looked up case-insensitively."""
        return self.headers.get(name)


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


#: The status policy unless the user gives one: 429, 502, 503, 504 reconnect.
DEFAULT_STATUS_POLICY = retry_transient()


def resolve_status_policy(option: StatusPolicy | Literal["strict"] | None) -> StatusPolicy | None:
    """The policy for the ``status_policy`` option: ``None`` means the browser's (fail).

    Raises:
        ValueError: neither a callable, ``"strict"`` nor ``None``.
    """
    if option == "strict":
        return None
    if option is None:
        return DEFAULT_STATUS_POLICY
    if callable(option):
        return option
    raise ValueError(f"status_policy must be callable or 'strict', not {option!r}")


def refusal(
    status: int, headers: CIMultiDictProxy[str], url: str
) -> StatusError | ContentTypeError | None:
    """The error the browser fails a final response with, or ``None`` for an event stream.

    [spec] A status other than 200, or a ``Content-Type`` whose essence is not
    ``text/event-stream``, fails the connection. Redirects and 204 are judged
    before this.
    """
    if status != 200:
        message = f"server answered {status_line(status)}"
        return StatusError(message, status=status, headers=headers, url=url)
    essence = headers.get("content-type", "").partition(";")[0].strip().lower()
    if essence != "text/event-stream":
        message = f"server answered {status_line(status)}, not with text/event-stream"
        return ContentTypeError(message, status=status, headers=headers, url=url)
    return None


def apply_status_policy(
    policy: StatusPolicy | None, response: ResponseInfo
) -> float | Literal["fail", "accept"]:
    """What to do with a refused response: seconds to wait at least before retrying, or not.

    ``None`` (``"strict"``) fails, as the browser does. A wait too large for a
    float (an ``int`` Retry-After, say) is ``math.inf``.

    Raises:
        ValueError: the policy answered something else (a typo such as
            ``"retry-later"`` would otherwise read as ``"fail"``).
    """
    verdict = policy(response) if policy is not None else "fail"
    if verdict == "retry":
        return 0.0
    if verdict == "accept":
        return "accept"
    if verdict is None or verdict == "fail":
        return "fail"
    if isinstance(verdict, (int, float)) and not isinstance(verdict, bool):
        try:
            return float(verdict)
        except OverflowError:
            return math.inf
    raise ValueError(
        f"status_policy answered {verdict!r} for {response.status}: expected 'fail', "
        "'retry', 'accept', a number of seconds, or None"
    )
