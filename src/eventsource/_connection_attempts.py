"""What each connection attempt sends: a part of the processing model (sans-IO).

The request a ``prepare_request`` hook may change, the start of an attempt,
the request of each redirect hop (built by ``_request.Hops``), and the last
event ID as a header value a transport can send. :class:`Attempts` is a base
of :class:`~._connection.Connection`: it holds the attempt's state, and reads
the request options and the last event ID off the connection. No I/O and no
async library.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ._errors import EventSourceError
from ._request import ConnectAttempt, Hops, checked_attempt, redact_url
from ._sendable import HTTP_WHITESPACE, header_value_problem, shown
from ._transport._base import Request

__all__ = ["Attempts"]

logger = logging.getLogger("eventsource")


class Attempts:
    """The attempts of a connection: what each sends (set up by ``Connection.__init__``)."""

    __slots__ = ("_last_error", "_unsendable_id", "attempts", "hops")
    hops: Hops
    attempts: int
    _last_error: EventSourceError | None
    _unsendable_id: str | None
    url: str
    method: str
    headers: Mapping[str, str]
    content: bytes | None

    if TYPE_CHECKING:  # the connection's

        @property
        def failures(self) -> int: ...

        @property
        def last_event_id(self) -> str: ...

    def next_attempt(self) -> ConnectAttempt:
        """The request the next attempt would make, for a hook to change."""
        return ConnectAttempt(
            method=self.method,
            url=self.url,
            headers=dict(self.headers),
            body=self.content,
            number=self.attempts,
            failures=self.failures,
            last_event_id=self.last_event_id,
            last_error=self._last_error,
        )

    def begin_attempt(self, attempt: ConnectAttempt | None = None) -> None:
        """Start a connection attempt, with the request a hook may have changed.

        Raises:
            ValueError: the hook left something no request could carry.
            TypeError: a header name or value that is not a ``str``.
        """
        attempt = attempt or self.next_attempt()
        url, method, headers, body = checked_attempt(attempt)
        self.attempts += 1
        # Until connection_lost says otherwise: an attempt abandoned midway (a
        # cancellation, restart()) has no error, though its request may be out.
        self._last_error = None
        self.hops.begin(url, method, headers, body)

    def build_request(self) -> Request:
        """The next request: the first of an attempt, or the next hop of a redirect."""
        return self.hops.request(self._sendable_last_event_id())

    def _sendable_last_event_id(self) -> str:
        """The last event ID as a header value: normalized as Fetch does, or ``""``.

        A server may send an id no transport would put in a header (a control
        character): sending it would fail every reconnect the same way, so it
        is left out instead, with a warning when such an id comes into force
        (not on every attempt while it stays).
        """
        last_event_id = self.last_event_id
        value = last_event_id.strip(HTTP_WHITESPACE)  # [Fetch] normalize a header value
        problem = header_value_problem(value)
        if problem is None:
            self._unsendable_id = None
            return value
        if last_event_id != self._unsendable_id:
            self._unsendable_id = last_event_id
            logger.warning(
                "the last event ID %s cannot be sent as Last-Event-ID (%s): "
                "connecting to %s without it",
                shown(last_event_id),
                problem,
                redact_url(self.url),
            )
        return ""

    def _restart_attempt(self) -> None:
        # [spec] reconnect to the original URL, not the last redirect target
        self.hops.begin(self.url, self.method, self.headers, self.content)
