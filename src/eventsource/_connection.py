"""The processing model of an EventSource as pure decisions, in the manner of h11.

It builds each request, judges each response (open, redirect, fail, stop),
feeds the parser, and decides after a lost connection whether and when to
reconnect. No I/O and no async library: ``_source`` moves the bytes and sleeps.
"""

from __future__ import annotations

import json as _json
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from ._errors import (
    ContentTypeError,
    EventSourceError,
    ProtocolError,
    RedirectError,
    StatusError,
    TransportError,
)
from ._event import MessageEvent, ReadyState
from ._parser import DEFAULT_MAX_EVENT_SIZE, Parser
from ._policy import ResponseInfo, StatusPolicy, retry_transient
from ._retry import ZERO_RETRY_FLOOR, RetryPolicy
from ._sendable import (
    HTTP_WHITESPACE,
    check_headers,
    check_method,
    check_url,
    header_value_problem,
    shown,
)
from ._transport._base import Request

__all__ = [
    "ConnectAttempt",
    "Connection",
    "Fail",
    "Open",
    "Reconnect",
    "Redirect",
    "Stop",
    "build_url",
    "encode_body",
    "origin_of",
    "redact_url",
]

logger = logging.getLogger("eventsource")

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: Headers that never follow a redirect to another origin, whatever the user says.
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
#: The status policy unless the user gives one: 429, 502, 503, 504 reconnect.
DEFAULT_STATUS_POLICY = retry_transient()
#: Seconds after which an open connection counts as healthy, whatever it received:
#: attempts that far apart put no load on a server that backing off would relieve.
STABLE_CONNECTION = 60.0
#: Seconds under which an open connection counts as short-lived. A zero delay
#: after one is raised to :data:`ZERO_RETRY_FLOOR`: a server that sends
#: ``retry: 0`` and an event, then closes, would otherwise be asked again at
#: once, thousands of times a second, each time making progress.
SHORT_CONNECTION = 1.0


@dataclass(frozen=True, slots=True)
class Open:
    """The response is an event stream: the connection is open."""


@dataclass(frozen=True, slots=True)
class Redirect:
    """Follow a redirect: send the next request from :meth:`Connection.build_request`."""

    url: str


@dataclass(frozen=True, slots=True)
class Fail:
    """Fail the connection: CLOSED, no reconnect; ``error`` is raised to the caller."""

    error: EventSourceError


@dataclass(frozen=True, slots=True)
class Stop:
    """End normally without reconnecting: a 204, or the end of a one-shot stream."""

    status: int | None


@dataclass(frozen=True, slots=True)
class Reconnect:
    """Wait ``delay`` seconds, then reconnect; ``attempt`` counts failures in a row.

    ``error`` is what went wrong, when something did (``None`` after a plain end
    of stream).
    """

    delay: float
    attempt: int
    error: EventSourceError | None = None


@dataclass(slots=True, repr=False)
class ConnectAttempt:
    """The request about to be made, handed to ``prepare_request`` to change.

    Change ``headers`` (refresh a token), ``url`` (query included), ``method`` or
    ``body`` in place, or return a new value. ``Last-Event-ID`` is added after the
    hook, from :attr:`last_event_id`. A URL, method, header or body the
    transports could not send raises ``ValueError`` (``TypeError`` for a value
    of the wrong type) before the request is made, instead of failing every
    attempt.

    Attributes:
        method: The HTTP method.
        url: The absolute URL to request.
        headers: The request headers (a fresh copy for each attempt).
        body: The request body, or ``None``.
        number: 0 for the first connection, then 1, 2, ... for each reconnection.
        failures: Failed attempts in a row before this one.
        last_event_id: The last event ID string (empty: none). It is sent as
            ``Last-Event-ID`` without leading and trailing whitespace, and left
            out (with a warning) when it holds a control character.
        last_error: What ended the previous attempt: a :class:`~eventsource.ConnectError`
            (its request was not sent), another ``TransportError``, a ``ResponseError``
            the status policy retried, or ``None`` (no previous attempt, the server
            ended the stream, or it was abandoned by a cancellation or ``restart()``).
    """

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    number: int = 0
    failures: int = 0
    last_event_id: str = ""
    last_error: EventSourceError | None = None

    def set_query(self, **params: str | None) -> None:
        """Set (or, with ``None``, remove) query parameters of :attr:`url`."""
        parts = urlsplit(self.url)
        pairs = [
            (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params
        ]
        pairs += [(k, v) for k, v in params.items() if v is not None]
        self.url = urlunsplit(parts._replace(query=urlencode(pairs)))

    def __repr__(self) -> str:
        # Hooks get logged: header values, the query and the body may hold credentials.
        body = None if self.body is None else f"<{len(self.body)} bytes>"
        return (
            f"ConnectAttempt(method={self.method!r}, url={redact_url(self.url)!r}, "
            f"headers={sorted(self.headers)!r}, body={body}, number={self.number}, "
            f"failures={self.failures}, last_event_id={self.last_event_id!r}, "
            f"last_error={type(self.last_error).__name__ if self.last_error else None})"
        )


def redact_url(url: str) -> str:
    """``scheme://host[:port]/path``: a URL without its query or userinfo, for logs."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"


def origin_of(url: str) -> str:
    """The serialised origin (``scheme://host[:port]``) of an absolute URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}".lower()


def build_url(url: str, params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> str:
    """Append ``params`` to the query of ``url``, once :func:`check_url` accepts it."""
    url = check_url(url)
    if not params:
        return url
    parts = urlsplit(url)
    extra = urlencode(list(params.items()) if isinstance(params, Mapping) else list(params))
    query = f"{parts.query}&{extra}" if parts.query else extra
    return check_url(urlunsplit(parts._replace(query=query)))  # too long, now?


def encode_body(body: str | bytes | None, json: Any) -> tuple[bytes | None, str | None]:
    """The request body and its default content type, from ``body=`` or ``json=``."""
    if body is not None and json is not None:
        raise TypeError("pass body= or json=, not both")
    if json is not None:
        return _json.dumps(json, separators=(",", ":")).encode(), "application/json"
    content_type = "text/plain; charset=utf-8" if isinstance(body, str) else None
    return _content(body, "body"), content_type


def _content(body: object, what: str) -> bytes | None:
    """A request body as bytes (a ``str`` in UTF-8), the same for both transports.

    Raises:
        TypeError: ``body`` is neither bytes-like, a ``str`` nor ``None``.
        ValueError: a ``str`` that UTF-8 cannot encode (a lone surrogate).
    """
    if body is None or isinstance(body, bytes):
        return body
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)  # httpx takes neither for a body
    if isinstance(body, str):
        try:
            return body.encode()
        except UnicodeEncodeError as exc:
            raise ValueError(
                f"{what} cannot be encoded as UTF-8: {exc.reason} (at position {exc.start})"
            ) from None
    raise TypeError(f"{what} must be bytes, str or None, not {type(body).__name__}")


class Connection:
    """The EventSource processing model for one URL, across reconnections."""

    # Slots: one per EventSource, and a dict of 30 attributes is 1.5 KiB.
    __slots__ = (
        "_attempt_headers",
        "_attempt_url",
        "_clock",
        "_cross_origin",
        "_delivered",
        "_failing_since",
        "_hop_content",
        "_hop_method",
        "_hop_url",
        "_hops",
        "_last_error",
        "_opened_at",
        "_opened_id",
        "_seen_retry",
        "_unsendable_id",
        "allow_insecure_redirects",
        "attempts",
        "connect_timeout",
        "content",
        "failures",
        "headers",
        "max_reconnect_time",
        "max_reconnects",
        "max_redirects",
        "method",
        "parser",
        "policy",
        "read_timeout",
        "reconnect",
        "reconnection_time",
        "secret_headers",
        "state",
        "status_policy",
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
        max_reconnects: int | None = None,
        secret_headers: Iterable[str] = (),
        allow_insecure_redirects: bool = False,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        reconnect: bool = True,
        max_reconnect_time: float | None = None,
        status_policy: StatusPolicy | Literal["strict"] | None = None,
        on_comment: Callable[[str], object] | None = None,
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
        self.policy = policy or RetryPolicy()
        self.max_redirects = max_redirects
        self.max_reconnects = max_reconnects
        self.secret_headers = CREDENTIAL_HEADERS | {h.lower() for h in secret_headers}
        self.allow_insecure_redirects = allow_insecure_redirects
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.state = ReadyState.CONNECTING
        self.reconnect = reconnect
        self.max_reconnect_time = max_reconnect_time
        if status_policy == "strict":
            self.status_policy: StatusPolicy | None = None  # the browser's answer: fail
        elif status_policy is None:
            self.status_policy = DEFAULT_STATUS_POLICY
        elif callable(status_policy):
            self.status_policy = status_policy
        else:
            raise ValueError(f"status_policy must be callable or 'strict', not {status_policy!r}")
        self._clock = clock
        self.parser = Parser(
            origin=origin_of(url),
            last_event_id=last_event_id,
            max_event_size=max_event_size,
            on_comment=on_comment,
        )
        self.failures = 0  # failed attempts since the last connection that made progress
        self.attempts = 0  # connection attempts begun so far
        self._failing_since: float | None = None
        self._delivered = False  # the open connection completed an event
        self._opened_at: float | None = None  # when it opened; None when none is open
        self._opened_id = last_event_id
        self._seen_retry: float | None = None
        self._hops: list[str] = []
        self._last_error: EventSourceError | None = None
        self._unsendable_id: str | None = None  # the last one warned about
        self._restart_attempt()

    @property
    def error(self) -> ProtocolError | None:
        """A broken limit held back behind events :meth:`feed` returned: raise it after them."""
        return self.parser.error

    @property
    def last_event_id(self) -> str:
        """The last event ID string: sent as ``Last-Event-ID`` when not empty."""
        return self.parser.last_event_id

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
        """Start a connection attempt, with the request a hook may have changed."""
        attempt = attempt or self.next_attempt()
        url = check_url(attempt.url, what="URL from prepare_request")
        method = check_method(attempt.method, what="prepare_request")
        headers = check_headers(attempt.headers, what="prepare_request")
        body = _content(attempt.body, "prepare_request: the body")
        self.attempts += 1
        # Until connection_lost says otherwise: an attempt abandoned midway (a
        # cancellation, restart()) has no error, though its request may be out.
        self._last_error = None
        self._attempt_url = self._hop_url = url
        self._hop_method = method
        self._hop_content = body
        self._attempt_headers = headers
        self._cross_origin = False
        self._hops = []

    def build_request(self) -> Request:
        """The next request: the first of an attempt, or the next hop of a redirect."""
        headers = {
            name: value
            for name, value in self._attempt_headers.items()
            if not (self._cross_origin and name.lower() in self.secret_headers)
        }
        lowered = {name.lower() for name in headers}
        if "accept" not in lowered:
            headers["Accept"] = "text/event-stream"
        if "cache-control" not in lowered:
            # [spec] the request's cache mode is "no-store"; browsers send this header for it
            headers["Cache-Control"] = "no-cache"
        for name in [n for n in headers if n.lower() == "last-event-id"]:
            del headers[name]
        last_event_id = self._sendable_last_event_id()
        if last_event_id:  # [spec] only when the last event ID string is not empty
            headers["Last-Event-ID"] = last_event_id
        if self._hop_content is None:
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        return Request(
            method=self._hop_method,
            url=self._hop_url,
            headers=headers,
            content=self._hop_content,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            cross_origin=self._cross_origin,
            secret_headers=self.secret_headers,
        )

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
        error: StatusError | ContentTypeError | None = None
        if status != 200:  # [spec] any other status fails the connection
            error = StatusError(
                f"server answered {status}", status=status, headers=headers, url=url
            )
        else:
            content_type = _header(headers, "content-type")
            essence = content_type.partition(";")[0].strip().lower()
            if essence != "text/event-stream":
                error = ContentTypeError(
                    f"expected text/event-stream, got content type {essence or 'none'!r}",
                    status=status,
                    headers=headers,
                    url=url,
                )
        if error is not None:
            verdict = None
            if self.status_policy is not None:
                verdict = self.status_policy(ResponseInfo(status, headers, url))
            if verdict == "retry" or isinstance(verdict, (int, float)):
                try:
                    wait = 0.0 if verdict == "retry" else float(verdict)
                except OverflowError:  # an int too big for a float: int(Retry-After), say
                    wait = math.inf
                return self.connection_lost(error, min_delay=wait)
            if verdict != "accept":
                self.state = ReadyState.CLOSED
                return Fail(error)
        self.state = ReadyState.OPEN
        self.parser.origin = origin_of(url)
        self._delivered = False
        self._opened_at = self._clock()
        self._opened_id = self.last_event_id
        return Open()

    def _redirect(self, status: int, headers: Mapping[str, str], url: str) -> Redirect | Fail:
        location = _header(headers, "location")
        error: str | None = None
        target, problem = _join(url, location) if location else ("", None)
        if not location:
            error = f"redirect {status} without a Location header"
        elif problem is not None:
            error = f"redirect to an invalid URL ({problem})"
        elif urlsplit(target).scheme not in ("http", "https"):
            error = "redirect to a URL that is not http or https"
        elif (
            urlsplit(url).scheme == "https"
            and urlsplit(target).scheme == "http"
            and not self.allow_insecure_redirects
        ):
            error = "redirect from https to http refused (allow_insecure_redirects=False)"
        elif len(self._hops) >= self.max_redirects:
            error = f"more than {self.max_redirects} redirects"
        elif target in self._hops or target == self._attempt_url:
            error = "redirect loop"
        if error is not None:
            self.state = ReadyState.CLOSED
            return Fail(RedirectError(error, status=status, headers=headers, url=url))
        self._hops.append(target)
        if origin_of(target) != origin_of(self._attempt_url):
            self._cross_origin = True  # once credentials are dropped they stay dropped
        if status == 303 or (status in (301, 302) and self._hop_method == "POST"):
            # fetch turns these into a GET without a body
            self._hop_method, self._hop_content = "GET", None
        self._hop_url = target
        return Redirect(target)

    def feed(self, data: bytes) -> list[MessageEvent]:
        """Decode bytes of the open stream into events (see :class:`Parser`).

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
        if events:
            self._delivered = True
        return events

    def connection_lost(
        self, error: EventSourceError | None, *, min_delay: float = 0.0
    ) -> Reconnect | Fail | Stop:
        """The stream ended (EOF) or failed: decide to reconnect, or give up.

        ``min_delay`` is a lower bound on the wait (a ``Retry-After``). A one-shot
        stream (``reconnect=False``) ends here: normally after EOF, with ``error``
        otherwise. The reconnect budget (``max_reconnects``, ``max_reconnect_time``)
        ends retrying with the last real error.

        The attempt that ended counts as one more failure in a row, which grows
        the delay, unless the connection made progress (see :meth:`_progressed`):
        then the count starts again at one and the delay is the reconnection time.
        A zero delay after a connection open less than :data:`SHORT_CONNECTION`
        is :data:`ZERO_RETRY_FLOOR` instead (less jitter).
        """
        now = self._clock()
        short = self._opened_at is not None and now - self._opened_at < SHORT_CONNECTION
        progressed = self._progressed(now)
        self.parser.reset()
        self._restart_attempt()
        self._last_error = error
        if not self.reconnect:
            self.state = ReadyState.CLOSED
            return Stop(None) if error is None else Fail(error)
        if progressed:
            self.failures = 0
            self._failing_since = None
        self.failures += 1
        if self._failing_since is None:
            self._failing_since = now
        delay = self.policy.delay(self.reconnection_time, self.failures, at_least=min_delay)
        if short and delay == 0.0:
            # NON-SPEC: the browser reconnects at once; see SHORT_CONNECTION.
            delay = self.policy.delay(min(ZERO_RETRY_FLOOR, self.policy.max_backoff), 1)
        over_count = self.max_reconnects is not None and self.failures > self.max_reconnects
        over_time = (
            self.max_reconnect_time is not None
            and now + delay - self._failing_since > self.max_reconnect_time
        )
        if over_count or over_time:
            self.state = ReadyState.CLOSED
            return Fail(error or TransportError("the server closed the stream"))
        self.state = ReadyState.CONNECTING
        return Reconnect(delay, self.failures, error)

    def _progressed(self, now: float) -> bool:
        """Whether the connection ending now showed a server at work, and forget it.

        Progress: it completed an event (or an id-only block), it was cut inside
        an event (a large one that each connection resends from its start), or
        it stayed open :data:`STABLE_CONNECTION` seconds. A refused or reset
        connection, a retried status, or a 200 that ends with nothing but
        comments and ``retry:`` is no progress: that is what backoff is for.
        """
        opened_at, self._opened_at = self._opened_at, None
        delivered, self._delivered = self._delivered, False
        if opened_at is None:
            return False
        return (
            delivered
            or self.parser.mid_event
            or self.last_event_id != self._opened_id
            or now - opened_at >= STABLE_CONNECTION
        )

    def interrupted(self) -> None:
        """The caller abandoned the open connection (cancelled): reconnect with no delay."""
        if self._progressed(self._clock()):
            self.failures = 0
            self._failing_since = None
        self.parser.reset()
        self._restart_attempt()
        self.state = ReadyState.CONNECTING

    def fail(self) -> None:
        """A fatal error (a broken limit): CLOSED."""
        self.parser.reset()
        self.state = ReadyState.CLOSED

    def close(self) -> None:
        """The user closed the EventSource."""
        self.state = ReadyState.CLOSED

    def _restart_attempt(self) -> None:
        # [spec] reconnect to the original URL, not the last redirect target
        self._attempt_url = self._hop_url = self.url
        self._hop_method, self._hop_content = self.method, self.content
        self._attempt_headers = dict(self.headers)
        self._cross_origin = False
        self._hops = []


def _join(base: str, location: str) -> tuple[str, str | None]:
    """The absolute redirect target, and why no request could be sent to it (or ``None``)."""
    try:
        target = urljoin(base, location)
        if urlsplit(target).scheme in ("http", "https"):
            target = check_url(target, what="the target")
    except ValueError as exc:
        return "", str(exc)
    return target, None


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        for key, candidate in headers.items():
            if key.lower() == name:
                return candidate
        return ""
    return value
