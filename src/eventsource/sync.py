"""A blocking EventSource, for scripts, threads, WSGI views, task queues and notebooks.

The same processing model as :class:`eventsource.EventSource` (parser,
connection, listener dispatch, errors), moved by blocking calls on an
``httpx.Client`` (the ``httpx`` extra) instead of an event loop::

    from eventsource.sync import EventSource

    with EventSource(url) as es:
        for event in es:
            print(event.data)

It never touches an event loop, so it also works in code that runs inside
one (a Jupyter cell). ``close()`` is safe from any thread: a ``for`` loop
blocked in another thread ends at once.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from ._attributes import StreamAttributes, fixed_option
from ._commits import Commits
from ._errors import StoreError
from ._listeners import BrowserListeners, Listener, ListenerRegistry, check_callable
from ._options import build_connection
from ._parser import DEFAULT_MAX_EVENT_SIZE
from ._policy import StatusPolicy
from ._request import redact_url
from ._retry import RetryPolicy
from ._sendable import check_bool
from ._sync_callbacks import SyncPrepareRequest, SyncValidateResponse, refuse_awaitable
from ._sync_delivery import SyncDelivery
from ._sync_driver import SyncDriver
from ._sync_options import checked_store, httpx_module, sync_transport
from ._verdicts import Item, Predicate
from .stores import SyncLastEventIdStore

if TYPE_CHECKING:
    from ._transport._httpx_sync import HttpxTransport

__all__ = ["EventSource", "HttpxTransport"]

_USE_BLOCKING = (
    "use 'for' and 'with' with eventsource.sync.EventSource, "
    "or eventsource.EventSource for 'async for' and 'async with'"
)


def __getattr__(name: str) -> Any:
    if name == "HttpxTransport":
        return httpx_module().HttpxTransport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class EventSource(StreamAttributes, BrowserListeners, SyncDelivery):
    """A blocking Server-Sent Events client with the browser's API.

    Use it as ``for event in EventSource(url)`` (message events of every type,
    in stream order), or set ``onmessage``/``addEventListener`` and call
    ``es.run()``. It behaves as :class:`eventsource.EventSource` does: it
    reconnects after a network error or the end of the stream, waiting the
    reconnection time (the server's ``retry:`` wins, with backoff) and sending
    ``Last-Event-ID``; the status policy, predicates, store and typed errors
    are the same. Listeners, hooks and the store are plain functions: an
    ``async def`` one is refused with ``TypeError``.

    Prefer ``with EventSource(url) as es``: leaving the block releases the
    connection and the client we made. ``close()`` does the same, from any
    thread; a ``for`` loop blocked in another thread then ends at once.

    Args:
        url, headers, params, method, body, json, last_event_id, retry,
        retry_policy, reconnect, read_timeout, connect_timeout, max_event_size,
        max_redirects, secret_headers, allow_insecure_redirects, status_policy,
        stop_when, stop_after, error_when, on_comment, raise_listener_errors:
            As for :class:`eventsource.EventSource`.
        transport: ``"httpx"`` or ``None`` (an ``httpx.Client`` of ours), or
            :class:`HttpxTransport` (TLS, proxy, HTTP/2, your own ``httpx.Client``).
        validate_response: Called with each response that would open the stream
            (a :class:`~eventsource.ResponseInfo`); raise to refuse it.
        prepare_request: Called before every connection attempt with a
            :class:`~eventsource.ConnectAttempt` to change.
        last_event_id_store: A store with blocking ``load()`` and ``save()``
            (:class:`eventsource.stores.FileLastEventIdStore`); saved when you come
            back for the next event and at ``close()`` in the reading thread.

    Raises:
        ValueError, TypeError: as for :class:`eventsource.EventSource`; also
            ``TypeError`` for an async store or an async transport.
        StoreError: the store's ``load()`` failed (its exception is the ``__cause__``)
            or gave something other than a ``str`` or ``None``.
        ImportError: without the ``httpx`` extra (the message names it).
    """

    __slots__ = ("__dict__", "__weakref__", "_connection", "_driver", "listeners")

    # Hooks the asynchronous client lets you set afterwards; this one takes them when made.
    prepare_request = fixed_option("prepare_request")
    validate_response = fixed_option("validate_response")

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
        transport: HttpxTransport | Literal["httpx"] | None = None,
        status_policy: StatusPolicy | Literal["strict"] | None = None,
        validate_response: SyncValidateResponse | None = None,
        prepare_request: SyncPrepareRequest | None = None,
        stop_when: Predicate | None = None,
        stop_after: Predicate | None = None,
        error_when: Predicate | None = None,
        on_comment: Listener | None = None,
        last_event_id_store: SyncLastEventIdStore | None = None,
        raise_listener_errors: bool = False,
    ) -> None:
        store = checked_store(last_event_id_store)
        stored_id = None
        if store is not None and not last_event_id:
            try:
                stored_id = store.load()
            except Exception as exc:  # as the async client: never a silent start
                message = f"the last-event-id store {store!r} failed to load: {exc}"
                raise StoreError(message) from exc
            refuse_awaitable(stored_id, "last_event_id_store.load()")
            if stored_id is not None and not isinstance(stored_id, str):  # as the async client
                raise StoreError(
                    f"the last-event-id store {store!r} loaded a "
                    f"{type(stored_id).__name__}, not a str"
                )
        # Before the transport is made: a refused option leaves nothing to close.
        check_callable(on_comment, "on_comment")
        check_bool(raise_listener_errors, "raise_listener_errors")
        connection = build_connection(
            url,
            headers=headers,
            params=params,
            method=method,
            body=body,
            json=json,
            last_event_id=last_event_id,
            stored_id=stored_id,
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
        chosen, owned = sync_transport(transport)
        self._connection = connection
        self._driver = SyncDriver(
            connection,
            chosen,
            owns_transport=owned,
            prepare_request=check_callable(prepare_request, "prepare_request"),
            validate_response=check_callable(validate_response, "validate_response"),
        )
        # What the last read said, not handed out yet: the next item last, so
        # that handing it out is a pop() (a deque keeps up to 16 blocks of
        # 64 items it no longer holds: 8 KiB a stream after a burst).
        self._items: list[Item] = []
        self._handed_id = connection.last_event_id
        self._commits = Commits(self._handed_id)
        self._store = store
        self._reader = 0  # threading.get_ident() of the thread that iterates
        self._rejudge = False
        self.listeners = ListenerRegistry()  # also keeps the on<type> handlers
        self.on_comment = on_comment  # checked: callable or None
        self.raise_listener_errors = raise_listener_errors  # checked

    # -- the browser's attributes -------------------------------------------------

    @property
    def lastEventId(self) -> str:
        """The last event ID as of the last event handed out: sent as ``Last-Event-ID``."""
        return self._handed_id

    last_event_id = lastEventId

    def _judge_waiting(self) -> None:
        # Any thread may be taking these items right now, not only the one that
        # read last: judged here, they would be copied, cut and written back under
        # it (an event it took came back). It judges them before its next item.
        self._rejudge = True

    def close(self) -> None:
        """Close now, from any thread, and release the connection and the client we made.

        CLOSED at once, no event, callback or request after this; a ``for`` loop
        or ``run()`` blocked in another thread returns. It takes the last event
        handed out as handled and saves its ID to the store (leaving a ``with``
        block by an exception, or ``run()`` by an error, does not). From another
        thread it saves nothing: the reading thread may still be handling that
        event, and saves its ID when it comes back for the next one.

        Raises:
            StoreError: the save of the last handled ID failed, also when tried
                again (the connection is closed all the same).
        """
        self._close(save=True)

    def _close(self, *, save: bool) -> None:
        # Only the reading thread knows that it handled what it was handed.
        flush = save and self._reader in (0, threading.get_ident())
        self._driver.close()
        self._driver.release()
        if flush:
            self._flush()

    def __enter__(self) -> EventSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close(save=exc is None)

    # `async with` or `async for` would fail with Python's bare "does not support
    # the asynchronous context manager protocol": these say which client to use.
    def __aenter__(self) -> NoReturn:
        raise TypeError(_USE_BLOCKING)

    def __aexit__(self, *exc_info: object) -> NoReturn:
        raise TypeError(_USE_BLOCKING)

    # -- iteration ------------------------------------------------------------------

    def __aiter__(self) -> NoReturn:
        raise TypeError(_USE_BLOCKING)

    def __iter__(self) -> EventSource:
        """Iterate over the message events of every type, in stream order."""
        return self

    def run(self) -> None:
        """Dispatch every event to the listeners until the EventSource is closed.

        Returns when closed (also by ``close()`` from another thread or a
        listener) or after a 204.

        Raises:
            EventSourceError: the connection failed for good (after ``onerror`` ran).
            RuntimeError: another thread is reading the EventSource (it reads on).
        """
        if self._driver.busy:  # refused before the `finally` below would close its stream
            raise RuntimeError("this EventSource is already being read by another thread")
        finished = False
        try:
            for event in self:
                self._dispatch(event)
            finished = True
        finally:
            self._close(save=finished)

    def __del__(self, _warn: Callable[..., None] = warnings.warn) -> None:
        driver = getattr(self, "_driver", None)
        if driver is not None and driver.unreleased:
            _warn(
                f"unclosed EventSource for {redact_url(self.url)}: use 'with' or 'es.close()'",
                ResourceWarning,
                source=self,
                stacklevel=2,
            )
            driver.release()
