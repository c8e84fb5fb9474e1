"""The processing model of an EventSource as pure decisions, in the manner of h11.

It owns the ready state, the last event ID (through its parser), the
reconnection time and the failures in a row. It judges each response (open,
redirect, retry, fail, stop; the status policy is asked here), turns body
bytes into items in wire order (the predicates are applied here), and decides
after a lost connection whether and when to reconnect. Three bases hold its
other verbs: ``_connection_attempts`` (what each attempt sends),
``_connection_report`` (each decision as items, :meth:`Connection.report`)
and ``_connection_predicates`` (where the predicates cut the items).
No I/O and no async library: ``_driver`` moves the bytes and sleeps;
``_request`` builds what each attempt sends.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Literal

from ._backoff import Backoff
from ._connection_attempts import Attempts
from ._connection_predicates import Predicates
from ._connection_report import CUT_BEFORE_ANSWER, ONE_SHOT_CUT, Reports
from ._errors import EventSourceError, ProtocolError, RedirectError, TransportError
from ._event import Comment, MessageEvent, ReadyState
from ._parser import DEFAULT_MAX_EVENT_SIZE, Parser
from ._policy import (
    ResponseInfo,
    StatusPolicy,
    apply_status_policy,
    refusal,
    resolve_status_policy,
)
from ._request import REDIRECT_STATUSES, Hops, origin_of
from ._retry import DEFAULT_RETRY_POLICY, RetryPolicy
from ._sendable import check_headers, check_method, header_view
from ._sendable_url import check_url
from ._verdicts import Fail, Item, Open, Predicate, Reconnect, Redirect, Stop

__all__ = ["Connection"]


class Connection(Attempts, Reports, Predicates):
    """The EventSource processing model for one URL, across reconnections."""

    # Slots: one per EventSource, and a dict of 30 attributes is 1.5 KiB.
    __slots__ = (
        "_clock",
        "_seen_retry",
        "backoff",
        "content",
        "error_when",
        "headers",
        "method",
        "parser",
        "policy",
        "reconnect",
        "reconnection_time",
        "state",
        "status_policy",
        "stop_after",
        "stop_when",
        "url",
    )

    def __init__(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        last_event_id: str = "",
        retry: float = 3.0,
        policy: RetryPolicy | None = None,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        max_redirects: int = 20,
        secret_headers: Iterable[str] = (),
        allow_insecure_redirects: bool = False,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        reconnect: bool = True,
        status_policy: StatusPolicy | Literal["strict"] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        url = check_url(url)
        if not math.isfinite(retry) or retry < 0:
            raise ValueError("retry must be a finite number of seconds, not negative")
        self.url = url
        self.method = check_method(method)
        self.headers = check_headers(headers or {})
        self.content = content
        self.reconnection_time = retry
        self.policy = policy or DEFAULT_RETRY_POLICY
        self.hops = Hops(
            secret_headers=secret_headers,
            max_redirects=max_redirects,
            allow_insecure_redirects=allow_insecure_redirects,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
        self.state = ReadyState.CONNECTING
        self.reconnect = reconnect
        self.status_policy = resolve_status_policy(status_policy)
        self.stop_when: Predicate | None = None
        self.stop_after: Predicate | None = None
        self.error_when: Predicate | None = None
        self._clock = clock
        self.parser = Parser(
            origin=origin_of(url),
            last_event_id=last_event_id,
            max_event_size=max_event_size,
        )
        self.backoff = Backoff()
        self.attempts = 0  # connection attempts begun so far
        self._seen_retry: float | None = None
        self._last_error: EventSourceError | None = None
        self._unsendable_id: str | None = None  # the last one warned about
        self._restart_attempt()

    @property
    def error(self) -> ProtocolError | None:
        """A broken limit held back behind events :meth:`feed` returned: raise it after them."""
        return self.parser.error

    @property
    def failures(self) -> int:
        """Failed attempts in a row, since the last connection that made progress."""
        return self.backoff.failures

    @property
    def last_event_id(self) -> str:
        """The last event ID string: sent as ``Last-Event-ID`` when not empty."""
        return self.parser.last_event_id

    @property
    def mid_event(self) -> bool:
        """Whether the stream stopped inside an event: part of one is buffered."""
        return self.parser.mid_event

    def resume_from(self, last_event_id: str) -> None:
        """Before the first attempt: start from ``last_event_id`` (a store's saved ID)."""
        self.parser.last_event_id = last_event_id
        self.parser.reset()

    def receive_response(
        self, status: int, headers: Mapping[str, str], url: str
    ) -> Open | Redirect | Fail | Stop | Reconnect:
        """Judge a response's status and headers.

        A status other than 200, or a 200 that is not ``text/event-stream``, fails
        the connection as in the browser, unless the status policy says to retry
        (``Reconnect``, a failure in a row) or to read the body anyway (``Open``).
        """
        if status in REDIRECT_STATUSES:
            return self._redirect(status, headers, url)
        if status == 204:  # [spec] fail the connection; NON-SPEC: no error is raised
            self.state = ReadyState.CLOSED
            return Stop(status)
        headers = header_view(headers)  # once, for the error and the policy alike
        error = refusal(status, headers, url)
        if error is not None:
            verdict = apply_status_policy(self.status_policy, ResponseInfo(status, headers, url))
            if verdict == "fail":
                self.state = ReadyState.CLOSED
                return Fail(error)
            if verdict != "accept":
                return self.connection_lost(error, min_delay=verdict)
        self.state = ReadyState.OPEN
        self.parser.origin = origin_of(url)
        self.backoff.opened(self._clock(), self.last_event_id)
        return Open()

    def _redirect(self, status: int, headers: Mapping[str, str], url: str) -> Redirect | Fail:
        target = self.hops.redirect(status, headers, url)
        if isinstance(target, RedirectError):
            self.state = ReadyState.CLOSED
            return Fail(target)
        return Redirect(target)

    def feed(self, data: bytes) -> list[MessageEvent | Comment]:
        """Decode bytes of the open stream into events and comments (see :class:`Parser`).

        Raises:
            ProtocolError: a limit was broken before any event of ``data`` completed.
                When events completed first, they are returned and the error is kept
                in :attr:`error` for the caller to raise after delivering them.
        """
        events = self.parser.feed(data)
        retry = self.parser.retry
        if retry is not None and retry != self._seen_retry:
            self._seen_retry = retry
            self.reconnection_time = self.policy.clamp_server_retry(retry)
        if not self.backoff.delivered and any(type(item) is MessageEvent for item in events):
            self.backoff.delivered = True
        return events

    def receive_data(self, data: bytes) -> list[Item]:
        """The items that ``data`` completes, in wire order: events and comments.

        The predicates are applied here: ``error_when`` and ``stop_when`` cut the
        items before the event they match, ``stop_after`` just after it; then an
        ``End`` (with an ``error`` event first, for ``error_when``) closes the
        list. A broken limit does the same after the items completed before it.
        The state stays OPEN until the caller reaches those and closes.
        """
        try:
            # The parser's list as it is: a MessageEvents stays one (it says "events only").
            items: list[Item] = self.feed(data)  # type: ignore[assignment]
        except ProtocolError as exc:
            return self._ends(exc)
        if self.stop_when is not None or self.stop_after is not None or self.error_when:
            # A cut ends with _ends, which resets the parser: no second End below.
            items = self.judge(items)  # a new list if it cut
        if self.parser.error is not None:
            items = items + self._ends(self.parser.error)  # a new list: not events only
        return items

    def report_failure(self, error: EventSourceError) -> list[Item]:
        """Fail for good (CLOSED now): the ``error`` event, then an ``End`` raising ``error``."""
        self.state = ReadyState.CLOSED
        return self._ends(error)

    def connection_lost(
        self, error: EventSourceError | None, *, min_delay: float = 0.0
    ) -> Reconnect | Fail | Stop:
        """The stream ended (EOF) or failed: decide to reconnect, or give up.

        ``min_delay`` is a lower bound on the wait (a ``Retry-After``). A one-shot
        stream (``reconnect=False``) ends here: normally after EOF, with ``error``
        otherwise. The attempt that ended counts as one more failure in a row
        unless the connection made progress (see :class:`~eventsource._backoff.Backoff`);
        past the reconnect budget (``max_reconnects``, ``max_reconnect_time``)
        retrying ends with the last real error.
        """
        now = self._clock()
        self._forget_attempt(now)
        self._last_error = error
        if not self.reconnect:
            self.state = ReadyState.CLOSED
            return Stop(None) if error is None else Fail(error)
        delay = self.backoff.failed(now, self.policy, self.reconnection_time, min_delay=min_delay)
        if delay is None:
            return self._give_up(error or TransportError("the server closed the stream"), now)
        self.state = ReadyState.CONNECTING
        return Reconnect(delay, self.failures, error)

    def interrupted(
        self,
        *,
        began: bool = False,
        sent: bool = False,
        answered: bool = False,
        waited: bool = False,
    ) -> Fail | Reconnect | None:
        """A cancel cut the attempt or the open connection: reconnect, mostly at once.

        What a cancel from outside (not ``restart()``) cut: ``began``, a request
        being opened (connecting); ``sent``, one that may have reached the
        server; ``answered``, an open stream. ``waited``: the attempt began with
        the reconnection wait, in the same call. A one-shot stream
        (``reconnect=False``) is not requested twice (a POST may not run
        twice): ``Fail`` (``ONE_SHOT_CUT``), also at a redirect's hop (sent first).
        A request cut before its answer,
        and not just after a wait (which left it little of the caller's
        timeout), is a failed attempt: ``Reconnect`` after the backoff delay,
        with no error event, or ``Fail`` past the budget. ``None``: at once (or
        nothing, once closed).
        """
        sent = sent or (began and self.hops.redirected)  # a hop: the request went out before
        now = self._clock()
        self._forget_attempt(now)
        if self.state is ReadyState.CLOSED:
            return None
        if sent and not self.reconnect:
            self.state = ReadyState.CLOSED
            return Fail(TransportError(ONE_SHOT_CUT))
        self.state = ReadyState.CONNECTING
        if not (began or sent) or answered or waited:
            return None
        # NON-SPEC: a browser has no timeout around its reads; this is backoff's case.
        delay = self.backoff.failed(now, self.policy, self.reconnection_time)
        if delay is None:
            return self._give_up(TransportError(CUT_BEFORE_ANSWER), now)
        return Reconnect(delay, self.failures)

    def _give_up(self, error: EventSourceError, now: float) -> Fail:
        self.state = ReadyState.CLOSED
        # The error says what failed last; the note, that it was not the first try
        # (Python 3.11+ shows notes in tracebacks; the ErrorEvent has ``attempt``).
        add_note = getattr(error, "add_note", None)
        if add_note is not None:  # pragma: no branch - Python 3.10 has no notes
            add_note(f"eventsource: {self.backoff.spent(now, self.policy)}")
        return Fail(error)

    def _forget_attempt(self, now: float) -> None:
        # Before the parser forgets: a cut inside an event counts as progress.
        self.backoff.ended(now, mid_event=self.parser.mid_event, last_event_id=self.last_event_id)
        self.parser.reset()
        self._restart_attempt()

    def close(self) -> None:
        """The user closed the EventSource."""
        self.state = ReadyState.CLOSED
