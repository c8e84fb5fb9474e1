"""EventSource, the public class: options, the browser's API, closing; its bases add the rest.

It composes the pieces of the read path: a ``Connection`` (the processing
model, sans-IO) and a ``Driver`` (the I/O) give items in wire order; a
``Delivery`` hands the message events out (``async for``, ``batches()``) and
dispatches the rest to listeners (``run()`` dispatches all): the ways to read
are its base ``_reading.Reading``, the browser's attributes and listeners
``_attributes`` and ``_listeners``. There is no background task, no queue
beyond one read's items, and no async generator: a cancelled ``__anext__``
leaves nothing half done.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any, Literal, NoReturn

from ._attributes import StreamAttributes
from ._checkpoint import Checkpoint
from ._delivery import Delivery
from ._driver import Driver
from ._driver_connect import PrepareRequest, ValidateResponse
from ._listeners import BrowserListeners, Listener, ListenerRegistry, check_callable
from ._options import build_connection
from ._parser import DEFAULT_MAX_EVENT_SIZE
from ._policy import StatusPolicy
from ._reading import Reading
from ._retry import RetryPolicy
from ._source_hooks import Hooks
from ._transport._select import TransportChoice, default_transport, make_transport
from ._verdicts import Predicate
from .stores import LastEventIdStore, SyncLastEventIdStore

__all__ = ["EventSource", "Listener"]

_USE_ASYNC = (
    "use 'async for' and 'async with' with eventsource.EventSource, "
    "or eventsource.sync.EventSource for a blocking 'for' loop and 'with'"
)


class EventSource(StreamAttributes, Hooks, BrowserListeners, Reading):
    """A Server-Sent Events client with the browser's API, for asyncio and trio.

    Use it as ``async for event in EventSource(url)`` (message events of every
    type, in stream order), ``async for batch in es.batches()`` (the events of
    each network read), or set ``onmessage``/``addEventListener`` and ``await
    es.run()``. It reconnects after a network error or the end of the stream,
    waiting the reconnection time (the server's ``retry:`` wins) and sending
    ``Last-Event-ID``. A status other than 200 (but for 429, 502, 503 and 504,
    retried), a content type other than ``text/event-stream``, or a broken
    limit fails it for good: it becomes CLOSED, fires ``error``, and iteration
    raises the typed error. A 204 ends it without an error.

    Prefer ``async with EventSource(url) as es``: leaving the block releases the
    connection and any session we created. A session or client you pass (in a
    transport object) is never closed by us.

    Args:
        url: An absolute ``http``/``https`` URL (spaces around it are dropped).
        headers: Extra request headers, sent on every connection (spaces and tabs
            around a value are dropped, as Fetch does).
        params: Query parameters appended to ``url``: a mapping or ``(name, value)``
            pairs, encoded as httpx does (a list value repeats the name; ``True``
            is ``true``, ``None`` empty).
        method: The HTTP method; any verb.
        body: A request body (``str`` or ``bytes``), sent again on every reconnect.
        json: A value sent as a JSON body (instead of ``body``).
        last_event_id: Resume from this id: sent as ``Last-Event-ID`` on the first request.
        retry: The initial reconnection time in seconds (the server's ``retry:`` replaces it).
        retry_policy: Backoff, jitter, clamps of the server's ``retry:`` and the
            reconnect budget (:class:`~eventsource.RetryPolicy`; its defaults when ``None``).
        reconnect: ``False`` for one-shot streams (an LLM completion): the end of the body
            ends iteration normally and a network error raises; nothing reconnects.
        read_timeout: Seconds without a byte (comments count) after which the connection is
            treated as dead and reconnected; ``None`` waits forever, as browsers do.
        connect_timeout: Seconds to open the connection (TCP, TLS, a pool slot), and
            again to get the response headers after it; then the attempt fails
            (``ConnectError``, or ``TransportError`` once the request may have
            been sent) and is retried. ``None`` waits forever.
        max_event_size: Bound in bytes on one line or one event's data (``ProtocolError``).
        max_redirects: How many redirects one connection attempt may follow.
        secret_headers: More header names that, like ``Authorization``, ``Cookie``
            and the API-key headers ``x-api-key``, ``api-key``, ``x-goog-api-key``
            and ``x-auth-token``, are never sent after a redirect to another origin.
        allow_insecure_redirects: Follow a redirect from https to http.
        transport: ``"aiohttp"``, ``"httpx"`` (the ``httpx`` extra; runs on asyncio and
            trio), ``None`` (the default: aiohttp on asyncio, httpx on trio, chosen at
            the first connection), or a transport object such as
            ``AiohttpTransport(session=...)`` or ``HttpxTransport(http2=True)`` from
            :mod:`eventsource.transports` (TLS, proxy, HTTP/2, your own session or client).
        status_policy: What a non-200 (or non-event-stream) response means: ``None``
            retries 429, 502, 503 and 504 (:func:`~eventsource.retry_transient`),
            ``"strict"`` fails on every status as the browser does, or a callable of a
            :class:`~eventsource.ResponseInfo` returning ``"fail"``, ``"retry"``,
            ``"accept"`` or seconds to wait.
        validate_response: Called with each response that would open the stream,
            before the ``open`` event and any event of its body (sync or async;
            ``readyState`` already reads OPEN); raise to refuse it. An
            ``EventSourceError`` fails the EventSource; any other exception
            propagates to the caller.
        prepare_request: Called before every connection attempt (sync or async) with a
            :class:`~eventsource.ConnectAttempt` to change (headers, URL, method, body).
            An ``EventSourceError`` it raises fails the EventSource, with nothing sent
            (:func:`eventsource.mcp.prepare_request` does so).
        stop_when: End the stream, without delivering it, at the event this matches
            (``eventsource.sentinels.is_done`` for ``data: [DONE]``).
        stop_after: End the stream after delivering the event this matches
            (``eventsource.sentinels.is_message_stop``, ``is_response_completed``).
        error_when: Raise :class:`~eventsource.ServerEventError` for the event this
            matches (``eventsource.sentinels.is_error_event``), instead of yielding it.
        on_comment: Called (sync or async) with the text of each comment line, such as
            heartbeats, in stream order; also settable as the ``on_comment`` attribute.
        last_event_id_store: Loads the last event ID before the first connection (unless
            ``last_event_id`` is given) and saves the ID of the events handled, beside
            delivery: a :class:`~eventsource.stores.LastEventIdStore` (async) or a
            :class:`~eventsource.stores.SyncLastEventIdStore` (run in a worker thread).
            Its failure to load raises :class:`~eventsource.stores.StoreError` where you
            iterate; see the "Durable consumers" page.
        raise_listener_errors: Let a listener's exception propagate out of ``run()`` and
            iteration instead of logging it.

    Raises:
        ValueError: something no request could carry, named in the message: a URL
            that is not absolute ``http``/``https``, or has no host, a character
            not allowed in a host, an invalid port or a control character; a
            method or header name that is not an HTTP token; a header value or
            ``last_event_id`` with a control character (tab aside); a timeout
            of zero, below zero or NaN.
        TypeError: ``body`` with ``json``, a header name or value or ``last_event_id``
            that is not a ``str``, or a ``transport`` that is not one.
        ImportError: ``transport="httpx"`` without the ``httpx`` extra (under trio
            without ``transport=``, raised where you iterate).
    """

    __slots__ = (
        "__dict__",
        "__weakref__",
        "_connection",
        "_delivery",
        "_driver",
        "listeners",
    )

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
        retry_policy: RetryPolicy | None = None,
        reconnect: bool = True,
        read_timeout: float | None = None,
        connect_timeout: float | None = 30.0,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        max_redirects: int = 20,
        secret_headers: Iterable[str] = (),
        allow_insecure_redirects: bool = False,
        transport: TransportChoice = None,
        status_policy: StatusPolicy | Literal["strict"] | None = None,
        validate_response: ValidateResponse | None = None,
        prepare_request: PrepareRequest | None = None,
        stop_when: Predicate | None = None,
        stop_after: Predicate | None = None,
        error_when: Predicate | None = None,
        on_comment: Listener | None = None,
        last_event_id_store: LastEventIdStore | SyncLastEventIdStore | None = None,
        raise_listener_errors: bool = False,
    ) -> None:
        connection = build_connection(
            url,
            headers=headers,
            params=params,
            method=method,
            body=body,
            json=json,
            last_event_id=last_event_id,
            retry=retry,
            retry_policy=retry_policy,
            reconnect=reconnect,
            read_timeout=read_timeout,
            connect_timeout=connect_timeout,
            max_event_size=max_event_size,
            max_redirects=max_redirects,
            secret_headers=secret_headers,
            allow_insecure_redirects=allow_insecure_redirects,
            status_policy=status_policy,
            stop_when=stop_when,
            stop_after=stop_after,
            error_when=error_when,
        )
        last_event_id = connection.last_event_id
        self._connection = connection
        self._driver = Driver(
            connection,
            None if transport is None else make_transport(transport),
            default_transport=default_transport,  # the running loop's: httpx on trio
            prepare_request=check_callable(prepare_request, "prepare_request"),
            validate_response=check_callable(validate_response, "validate_response"),
        )
        self.listeners = ListenerRegistry()  # also keeps the on<type> handlers below
        self.on_comment = on_comment  # checked: callable or None
        self.raise_listener_errors = raise_listener_errors  # checked
        self._delivery = Delivery(
            connection,
            self._driver,
            self.listeners,
            None
            if last_event_id_store is None
            else Checkpoint(last_event_id_store, last_event_id, needs_load=not last_event_id),
        )

    # -- the browser's attributes -------------------------------------------------

    def _judge_waiting(self) -> None:
        self._delivery.rejudge()

    def close(self) -> None:
        """Close now: CLOSED at once, and no event, callback or request after this.

        Safe from any task and from inside a listener. The connection is released
        by the iteration or ``run()`` that was in progress, or by ``aclose()``.

        Raises:
            RuntimeError: called from another thread while the event loop of a
                thread holds the stream: reads it, or holds a connection not
                released yet (``loop.call_soon_threadsafe(es.close)``); not once
                that thread has ended.
        """
        self._delivery.check_thread("close")
        self._delivery.catch_up()
        self._delivery.close()

    def restart(self) -> None:
        """Drop the current connection and reconnect at once, sending ``Last-Event-ID``.

        For a caller who knows the stream went stale or its credentials changed:
        ``prepare_request`` runs again. Events already received are still
        delivered first. Does nothing once closed. Raises ``RuntimeError`` as
        :meth:`close` does, from another thread.
        """
        self._delivery.check_thread("restart")
        self._driver.restart()

    async def aclose(self) -> None:
        """Close, and wait until the connection and any session we made are released.

        Safe from any task, also while another task iterates. It takes the last
        event handed out as handled, and waits until its ID is saved to the
        store; from another task than the one iterating, only the events that
        task came back for count (it may still be handling the last one).
        Leaving an ``async with`` block by an exception, or ``run()`` by a
        cancellation or an error, waits for a save in flight but saves nothing
        new (that event comes again after a restart). ``close()`` waits for
        nothing: a save in flight goes on.

        Raises:
            StoreError: the store failed to save the last handled ID, twice.
        """
        await self._aclose(save=True)

    async def _aclose(self, *, save: bool) -> None:
        self._delivery.catch_up()
        handled = self._delivery.handled_id() if save else None
        self.close()
        await self._driver.aclose()  # shielded: a half-done cleanup would leak
        store = self._delivery.store
        if store is not None:
            await store.flush(handled)

    async def __aenter__(self) -> EventSource:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._aclose(save=exc is None)

    # A plain `with` or `for` would fail with Python's bare "does not support the
    # context manager protocol" or "is not iterable": these say which client to use.
    def __enter__(self) -> NoReturn:
        raise TypeError(_USE_ASYNC)

    def __exit__(self, *exc_info: object) -> NoReturn:
        raise TypeError(_USE_ASYNC)

    def __iter__(self) -> NoReturn:
        raise TypeError(_USE_ASYNC)
