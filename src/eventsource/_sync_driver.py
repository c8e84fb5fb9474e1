"""The blocking driver: the same ``Connection``, moved by plain blocking calls.

The counterpart of ``_driver`` for ``eventsource.sync``: it performs the I/O
that its :class:`~._connection.Connection` decides on, over a blocking
transport, and returns the connection's items. The decisions (what a
response, a lost connection, a redirect or a broken limit means) are the
connection's; this loop only connects, reads, sleeps and releases. Its
connect step is its base, ``_sync_driver_connect.SyncConnecting``.

No event loop and no thread of its own: :meth:`SyncDriver.close` from another
thread sets a flag, wakes the reconnection wait (a ``threading.Event``) and
shuts down the socket being read (an ``Interrupter``), so the blocked call
returns at once and the reading thread releases the response itself. An
exception that cuts a blocking call in the reading thread (Ctrl-C, a signal's
timeout) leaves what a cancel leaves in the async driver (``_abandon``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator

from ._connection import Connection
from ._errors import EventSourceError, TransportError
from ._sync_callbacks import SyncPrepareRequest, SyncValidateResponse
from ._sync_driver_connect import SyncConnecting
from ._transport._sync_base import Interrupter, SyncTransport
from ._verdicts import End, Fail, Item

__all__ = ["SyncDriver"]

logger = logging.getLogger("eventsource")

#: Seconds ``release()`` from another thread waits for the reading thread to
#: let go: its blocked read was woken, so it only has its releases left.
LET_GO_WAIT = 5.0


class SyncDriver(SyncConnecting):
    """Moves one blocking EventSource's bytes: one transport, one connection at a time."""

    __slots__ = (
        "_busy",
        "_closed",
        "_idle",
        "_interrupter",
        "_lock",
        "_owner",
        "_released",
        "_wake",
        "owns_transport",
    )

    def __init__(
        self,
        connection: Connection,
        transport: SyncTransport,
        *,
        owns_transport: bool = True,
        prepare_request: SyncPrepareRequest | None = None,
        validate_response: SyncValidateResponse | None = None,
    ) -> None:
        super().__init__(
            connection,
            transport,
            prepare_request=prepare_request,
            validate_response=validate_response,
        )
        self.owns_transport = owns_transport
        self._closed = False
        self._wake = threading.Event()  # set by close(): ends the reconnection wait
        self._interrupter = Interrupter()
        self._lock = threading.Lock()  # around taking the response to release it
        self._busy = False
        self._owner = 0  # the thread in receive() or finish()
        self._idle = threading.Event()
        self._idle.set()
        self._released = False

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    @property
    def busy(self) -> bool:
        """Whether a thread is in ``receive()`` or ``finish()`` now."""
        return self._busy

    @property
    def unreleased(self) -> bool:
        """Whether a connection was made and :meth:`release` has not released everything."""
        return self._used and not self._released

    def receive(self) -> list[Item]:
        """The next items of the stream, never an empty list; ``[End()]`` once closed.

        Raises:
            RuntimeError: another thread is already receiving.
            Exception: what ``prepare_request`` or ``validate_response`` raised
                (other than an ``EventSourceError``, which fails the stream).
        """
        with self._exclusive():
            while True:
                if self._closed:
                    self.connection.close()  # a decision made meanwhile may have reopened it
                    return [End()]
                if self._decided_items:
                    decided, self._decided_items = self._decided_items, []
                    return decided
                try:
                    items = self._step()
                except BaseException:
                    self._abandon()  # Ctrl-C, a signal's timeout, a hook's exception
                    raise
                if items and not self._closed:
                    return items

    def finish(self) -> None:
        """After an ``End``: release the response.

        Unlike the async driver it does not drain the rest of the body first: a
        blocking read cannot be bounded in time once the body is being read, and
        a body left open after a terminal event would hold the caller.
        """
        with self._exclusive():
            self._release_response()

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        if self._busy:
            raise RuntimeError("this EventSource is already being read by another thread")
        self._busy = True
        self._owner = threading.get_ident()
        self._idle.clear()
        try:
            yield
        finally:
            self._busy = False
            self._idle.set()

    def close(self) -> None:
        """No request and no item after this; safe from any thread.

        A read or a reconnection wait in progress in another thread returns at once.
        """
        if not self._closed:
            self._closed = True
            self.connection.close()
            self._wake.set()
            self._interrupter.fire()

    def release(self) -> None:
        """Close, wait for a reading thread to let go, and release the response and client."""
        self.close()
        if self._busy and self._owner != threading.get_ident():
            self._idle.wait(LET_GO_WAIT)  # its read was woken: releases are all it has left
        self._release_response()
        if not self._released:
            self._released = True
            if self.owns_transport:
                self.transport.close()

    # -- the steps --------------------------------------------------------------------

    def _step(self) -> list[Item]:
        chunks = self._chunks
        if chunks is None:
            return self._connect()
        try:
            chunk = next(chunks)
        except StopIteration:
            logger.debug("stream ended by the server")
            return self._lost(None)
        except TransportError as exc:
            logger.debug("stream failed: %s", exc)
            return self._lost(exc)
        return self.connection.receive_data(chunk)  # after an End, see finish()

    def _lost(self, error: EventSourceError | None) -> list[Item]:
        if self._closed:  # woken by close(): not a lost connection
            return []
        items = self._decided(self.connection.connection_lost(error))
        self._release_response()
        return items

    def _abandon(self) -> None:
        """After a step cut by an exception: release; the connection decides the next.

        As a cancel in the async driver (``_driver_cancel``): a body whose read was
        cut cannot go on (httpx ends it), so the next call reconnects at once with
        ``Last-Event-ID``; a request cut before its answer counts as a failed
        attempt; a one-shot stream whose request was out fails at the next call.
        """
        opening, self._opening = self._opening, False
        answered = self._response is not None
        if (opening or answered) and not (self._decided_items or self._closed):
            decision = self.connection.interrupted(
                began=True, sent=True, answered=answered, waited=self._waited
            )
            if isinstance(decision, Fail):
                self._decided_items = self.connection.report_failure(decision.error)
            elif decision is not None:
                self._resume_at = time.monotonic() + decision.delay
        self._release_response()

    def _release_response(self) -> None:
        with self._lock:
            response, self._response = self._response, None
            self._chunks = None
        if response is not None:
            response.close()
