"""The pull loop under ``EventSource``: connect, read, decode, wait, reconnect.

One step per call, each inside an anyio cancel scope that ``close()`` and
``restart()`` cancel. Every decision comes from ``_connection``; the public
API and the listeners live in ``_source``. Imports the transport protocol,
never aiohttp or httpx.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import warnings
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import AsyncGeneratorType
from typing import Any, TypeAlias

import anyio
import anyio.lowlevel

from ._connection import (
    ConnectAttempt,
    Connection,
    Open,
    Reconnect,
    Redirect,
    Stop,
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
from ._event import ErrorEvent, Event, MessageEvent
from ._policy import ResponseInfo
from ._store import LastEventIdStore
from ._transport._base import Response, Transport

__all__ = [
    "CHECKPOINT_AT_MOST",
    "CHECKPOINT_EVERY",
    "FEED_SLICE",
    "Item",
    "Listener",
    "Predicate",
    "PrepareRequest",
    "StreamLoop",
    "ValidateResponse",
    "comment_collector",
]

logger = logging.getLogger("eventsource")

# Logs name the endpoint, never a query string or userinfo (they may hold tokens).
_redact = redact_url

#: After this many events handed out, pass an anyio checkpoint before the next
#: network read: a cancellation is noticed and other tasks run even while a
#: stream bursts, and at that point nothing of the last read is held (with
#: thousands of streams, reads and events held across checkpoints add up).
CHECKPOINT_EVERY = 64
#: Never hand out more buffered events than this without a checkpoint (a read
#: of many tiny events): the most a batch holds.
CHECKPOINT_AT_MOST = 1024
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


def comment_collector(ref: weakref.ref[StreamLoop]) -> Callable[[str], None]:
    # A weak reference: the parser must not keep its EventSource alive (the
    # unclosed-EventSource warning relies on prompt collection).
    def collect(text: str) -> None:
        source = ref()
        if source is not None and source.on_comment is not None:
            source._items.append(_Comment(text))

    return collect


class StreamLoop:
    """The state and the steps of reading one stream, shared by ``async for`` and ``run()``."""

    # Slots: with thousands of streams, a dict of 40 attributes (1.5 KiB) each adds up.
    __slots__ = (
        "__weakref__",
        "_backend_checkpoint",
        "_backlog",
        "_batch",
        "_batch_source",
        "_busy",
        "_chunks",
        "_closed",
        "_conn",
        "_delay",
        "_error_when",
        "_events",
        "_fatal",
        "_finished",
        "_items",
        "_judged",
        "_last_id",
        "_later",
        "_offset",
        "_plain",
        "_released",
        "_response",
        "_restart_requested",
        "_scope",
        "_scope_class",
        "_stop_after",
        "_stop_when",
        "_store",
        "_transport",
        "_unsaved",
        "_until_checkpoint",
        "_used",
        "on_comment",
        "prepare_request",
        "validate_response",
    )

    # Set by the subclass's constructor.
    prepare_request: PrepareRequest | None
    validate_response: ValidateResponse | None
    on_comment: Listener | None

    def _init_loop(
        self,
        conn: Connection,
        transport: Transport,
        store: LastEventIdStore | None,
        last_event_id: str,
    ) -> None:
        self._conn = conn
        self._transport = transport
        self._store = store
        self._items: deque[Item] = deque()
        # Events decoded while nothing else waited and nothing must judge them
        # are handed out in batches (see __anext__): `_batch` is the current one,
        # `_later` the rest of the decode; both last event first, so each event
        # is a list pop. `_batch_source` is the batch as taken (see _handed_id).
        self._batch: list[MessageEvent] = []
        self._later: list[MessageEvent] = []
        self._batch_source: list[MessageEvent] = []
        self._events: AsyncGeneratorType[MessageEvent, None] | None = None  # see __aiter__
        self._response: Response | None = None
        self._chunks: Any = None
        self._backlog: bytes | None = None  # a big read, decoded a slice at a time
        self._offset = 0
        self._delay: float | None = None
        self._fatal: EventSourceError | None = None
        self._closed = False
        self._finished = False  # a 204 or a sentinel: end once the pending items are out
        self._released = False
        self._used = False  # a connection was attempted: there may be something to release
        self._busy = False
        self._restart_requested = False
        self._unsaved = False  # the last event ID changed but is not in the store yet
        self._scope: anyio.CancelScope | None = None
        self._last_id = last_event_id
        self._until_checkpoint = CHECKPOINT_AT_MOST  # counted down per event taken
        self._backend_checkpoint: Callable[[], Awaitable[object]] | None = None
        self._plain = store is None
        self._judged = False  # a predicate must see each event (see _admit)
        self._scope_class: type[anyio.CancelScope] | None = None
        self._stop_when: Predicate | None = None
        self._stop_after: Predicate | None = None
        self._error_when: Predicate | None = None

    def _close_now(self) -> None:
        if self._closed:
            return
        logger.debug("closing %s", _redact(self._conn.url))
        self._closed = True
        self._conn.close()
        self._unbatch()
        self._items.clear()
        if self._scope is not None:
            self._scope.cancel()

    def _request_restart(self) -> None:
        if self._closed:
            return
        logger.debug("restart requested for %s", _redact(self._conn.url))
        self._restart_requested = True
        if self._scope is not None:
            self._scope.cancel()

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
        self._judged = not (
            self._stop_when is None and self._stop_after is None and self._error_when is None
        )
        self._plain = not self._judged and self._store is None
        if self._judged:
            self._unbatch()  # a predicate must see the events still batched

    def _take_batch(self) -> None:
        """Move the next events of ``_later``, up to the checkpoint budget, to ``_batch``."""
        later = self._later
        budget = self._until_checkpoint
        if len(later) > budget:
            self._batch, self._later = later[-budget:], later[:-budget]
        else:
            self._batch, self._later = later, []
        self._batch_source = self._batch.copy()
        self._until_checkpoint = budget - len(self._batch)

    def _handed_id(self) -> str:
        """The last event ID after the last event handed out from the batch.

        Worked out when asked, not per event: as after any event, it is the
        event's own, or the stream's when nothing else is queued behind it
        (which counts an id-only block after it).
        """
        handed = self._batch_source[len(self._batch)]  # the last one popped
        if self._batch or self._later or self._items:
            return handed.last_event_id
        return self._conn.last_event_id

    def _settle_batch(self) -> None:
        if self._batch_source:
            self._set_last_id(self._handed_id())
            self._batch_source = []

    def _unbatch(self) -> None:
        """Put the batched events not handed out yet back in front of ``_items``."""
        self._settle_batch()  # while what is queued still tells which id is in force
        # Last first: extendleft restores the order. The batch is emptied in
        # place, since an iterator may hold the list.
        self._items.extendleft(self._later)
        self._items.extendleft(self._batch)
        self._batch.clear()
        self._later = []

    async def _checkpoint(self) -> None:
        """An anyio checkpoint, with the running backend looked up once, not each time.

        ``anyio.lowlevel.checkpoint`` finds the backend on every call, which costs
        as much again as the checkpoint itself; on asyncio it then awaits
        ``asyncio.sleep(0)``, which is what this does directly.
        """
        self._until_checkpoint = CHECKPOINT_AT_MOST
        checkpoint = self._backend_checkpoint
        if checkpoint is None:
            try:
                asyncio.get_running_loop()
            except RuntimeError:  # not asyncio: trio
                checkpoint = anyio.lowlevel.checkpoint
            else:
                checkpoint = functools.partial(asyncio.sleep, 0)
            self._backend_checkpoint = checkpoint
        await checkpoint()

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
                if self._batch:  # the first event of a batch (__anext__ hands out the rest)
                    return self._batch.pop()
                self._settle_batch()
                if self._later:
                    if self._until_checkpoint <= 0:
                        await self._checkpoint()  # before any is taken: none lost if cancelled
                    self._take_batch()
                    continue
                if self._items:
                    if type(self._items[0]) is MessageEvent:
                        self._until_checkpoint -= 1
                        if not self._until_checkpoint:
                            await self._checkpoint()
                    item = self._items.popleft()
                    if self._judged and type(item) is MessageEvent and not await self._admit(item):
                        continue
                    if not self._items:
                        self._set_last_id(self._conn.last_event_id)
                    elif type(item) is MessageEvent:
                        self._set_last_id(item.last_event_id)
                    return item
                if self._fatal is not None:
                    error, self._fatal = self._fatal, None
                    self._close_now()
                    await self._release_all()
                    raise error
                if self._finished:
                    if self._chunks is not None:
                        await self._drain()
                    self._close_now()
                    continue
                if self._restart_requested:
                    self._restart_requested = False
                    self._delay = None
                    self._conn.interrupted()
                    await self._release_response()
                if self._backlog is not None:
                    # The rest of a big read: decoding awaits nothing, so it needs
                    # no cancel scope (one per step was a tenth of the time on
                    # large events).
                    broken = self._decode(self._next_slice())
                    if broken is not None:
                        with anyio.CancelScope(shield=True):
                            await self._fail(broken)
                    continue
                if self._until_checkpoint <= CHECKPOINT_AT_MOST - CHECKPOINT_EVERY:
                    await self._checkpoint()  # see CHECKPOINT_EVERY
                    continue
                scope_class = self._scope_class
                if scope_class is None:
                    # The running backend's class: anyio.CancelScope() looks the
                    # backend up on every call, a third of a one-event read's cost.
                    scope_class = self._scope_class = type(anyio.CancelScope())
                with scope_class() as scope:
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
            self._finish()
            return False
        if self.stop_after is not None and self.stop_after(event):
            self._finish()
        return True

    def _finish(self) -> None:
        """A terminal event: CLOSED now; the next step drains the body, then ends normally.

        The event of ``stop_after`` is handed out before that drain, not after it.
        """
        self._items.clear()
        self._backlog = None
        self._conn.close()
        self._finished = True

    async def _drain(self) -> None:
        """Read the rest of the body briefly, so the connection can be reused; release it.

        ``close()`` cuts the drain short (it cancels ``_scope``); any other
        cancellation still releases the response.
        """
        try:
            with anyio.CancelScope() as scope:
                self._scope = scope
                await drain(self._chunks, (TransportError,))
        finally:
            self._scope = None
            with anyio.CancelScope(shield=True):
                await self._release_response()

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
            chunk = self._next_slice()
        error = self._decode(chunk)
        if error is not None:
            await self._fail(error)

    def _next_slice(self) -> bytes:
        # A big read is decoded a slice at a time: fewer live events, less for
        # the garbage collector to scan, and memory bounded by one slice's events.
        backlog = self._backlog
        assert backlog is not None
        start = self._offset
        self._offset = start + FEED_SLICE
        if self._offset >= len(backlog):
            self._backlog = None
        return backlog[start : start + FEED_SLICE]

    def _decode(self, chunk: bytes) -> ProtocolError | None:
        """Queue the events ``chunk`` completes; return a broken limit, if any."""
        try:
            events = self._conn.feed(chunk)
        except ProtocolError as exc:
            return exc
        if events:
            if self._plain and not self._items:  # nothing before them, nothing to judge them
                self._later = events[::-1]
            else:
                self._items.extend(events)
        elif not self._items:
            self._set_last_id(self._conn.last_event_id)  # an id-only block
        return self._conn.error

    async def _connect(self) -> None:
        attempt = self._conn.next_attempt()
        if self.prepare_request is not None:
            try:
                changed = self.prepare_request(attempt)
                if inspect.isawaitable(changed):
                    changed = await changed
            except EventSourceError as exc:  # the hook refuses to connect (as validate_response)
                await self._fail(exc)
                return
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
                self._close_now()
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
            logger.info("giving up on %s: %s", _redact(self._conn.url), verdict.error)
            await self._fail(verdict.error)

    def _schedule(self, verdict: Reconnect) -> None:
        logger.info(
            "reconnecting to %s in %.3f s (attempt %d): %s",
            _redact(self._conn.url),
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
        logger.info("connection to %s failed: %s", _redact(self._conn.url), error)
        self._items.append(ErrorEvent(error=error, status=status, attempt=self._conn.failures))
        self._fatal = error

    def __del__(self, _warn: Callable[..., None] = warnings.warn) -> None:
        if getattr(self, "_used", False) and not self._released:
            _warn(
                f"unclosed EventSource for {_redact(self._conn.url)}: use 'async with' or "
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
