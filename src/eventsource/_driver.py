"""The one place that awaits the network (with its bases, _driver_cancel, _driver_connect).

A :class:`Driver` performs the I/O that its :class:`~._connection.Connection`
decides on and returns the connection's items (events and comments in wire
order, ``open``/``error`` events, a final ``End``). It holds no items itself:
what :meth:`Driver.receive` returns is the caller's.

Cancellation is safe at every await, and the next :meth:`Driver.receive` goes
on from a consistent state:

- during the reconnection wait, the deadline is kept: the next call waits
  what is left of it;
- while waiting for the body's bytes on a ``cancel_safe`` response
  (aiohttp's), nothing changes: the next call reads on, still connected;
- while connecting, or reading another response (httpx's), the response is
  released and the connection told (``interrupted``): the next call
  reconnects at once with ``Last-Event-ID`` (or, on a one-shot stream whose
  request was sent, raises: the connection decides). A cancelled read took
  nothing;
- what must not be lost or left half done (releasing, the body excerpt of an
  error, the drain after a terminal event) runs shielded, and is bounded.

``close()`` (from any task) cancels the step in progress. What a cut step
leaves, and closing, are its base's, ``_driver_cancel.Cancelling``; a
connection attempt (hooks, request, redirect hops, verdict, excerpt) is that
one's base's, ``_driver_connect.Connecting``. Imports the transport protocol,
never aiohttp or httpx: without a transport of its own it asks
``default_transport`` for one at its first connection, where the running
event loop is known.
"""

from __future__ import annotations

import logging
import time

import anyio

from ._connection import Connection
from ._decode import drain as drain_body
from ._driver_cancel import Cancelling
from ._driver_connect import DefaultTransport, PrepareRequest, ValidateResponse
from ._errors import EventSourceError, TransportError
from ._transport._base import Response, Transport
from ._verdicts import End, Item

__all__ = ["Driver"]

logger = logging.getLogger("eventsource")

#: Bytes of a network read decoded at once. A read of 64 KiB of small events
#: holds ~850 events once decoded: with thousands of streams bursting
#: together, whole reads decoded at once held ~280 KiB per connection at the
#: peak, and the garbage collector spent half the run scanning them
#: (bench/README.md, fan-out); a slice holds the events of 32 KiB. Against
#: 16 KiB, `async for` 1.07x on small events (in one process: 24 KiB 1.04x,
#: 48 KiB 1.08x, 64 KiB 0.82x, its events built slower), and no more memory at
#: 1,000 streams, whose reads are smaller (bench/README.md, "The slice").
FEED_SLICE = 32 * 1024
#: The slice inside big events (see _feed_slice): the parser's window, which it
#: decodes in one piece with no copy.
BIG_SLICE = 64 * 1024


class Driver(Cancelling):
    """Moves one EventSource's bytes: one transport, one connection at a time."""

    __slots__ = ("_backlog", "_offset", "_read_at", "_slice")

    def __init__(
        self,
        connection: Connection,
        transport: Transport | None,
        *,
        default_transport: DefaultTransport | None = None,
        prepare_request: PrepareRequest | None = None,
        validate_response: ValidateResponse | None = None,
    ) -> None:
        super().__init__(
            connection,
            transport,
            default_transport=default_transport,
            prepare_request=prepare_request,
            validate_response=validate_response,
        )
        self._backlog: bytes | None = None  # the rest of a big read (see FEED_SLICE)
        self._offset = 0
        self._slice = FEED_SLICE  # bytes of the backlog decoded next (see _feed_slice)
        self._read_at = 0.0
        # Its base's (_driver_cancel.Cancelling): cut steps and closing.
        self._scope = None
        self._closed = False
        self._restart = False
        self._busy = False
        self._owner = 0
        self._thread = 0
        self._idle = None
        self._released = False
        self._waiting = False

    @property
    def mid_read(self) -> bool:
        """Whether bytes of the last network read are still to be decoded."""
        return self._backlog is not None

    @property
    def read_at(self) -> float:
        """When the last network read arrived: ``time.monotonic()`` seconds."""
        return self._read_at

    async def receive(self) -> list[Item]:
        """The next items of the stream, never an empty list; ``[End()]`` once closed.

        Raises:
            RuntimeError: another task is already receiving.
            Exception: what ``prepare_request`` or ``validate_response`` raised
                (other than an ``EventSourceError``, which fails the stream).
        """
        with self._exclusive():
            while True:
                if self._closed:
                    self.connection.close()  # a decision made after close() may have reopened it
                    return [End()]
                if self._decided_items:  # a decision whose excerpt read was cancelled
                    decided, self._decided_items = self._decided_items, []
                    return decided
                if self._restart:
                    if self._backlog is not None:
                        # Bytes off the socket are received: their events go out first.
                        rest, self._backlog = self._backlog[self._offset :], None
                        received = self.connection.receive_data(rest)
                        if received:
                            return received
                    self._restart = False
                    self._resume_at = None
                    self.connection.interrupted()
                    with anyio.CancelScope(shield=True):
                        await self._release_response()
                if self._backlog is not None:
                    # The rest of a big read: decoding it awaits nothing, so it needs
                    # no cancel scope (a scope per slice cost 15% on large events).
                    sliced = self._feed_slice()
                    if sliced:
                        return sliced
                    continue
                items: list[Item] | None = None  # no empty list held while the read waits
                with anyio.CancelScope() as scope:
                    self._scope = scope
                    try:
                        items = await self._step()
                    except BaseException as exc:
                        # Cancelled (or a hook raised) mid-step: drop the half-made or half-read
                        # connection (the next call reconnects), unless a read only waited.
                        if not self._keeps(exc, scope):
                            with anyio.CancelScope(shield=True):
                                await self._abandon()
                        raise
                    finally:
                        self._scope = None
                if items and not self._closed:
                    return items
                # Cancelled by close() or restart(): look again. Also closed as the awaited
                # open or read returned (on trio the step goes on with its result): what it
                # read or decided is not handed out after close().

    async def finish(self, *, drain: bool = True) -> None:
        """After an ``End``: drain the rest of the body briefly, then release it.

        The drain lets the connection go back to a pool that outlives us (your
        session's or client's: the response's ``reusable``); ``close()`` cuts it
        short. Called once the items before the ``End`` were handed out: a terminal
        event of ``stop_after`` is never held up by the drain.
        """
        with self._exclusive():
            try:
                body = self._body
                if drain and body is not None and _reusable(body) and not self._closed:
                    with anyio.CancelScope() as scope:
                        self._scope = scope
                        try:
                            await drain_body(body.aiter_bytes(), (TransportError,))
                        finally:
                            self._scope = None
            finally:
                with anyio.CancelScope(shield=True):
                    await self._release_response()

    # -- the steps --------------------------------------------------------------------

    async def _step(self) -> list[Item]:
        body = self._body
        if body is None:
            return await self._connect()
        self._waiting = body.cancel_safe  # see _keeps
        try:
            chunk = await body.read()
        except TransportError as exc:
            self._waiting = False
            logger.debug("stream failed: %s", exc)
            return await self._lost(exc)
        # Nothing awaits until they are decoded (or held): no cancel can lose them.
        self._waiting = False
        if not chunk:
            logger.debug("stream ended by the server")
            return await self._lost(None)
        self._read_at = time.monotonic()
        if len(chunk) > FEED_SLICE:
            self._backlog, self._offset = chunk, 0
            return self._feed_slice()
        items = self.connection.receive_data(chunk)  # after an End, see finish()
        if items:
            self._slice = FEED_SLICE  # see _feed_slice
        return items

    def _feed_slice(self) -> list[Item]:
        """Decode the next slice of a big read (see ``FEED_SLICE``)."""
        backlog = self._backlog
        assert backlog is not None
        start = self._offset
        self._offset = end = start + self._slice
        if end >= len(backlog):
            self._backlog = None
        items = self.connection.receive_data(backlog[start:end])
        # A slice that completed at most one event and left one open is inside
        # big events: the next is BIG_SLICE. Each slice that ended such an event
        # set it back to FEED_SLICE before (16 KiB then), so 64 KiB events went by
        # in 16 and 32 KiB slices, which decode slower (`async for` on them
        # 1.02x-1.26x this way, eight A/B runs: bench/README.md). A slice of many
        # events, or one that ended where an event ended, sets it back: small
        # events go FEED_SLICE at a time.
        if len(items) <= 1 and self.connection.mid_event:
            self._slice = BIG_SLICE
        else:
            self._slice = FEED_SLICE
        return items

    async def _lost(self, error: EventSourceError | None) -> list[Item]:
        items = self._decided(self.connection.connection_lost(error))
        with anyio.CancelScope(shield=True):
            await self._release_response()
        return items

    async def _release_response(self) -> None:
        self._backlog, self._slice = None, FEED_SLICE
        response, self._response = self._response, None
        self._body = None
        if response is not None:
            await response.aclose()


def _reusable(body: Response) -> bool:
    # Optional in the Response protocol (a transport of yours may not say): True.
    return getattr(body, "reusable", True) is not False
