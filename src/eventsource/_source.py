"""EventSource, the public class: options, the browser's API, listeners and iteration.

The reading itself is the pull loop of ``_loop``; decisions come from
``_connection``. The callback API (``run()``) is a thin layer over the same
pull-based steps that ``async for`` uses: there is no background task and no
unbounded queue.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import ssl
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Iterable, Mapping
from types import AsyncGeneratorType, TracebackType
from typing import Any, ClassVar, Literal, cast

import anyio

from ._connection import Connection, build_url, encode_body
from ._event import MessageEvent, ReadyState
from ._loop import (
    Item,
    Listener,
    Predicate,
    PrepareRequest,
    StreamLoop,
    ValidateResponse,
    _Comment,
    comment_collector,
)
from ._parser import DEFAULT_MAX_EVENT_SIZE
from ._policy import StatusPolicy
from ._retry import RetryPolicy
from ._sendable import check_headers
from ._store import LastEventIdStore
from ._transport._base import Transport
from ._transport._select import TransportOptions, make_transport

__all__ = ["EventSource", "Listener"]

logger = logging.getLogger("eventsource")


class EventSource(StreamLoop):
    """A Server-Sent Events client with the browser's API, for asyncio and trio.

    Use it as ``async for event in EventSource(url)`` (message events of every
    type, in stream order), or set ``onmessage``/``addEventListener`` and
    ``await es.run()``. It reconnects after a network error or the end of the
    stream, waiting the reconnection time (the server's ``retry:`` wins; failures
    in a row back off) and sending ``Last-Event-ID``; a 429, 502, 503 or 504
    reconnects too (see ``status_policy``). Any other status than 200, a content
    type other than ``text/event-stream``, or a broken limit fails it for good:
    it becomes CLOSED, fires ``error``, and iteration raises the typed error. A
    204 ends it without an error.

    Prefer ``async with EventSource(url) as es``: leaving the block releases the
    connection and any session we created. A session or client you pass is
    never closed by us.

    Args:
        url: An absolute ``http``/``https`` URL (spaces around it are dropped).
        headers: Extra request headers, sent on every connection (spaces and tabs
            around a value are dropped, as Fetch does).
        params: Query parameters appended to ``url``.
        method: The HTTP method; any verb.
        body: A request body (``str`` or ``bytes``), sent again on every reconnect.
        json: A value sent as a JSON body (instead of ``body``).
        last_event_id: Resume from this id: sent as ``Last-Event-ID`` on the first request.
        retry: The initial reconnection time in seconds (the server's ``retry:`` replaces it).
        backoff_factor: Growth of the delay per consecutive failure (1.0: constant, as browsers).
        max_backoff: Ceiling in seconds of the grown delay.
        jitter: Fraction of each delay that may be removed at random (0 to 1); 0.5 spreads
            clients that lost one server together over the second half of each delay.
        min_retry: Floor in seconds for the server's ``retry:``.
        max_retry: Ceiling in seconds for the server's ``retry:``; ``None`` for none.
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
        status_policy: Decides what a non-200 (or non-event-stream) response means: a
            callable returning ``"fail"`` (the browser's answer), ``"retry"``, seconds to
            wait at least, or ``"accept"``. The default, ``None``, is
            :func:`~eventsource.retry_transient`: 429, 502, 503 and 504 reconnect with
            backoff, honouring ``Retry-After`` (at most 300 s). ``"strict"`` fails on
            every status, as the browser does.
        validate_response: Called with each response before it is accepted as OPEN
            (sync or async); raise to refuse it. An ``EventSourceError`` fails the
            EventSource; any other exception propagates to the caller.
        prepare_request: Called before every connection attempt (sync or async) with a
            :class:`~eventsource.ConnectAttempt` to change (headers, URL, method, body).
            An ``EventSourceError`` it raises fails the EventSource, with nothing sent
            (:func:`eventsource.mcp.prepare_request` does so).
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

    Raises:
        ValueError: something no request could carry, named in the message: a URL
            that is not absolute ``http``/``https``, or has no host, a character
            not allowed in a host, an invalid port or a control character; a
            method or header name that is not an HTTP token; a header value or
            ``last_event_id`` with a control character (tab aside).
        TypeError: a header name or value that is not a ``str``.
    """

    # Slots (see StreamLoop); __dict__ keeps other attributes settable, as on a
    # browser's EventSource, without making a dict until one is set.
    __slots__ = (
        "__dict__",
        "_listeners",
        "onerror",
        "onmessage",
        "onopen",
        "raise_listener_errors",
        "withCredentials",
    )

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
        jitter: float = 0.5,
        min_retry: float = 0.5,
        max_retry: float | None = 60.0,
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
        status_policy: StatusPolicy | Literal["strict"] | None = None,
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
        if last_event_id:
            # Yours: refused now if it cannot be sent. One the server sent (from
            # the store) is cleaned or left out when sent, as during the stream.
            check_headers({"Last-Event-ID": last_event_id}, what="last_event_id")
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
            on_comment=comment_collector(weakref.ref(self)),
        )
        self._transport = make_transport(
            transport, session, client, TransportOptions(proxy, verify, cert, http2, trust_env)
        )
        self.validate_response = validate_response
        self.prepare_request = prepare_request
        self.on_comment: Listener | None = on_comment
        self._init_loop(self._conn, self._transport, last_event_id_store, last_event_id)
        self.stop_when = stop_when
        self.stop_after = stop_after
        self.error_when = error_when
        self.withCredentials = with_credentials
        self.raise_listener_errors = raise_listener_errors
        self.onopen: Listener | None = None
        self.onmessage: Listener | None = None
        self.onerror: Listener | None = None
        self._listeners: dict[str, list[Listener]] = {}

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
        if self._batch_source:
            return self._handed_id()
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
        self._close_now()
        self._finish_iterator()

    def restart(self) -> None:
        """Drop the current connection and reconnect at once, sending ``Last-Event-ID``.

        For a caller who knows the stream went stale or its credentials changed:
        ``prepare_request`` runs again. Events already received are still
        delivered first. Does nothing once closed.
        """
        self._request_restart()

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

    def __aiter__(self) -> AsyncIterator[MessageEvent]:
        """The message events, in stream order (what ``__anext__`` returns, one by one).

        The same iterator again while it is unfinished: an ``async for`` after
        a ``break`` goes on where the last one stopped. ``close()`` and
        ``aclose()`` finish it.
        """
        events = self._events
        if events is None:
            events = self._events = cast(AsyncGeneratorType[MessageEvent, None], self._iterate())
        return events

    async def _iterate(self) -> AsyncGenerator[MessageEvent, None]:
        # An async generator: resuming it costs less than a coroutine per
        # __anext__ call. This EventSource keeps it until close()/aclose()
        # finish it, so a `break` drops nothing unfinished (trio warns then).
        try:
            while True:
                batch = self._batch
                take = batch.pop
                while batch:  # emptied in place if it must not be handed out
                    yield take()
                try:
                    event = await self.__anext__()
                except StopAsyncIteration:
                    return
                yield event
        finally:
            self._events = None

    def _finish_iterator(self) -> None:
        # End the async-for iterator now, if it waits at a `yield` (not when it
        # runs: then it ends by itself, the EventSource being closed). Nothing
        # in it awaits on the way out, so one step of aclose() finishes it.
        events = self._events
        if events is not None and not events.ag_running:
            with contextlib.suppress(StopIteration):
                events.aclose().send(None)

    async def __anext__(self) -> MessageEvent:
        """The next message event; ``open``/``error`` go to their listeners on the way.

        Raises:
            StopAsyncIteration: closed, or the server answered 204.
            EventSourceError: the connection failed for good.
        """
        batch = self._batch
        if batch:
            # The fast path: the next event of a batch, with nothing else due (the
            # batch was sized to the checkpoint budget and no predicate or store
            # must see its events; see StreamLoop._decode).
            return batch.pop()
        while True:
            item = await self._next_item()
            if type(item) is MessageEvent:
                return item
            await self._dispatch(item)  # open, error and comment items

    async def run(self) -> None:
        """Dispatch every event to the listeners until the EventSource is closed.

        Async listeners are awaited before the next event is read (back-pressure).
        Returns when closed or after a 204; cancelling it closes the EventSource.

        Raises:
            EventSourceError: the connection failed for good (after ``onerror`` ran).
        """
        try:
            async for event in self:  # open and error events are dispatched on the way
                listeners = self._listeners
                if listeners and listeners.get(event.type):
                    await self._dispatch(event)
                    continue
                # Only the onmessage attribute (or nothing) to call: no dispatch
                # coroutine and no helper call for the commonest case.
                handler = self.onmessage if event.type == "message" else None
                if handler is None:
                    continue
                try:
                    result = handler(event)
                except Exception:
                    self._listener_failed(handler, event)
                    continue
                if result is not None and inspect.isawaitable(result):
                    await self._settle(result, handler, event)
        finally:
            with anyio.CancelScope(shield=True):
                await self.aclose()

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
