"""EventSource: the anyio loop that moves bytes and sleeps, plus listeners and iteration.

Every decision is delegated to ``_connection``; this module only performs I/O
(through a transport), waits, and hands events to the caller or to listeners.
The callback API (``run()``) is a thin layer over the same pull-based steps
that ``async for`` uses: there is no background task and no unbounded queue.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import ssl
import warnings
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Literal, TypeAlias

import anyio
import anyio.lowlevel

from ._connection import (
    ConnectAttempt,
    Connection,
    Open,
    Reconnect,
    Redirect,
    Stop,
    build_url,
    encode_body,
    redact_url,
)
from ._decode import drain, error_message, excerpt
from ._errors import (
    EventSourceError,
    ProtocolError,
    ResponseError,
    ServerEventError,
    TransportError,
)
from ._event import ErrorEvent, Event, MessageEvent, ReadyState
from ._parser import DEFAULT_MAX_EVENT_SIZE
from ._policy import ResponseInfo, StatusPolicy
from ._retry import RetryPolicy
from ._store import LastEventIdStore
from ._transport._base import Response, Transport
from ._transport._select import TransportOptions, make_transport

__all__ = ["EventSource", "Listener"]

logger = logging.getLogger("eventsource")

#: Hand out at most this many buffered events between two checkpoints, so that a
#: cancellation is noticed and other tasks run even during a burst.
CHECKPOINT_EVERY = 32
#: Bytes of a network read decoded at once (see ``_advance``).
FEED_SLICE = 16 * 1024

Listener: TypeAlias = Callable[[Any], "Awaitable[object] | object"]
Predicate: TypeAlias = Callable[[MessageEvent], bool]
PrepareRequest: TypeAlias = Callable[
    [ConnectAttempt], "Awaitable[ConnectAttempt | None] | ConnectAttempt | None"
]
ValidateResponse: TypeAlias = Callable[[ResponseInfo], "Awaitable[object] | object"]


@dataclass(frozen=True, slots=True)
class _Comment:
    text: str


Item: TypeAlias = "MessageEvent | Event | _Comment"


def _comment_collector(ref: weakref.ref[EventSource]) -> Callable[[str], None]:
    # A weak reference: the parser must not keep its EventSource alive (the
    # unclosed-EventSource warning relies on prompt collection).
    def collect(text: str) -> None:
        source = ref()
        if source is not None and source.on_comment is not None:
            source._items.append(_Comment(text))

    return collect


# Logs name the endpoint, never a query string or userinfo (they may hold tokens).
_redact = redact_url


class EventSource:
    """A Server-Sent Events client with the browser's API, for asyncio and trio.

    Use it as ``async for event in EventSource(url)`` (message events of every
    type, in stream order), or set ``onmessage``/``addEventListener`` and
    ``await es.run()``. It reconnects after a network error or the end of the
    stream, waiting the reconnection time (the server's ``retry:`` wins) and
    sending ``Last-Event-ID``. A status other than 200, a content type other
    than ``text/event-stream``, or a broken limit fails it for good: it becomes
    CLOSED, fires ``error``, and iteration raises the typed error. A 204 ends it
    without an error.

    Prefer ``async with EventSource(url) as es``: leaving the block releases the
    connection and any session we created. A session or client you pass is
    never closed by us.

    Args:
        url: An absolute ``http``/``https`` URL.
        headers: Extra request headers, sent on every connection.
        params: Query parameters appended to ``url``.
        method: The HTTP method; any verb.
        body: A request body (``str`` or ``bytes``), sent again on every reconnect.
        json: A value sent as a JSON body (instead of ``body``).
        last_event_id: Resume from this id: sent as ``Last-Event-ID`` on the first request.
        retry: The initial reconnection time in seconds (the server's ``retry:`` replaces it).
        backoff_factor: Growth of the delay per consecutive failure (1.0: constant, as browsers).
        max_backoff: Ceiling in seconds of the grown delay.
        jitter: Fraction of each delay that may be removed at random (0 to 1).
        min_retry: Floor in seconds for the server's ``retry:``.
        max_retry: Ceiling in seconds for the server's ``retry:``.
        max_reconnects: Give up after this many failed attempts in a row, raising the last error.
        read_timeout: Seconds without a byte (comments count) after which the connection is
            treated as dead and reconnected; ``None`` waits forever, as browsers do.
        connect_timeout: Seconds to open the connection (TCP, TLS, a pool slot); ``None``
            waits forever. Waiting for the response headers counts as reading.
        max_event_size: Bound in bytes on one line or one event's data (``ProtocolError``).
        max_redirects: How many redirects one connection attempt may follow.
        secret_headers: More header names that, like ``Authorization`` and ``Cookie``, are
            never sent after a redirect to another origin.
        allow_insecure_redirects: Follow a redirect from https to http.
        session: An ``aiohttp.ClientSession`` to use (never closed by us).
        client: An ``httpx.AsyncClient`` to use (never closed by us); selects httpx.
        transport: ``"aiohttp"`` (the default), ``"httpx"`` (the ``httpx`` extra; runs on
            asyncio and trio), or an object implementing the transport protocol.
        proxy: A proxy URL for every request (``http://user:pass@host:port``).
        verify: ``False`` to skip TLS verification, a CA bundle file to trust, or an
            ``ssl.SSLContext`` to use as is.
        cert: A client certificate: a PEM file with the key, or ``(certfile, keyfile)``.
        http2: Use HTTP/2 where the server offers it (httpx only; needs the ``h2`` package).
        trust_env: Read proxies and CA bundles from the environment; ``None`` keeps the
            transport's default (httpx: yes, aiohttp: no).
        reconnect: ``False`` for one-shot streams (an LLM completion): the end of the body
            ends iteration normally and a network error raises; nothing reconnects.
        max_reconnect_time: Give up when failures in a row have lasted this many seconds.
        status_policy: Decides what a non-200 (or non-event-stream) response means:
            ``"fail"`` (the browser's answer), ``"retry"``, seconds to wait, or
            ``"accept"``. :func:`~eventsource.retry_transient` retries 429/5xx.
        validate_response: Called with each response before it is accepted as OPEN
            (sync or async); raise to refuse it. An ``EventSourceError`` fails the
            EventSource; any other exception propagates to the caller.
        prepare_request: Called before every connection attempt (sync or async) with a
            :class:`~eventsource.ConnectAttempt` to change (headers, URL, method, body).
        stop_when: End the stream, without delivering it, at the event this matches
            (:func:`~eventsource.is_done` for ``data: [DONE]``).
        stop_after: End the stream after delivering the event this matches
            (:func:`~eventsource.is_message_stop`, :func:`~eventsource.is_response_completed`).
        error_when: Raise :class:`~eventsource.ServerEventError` for the event this
            matches (:func:`~eventsource.is_error_event`), instead of yielding it.
        on_comment: Called (sync or async) with the text of each comment line, such as
            heartbeats; also settable as the ``on_comment`` attribute.
        last_event_id_store: Loads the last event ID before the first connection (unless
            ``last_event_id`` is given) and saves each new one after its event is delivered.
        with_credentials: Accepted for parity with the browser; it has no effect here
            (send cookies or tokens with ``headers`` or your session).
        raise_listener_errors: Let a listener's exception propagate out of ``run()`` and
            iteration instead of logging it.
    """

    CONNECTING: ClassVar[ReadyState] = ReadyState.CONNECTING
    OPEN: ClassVar[ReadyState] = ReadyState.OPEN
    CLOSED: ClassVar[ReadyState] = ReadyState.CLOSED

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
        method: str = "GET",
        body: str | bytes | None = None,
        json: Any = None,
        last_event_id: str = "",
        retry: float = 3.0,
        backoff_factor: float = 2.0,
        max_backoff: float = 30.0,
        jitter: float = 0.0,
        min_retry: float = 0.0,
        max_retry: float | None = None,
        max_reconnects: int | None = None,
        read_timeout: float | None = None,
        connect_timeout: float | None = 30.0,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        max_redirects: int = 20,
        secret_headers: Iterable[str] = (),
        allow_insecure_redirects: bool = False,
        session: Any = None,
        client: Any = None,
        transport: Transport | Literal["aiohttp", "httpx"] | None = None,
        proxy: str | None = None,
        verify: bool | str | ssl.SSLContext = True,
        cert: str | tuple[str, str] | None = None,
        http2: bool = False,
        trust_env: bool | None = None,
        reconnect: bool = True,
        max_reconnect_time: float | None = None,
        status_policy: StatusPolicy | None = None,
        validate_response: ValidateResponse | None = None,
        prepare_request: PrepareRequest | None = None,
        stop_when: Predicate | None = None,
        stop_after: Predicate | None = None,
        error_when: Predicate | None = None,
        on_comment: Listener | None = None,
        last_event_id_store: LastEventIdStore | None = None,
        with_credentials: bool = False,
        raise_listener_errors: bool = False,
    ) -> None:
        if last_event_id_store is not None and not last_event_id:
            last_event_id = last_event_id_store.load() or ""
        content, content_type = encode_body(body, json)
        all_headers = dict(headers or {})
        if content_type and not any(k.lower() == "content-type" for k in all_headers):
            all_headers["Content-Type"] = content_type
        self._conn = Connection(
            build_url(url, params),
            method=method,
            headers=all_headers,
            content=content,
            last_event_id=last_event_id,
            retry=retry,
            policy=RetryPolicy(
                backoff_factor=backoff_factor,
                max_backoff=max_backoff,
                jitter=jitter,
                min_retry=min_retry,
                max_retry=max_retry,
            ),
            max_event_size=max_event_size,
            max_redirects=max_redirects,
            max_reconnects=max_reconnects,
            secret_headers=secret_headers,
            allow_insecure_redirects=allow_insecure_redirects,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            reconnect=reconnect,
            max_reconnect_time=max_reconnect_time,
            status_policy=status_policy,
            on_comment=_comment_collector(weakref.ref(self)),
        )
        self._transport = make_transport(
            transport, session, client, TransportOptions(proxy, verify, cert, http2, trust_env)
        )
        self.validate_response = validate_response
        self.prepare_request = prepare_request
        self._store = last_event_id_store
        self.stop_when = stop_when
        self.stop_after = stop_after
        self.error_when = error_when
        self.on_comment: Listener | None = on_comment
        self._until_checkpoint = CHECKPOINT_EVERY
        self.withCredentials = with_credentials
        self.raise_listener_errors = raise_listener_errors
        self.onopen: Listener | None = None
        self.onmessage: Listener | None = None
        self.onerror: Listener | None = None
        self._listeners: dict[str, list[Listener]] = {}
        self._items: deque[Item] = deque()
        self._response: Response | None = None
        self._chunks: Any = None
        self._backlog: bytes | None = None  # a big read, decoded a slice at a time
        self._offset = 0
        self._delay: float | None = None
        self._fatal: EventSourceError | None = None
        self._closed = False
        self._finished = False  # a 204: end once the pending items are delivered
        self._released = False
        self._used = False  # a connection was attempted: there may be something to release
        self._busy = False
        self._restart_requested = False
        self._unsaved = False  # the last event ID changed but is not in the store yet
        self._scope: anyio.CancelScope | None = None
        self._last_id = last_event_id

    # -- the browser's attributes -------------------------------------------------

    @property
    def url(self) -> str:
        """The URL this EventSource connects to (with ``params`` applied)."""
        return self._conn.url

    @property
    def readyState(self) -> ReadyState:
        """``CONNECTING`` (0), ``OPEN`` (1) or ``CLOSED`` (2)."""
        return self._conn.state

    ready_state = readyState

    @property
    def lastEventId(self) -> str:
        """The last event ID seen: sent as ``Last-Event-ID`` on reconnect."""
        return self._last_id

    last_event_id = lastEventId

    @property
    def with_credentials(self) -> bool:
        """Python spelling of ``withCredentials`` (no effect outside a browser)."""
        return self.withCredentials

    @property
    def reconnection_time(self) -> float:
        """The current reconnection time in seconds (the server's ``retry:`` wins)."""
        return self._conn.reconnection_time

    def addEventListener(self, type: str, listener: Listener) -> None:
        """Call ``listener`` (sync or async) with each event of ``type``; added once."""
        listeners = self._listeners.setdefault(type, [])
        if listener not in listeners:
            listeners.append(listener)

    def removeEventListener(self, type: str, listener: Listener) -> None:
        """Stop calling ``listener`` for ``type``; unknown listeners are ignored."""
        listeners = self._listeners.get(type, [])
        if listener in listeners:
            listeners.remove(listener)

    add_event_listener = addEventListener
    remove_event_listener = removeEventListener

    def close(self) -> None:
        """Close now: CLOSED at once, and no event, callback or request after this.

        Safe from any task and from inside a listener. The connection is released
        by the iteration or ``run()`` that was in progress, or by ``aclose()``.
        """
        if self._closed:
            return
        logger.debug("closing %s", _redact(self.url))
        self._closed = True
        self._conn.close()
        self._items.clear()
        if self._scope is not None:
            self._scope.cancel()

    def restart(self) -> None:
        """Drop the current connection and reconnect at once, sending ``Last-Event-ID``.

        For a caller who knows the stream went stale or its credentials changed:
        ``prepare_request`` runs again. Events already received are still
        delivered first. Does nothing once closed.
        """
        if self._closed:
            return
        logger.debug("restart requested for %s", _redact(self.url))
        self._restart_requested = True
        if self._scope is not None:
            self._scope.cancel()

    async def aclose(self) -> None:
        """Close, and wait until the connection and any session we made are released."""
        self._save_last_id()
        self.close()
        # Shielded: aclose() often runs in a task being cancelled (leaving a task
        # group, a timeout), and a half-done cleanup would leak the connection.
        with anyio.CancelScope(shield=True):
            await self._release_all()

    async def __aenter__(self) -> EventSource:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- iteration ------------------------------------------------------------------

    def __aiter__(self) -> EventSource:
        return self

    async def __anext__(self) -> MessageEvent:
        """The next message event; ``open``/``error`` go to their listeners on the way.

        Raises:
            StopAsyncIteration: closed, or the server answered 204.
            EventSourceError: the connection failed for good.
        """
        items = self._items
        if items and self._plain and not self._busy and type(items[0]) is MessageEvent:
            # The fast path (as _take_plain, inlined): a decoded event, nothing else due.
            event: MessageEvent = items.popleft()  # type: ignore[assignment]
            self._last_id = event.last_event_id if items else self._conn.last_event_id
            if self._until_checkpoint:
                self._until_checkpoint -= 1
                return event
            self._until_checkpoint = CHECKPOINT_EVERY
            await anyio.lowlevel.checkpoint()  # cancellation and fairness, now and then
            return event
        while True:
            item = await self._next_item()
            if type(item) is MessageEvent:
                return item
            await self._dispatch(item)  # open, error and comment items

    def _take_plain(self) -> MessageEvent | None:
        """The fast path: the next decoded event when nothing but handing it out is due."""
        items = self._items
        if not items or not self._plain or self._busy or type(items[0]) is not MessageEvent:
            return None
        item: MessageEvent = items.popleft()  # type: ignore[assignment]
        self._last_id = item.last_event_id if items else self._conn.last_event_id
        return item

    async def run(self) -> None:
        """Dispatch every event to the listeners until the EventSource is closed.

        Async listeners are awaited before the next event is read (back-pressure).
        Returns when closed or after a 204; cancelling it closes the EventSource.

        Raises:
            EventSourceError: the connection failed for good (after ``onerror`` ran).
        """
        try:
            while True:
                item: Item | None = self._take_plain()
                if item is None:
                    try:
                        item = await self._next_item()
                    except StopAsyncIteration:
                        return
                elif self._until_checkpoint:
                    self._until_checkpoint -= 1
                else:
                    self._until_checkpoint = CHECKPOINT_EVERY
                    await anyio.lowlevel.checkpoint()
                await self._dispatch(item)
        finally:
            with anyio.CancelScope(shield=True):
                await self.aclose()

    @property
    def stop_when(self) -> Predicate | None:
        """End the stream before the event this matches (see the constructor)."""
        return self._stop_when

    @stop_when.setter
    def stop_when(self, predicate: Predicate | None) -> None:
        self._stop_when = predicate
        self._update_plain()

    @property
    def stop_after(self) -> Predicate | None:
        """End the stream after the event this matches (see the constructor)."""
        return self._stop_after

    @stop_after.setter
    def stop_after(self, predicate: Predicate | None) -> None:
        self._stop_after = predicate
        self._update_plain()

    @property
    def error_when(self) -> Predicate | None:
        """Raise for the event this matches (see the constructor)."""
        return self._error_when

    @error_when.setter
    def error_when(self, predicate: Predicate | None) -> None:
        self._error_when = predicate
        self._update_plain()

    def _update_plain(self) -> None:
        # Events can skip the slow path when no predicate or store must see them.
        self._plain = (
            getattr(self, "_stop_when", None) is None
            and getattr(self, "_stop_after", None) is None
            and getattr(self, "_error_when", None) is None
            and getattr(self, "_store", None) is None
        )

    async def _next_item(self) -> Item:
        if self._busy:
            raise RuntimeError("this EventSource is already being iterated by another task")
        self._busy = True
        self._save_last_id()
        try:
            while True:
                if self._closed:
                    await self._release_all()
                    raise StopAsyncIteration
                if self._items:
                    item = self._items.popleft()
                    if type(item) is MessageEvent and not await self._admit(item):
                        continue
                    if not self._items:
                        self._set_last_id(self._conn.last_event_id)
                    elif type(item) is MessageEvent:
                        self._set_last_id(item.last_event_id)
                    return item
                if self._fatal is not None:
                    error, self._fatal = self._fatal, None
                    self.close()
                    await self._release_all()
                    raise error
                if self._finished:
                    self.close()
                    continue
                if self._restart_requested:
                    self._restart_requested = False
                    self._delay = None
                    self._conn.interrupted()
                    await self._release_response()
                with anyio.CancelScope() as scope:
                    self._scope = scope
                    try:
                        await self._advance()
                    except BaseException:
                        # Cancelled (or worse) mid-step: drop the connection; the next
                        # step reconnects with Last-Event-ID, as after a network error.
                        with anyio.CancelScope(shield=True):
                            if self._closed:
                                await self._release_all()
                            else:
                                self._conn.interrupted()
                                await self._release_response()
                        raise
                    finally:
                        self._scope = None
        finally:
            self._busy = False

    async def _admit(self, event: MessageEvent) -> bool:
        """Apply ``error_when``/``stop_when``/``stop_after``; ``False`` withholds the event."""
        if self.error_when is not None and self.error_when(event):
            self._items.clear()
            await self._fail(ServerEventError(error_message(event), event=event))
            return False
        if self.stop_when is not None and self.stop_when(event):
            self._items.clear()
            await self._finish()
            return False
        if self.stop_after is not None and self.stop_after(event):
            self._items.clear()
            await self._finish()
        return True

    async def _finish(self) -> None:
        """A terminal event: drain the rest of the body (bounded) and end normally."""
        if self._chunks is not None:
            with anyio.CancelScope(shield=True):
                await drain(self._chunks, (TransportError,))
        await self._release_response()
        self._conn.close()
        self._finished = True

    def _set_last_id(self, value: str) -> None:
        if value != self._last_id:
            self._last_id = value
            if self._store is not None:
                # Saved when the caller comes back for more (or closes): by then it
                # has handled the event, so a crash never skips an unhandled event.
                self._unsaved = True

    def _save_last_id(self) -> None:
        if self._unsaved and self._store is not None:
            self._unsaved = False
            self._store.save(self._last_id)

    async def _advance(self) -> None:
        if self._response is None:
            if self._delay is not None:
                await anyio.sleep(self._delay)
                self._delay = None
            await self._connect()
            return
        backlog = self._backlog
        if backlog is None:
            try:
                chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                logger.debug("stream ended by the server")
                await self._lost(None)
                return
            except TransportError as exc:
                logger.debug("stream failed: %s", exc)
                await self._lost(exc)
                return
            if len(chunk) > FEED_SLICE:
                self._backlog, self._offset = chunk, 0
                backlog = chunk
        if backlog is not None:
            # A big read is decoded a slice at a time: fewer live events, less for
            # the garbage collector to scan, and memory bounded by one slice's events.
            start = self._offset
            chunk = backlog[start : start + FEED_SLICE]
            self._offset = start + FEED_SLICE
            if self._offset >= len(backlog):
                self._backlog = None
        try:
            events = self._conn.feed(chunk)
        except ProtocolError as exc:
            await self._fail(exc)
            return
        if events:
            self._items.extend(events)
        elif not self._items:
            self._set_last_id(self._conn.last_event_id)  # an id-only block
        if self._conn.error is not None:
            await self._fail(self._conn.error)

    async def _connect(self) -> None:
        attempt = self._conn.next_attempt()
        if self.prepare_request is not None:
            changed = self.prepare_request(attempt)
            if inspect.isawaitable(changed):
                changed = await changed
            if changed is not None:
                attempt = changed
        self._conn.begin_attempt(attempt)
        while True:
            request = self._conn.build_request()
            logger.debug("connecting to %s", _redact(request.url))
            self._used = True
            try:
                response = await self._transport.open(request)
            except TransportError as exc:
                logger.debug("connection failed: %s", exc)
                await self._lost(exc)
                return
            self._response = response  # from here on, any exit releases it
            verdict = self._conn.receive_response(response.status, response.headers, response.url)
            if isinstance(verdict, Redirect):
                logger.debug("redirected (%d) to %s", response.status, _redact(verdict.url))
                await self._release_response()
                continue
            if isinstance(verdict, Open):
                await self._open(response)
                return
            if isinstance(verdict, Stop):
                await self._release_response()
                logger.debug("server answered %s: not reconnecting", verdict.status)
                self._items.append(ErrorEvent(status=verdict.status))
                self._finished = True
                return
            error = verdict.error
            if isinstance(error, ResponseError):
                error.body = await excerpt(response.aiter_bytes(), (TransportError,))
            if isinstance(verdict, Reconnect):
                await self._release_response()
                self._schedule(verdict)
            else:
                await self._fail(verdict.error)
            return

    async def _open(self, response: Response) -> None:
        if self.validate_response is not None:
            info = ResponseInfo(response.status, response.headers, response.url)
            try:
                result = self.validate_response(info)
                if inspect.isawaitable(result):
                    await result
            except EventSourceError as exc:
                await self._fail(exc)
                return
            except Exception:
                self.close()
                raise
        logger.debug("open: %s", _redact(response.url))
        self._chunks = response.aiter_bytes()
        self._items.append(Event("open"))

    async def _lost(self, error: EventSourceError | None) -> None:
        await self._release_response()
        verdict = self._conn.connection_lost(error)
        if isinstance(verdict, Reconnect):
            self._schedule(verdict)
        elif isinstance(verdict, Stop):
            logger.debug("one-shot stream ended")
            self._finished = True
        else:
            logger.info("giving up on %s: %s", _redact(self.url), verdict.error)
            await self._fail(verdict.error)

    def _schedule(self, verdict: Reconnect) -> None:
        logger.info(
            "reconnecting to %s in %.3f s (attempt %d): %s",
            _redact(self.url),
            verdict.delay,
            verdict.attempt,
            verdict.error or "stream ended",
        )
        self._delay = verdict.delay
        status = verdict.error.status if isinstance(verdict.error, ResponseError) else None
        self._items.append(
            ErrorEvent(
                error=verdict.error,
                status=status,
                attempt=verdict.attempt,
                delay=verdict.delay,
                reconnecting=True,
            )
        )

    async def _fail(self, error: EventSourceError) -> None:
        await self._release_response()
        self._conn.fail()
        status = error.status if isinstance(error, ResponseError) else None
        logger.info("connection to %s failed: %s", _redact(self.url), error)
        self._items.append(ErrorEvent(error=error, status=status, attempt=self._conn.failures))
        self._fatal = error

    # -- listeners ------------------------------------------------------------------

    async def _dispatch(self, event: Item) -> None:
        if isinstance(event, _Comment):
            if self.on_comment is not None:
                await self._call(self.on_comment, event.text)
            return
        kind = event.type
        handler = None
        if type(event) is MessageEvent:
            if kind == "message":
                handler = self.onmessage
        elif kind == "open":
            handler = self.onopen
        elif kind == "error":
            handler = self.onerror
        if handler is not None and not self._closed:
            pending = self._invoke(handler, event)
            if pending is not None:
                await self._settle(pending, handler, event)
        listeners = self._listeners.get(kind)
        if listeners:
            for listener in tuple(listeners):
                if self._closed:
                    return
                pending = self._invoke(listener, event)
                if pending is not None:
                    await self._settle(pending, listener, event)

    async def _call(self, listener: Listener, event: object) -> None:
        if self._closed:
            return
        pending = self._invoke(listener, event)
        if pending is not None:
            await self._settle(pending, listener, event)

    def _invoke(self, listener: Listener, event: object) -> Awaitable[object] | None:
        """Call a listener; return what must still be awaited (an async listener's result)."""
        try:
            result = listener(event)
        except Exception:
            self._listener_failed(listener, event)
            return None
        if result is not None and inspect.isawaitable(result):
            return result
        return None

    async def _settle(self, pending: Awaitable[object], listener: Listener, event: object) -> None:
        try:
            await pending
        except Exception:
            self._listener_failed(listener, event)

    def _listener_failed(self, listener: Listener, event: object) -> None:
        if self.raise_listener_errors:
            raise  # re-raises the exception being handled by the caller
        kind = getattr(event, "type", "comment")
        logger.exception("listener %r raised on a %r event", listener, kind)

    # -- resources ------------------------------------------------------------------

    def __del__(self, _warn: Callable[..., None] = warnings.warn) -> None:
        if getattr(self, "_used", False) and not self._released:
            _warn(
                f"unclosed EventSource for {_redact(self.url)}: use 'async with' or "
                "'await es.aclose()'",
                ResourceWarning,
                source=self,
                stacklevel=2,
            )
            # Nothing can be awaited here, but an open response would stay checked
            # out of the session's pool (a session the user passed outlives us):
            # a transport that can close one synchronously does so now.
            abort = getattr(self._response, "abort", None)
            if abort is not None:
                with contextlib.suppress(Exception):  # best effort during collection
                    abort()

    async def _release_response(self) -> None:
        response, self._response = self._response, None
        chunks, self._chunks = self._chunks, None
        self._backlog = None
        close_chunks = getattr(chunks, "aclose", None)
        if close_chunks is not None:
            await close_chunks()
        if response is not None:
            await response.aclose()

    async def _release_all(self) -> None:
        await self._release_response()
        if not self._released:
            self._released = True
            await self._transport.aclose()
