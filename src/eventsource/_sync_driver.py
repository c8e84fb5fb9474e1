"""The blocking driver: the same ``Connection``, moved by plain blocking calls.

The counterpart of ``_driver`` for ``eventsource.sync``: it performs the I/O
that its :class:`~._connection.Connection` decides on, over a blocking
transport, and returns the connection's items. The decisions (what a
response, a lost connection, a redirect or a broken limit means) are the
connection's; this loop only connects, reads, sleeps and releases.

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
from ._decode import BODY_EXCERPT_BYTES, EXCERPT_WAIT
from ._errors import EventSourceError, TransportError
from ._policy import ResponseInfo
from ._request import redact_url
from ._sync_callbacks import SyncPrepareRequest, SyncValidateResponse, refuse_awaitable
from ._transport._sync_base import Interrupter, SyncResponse, SyncTransport
from ._verdicts import End, Fail, Item, Open, Reconnect, Redirect, Stop, needs_excerpt

__all__ = ["SyncDriver"]

logger = logging.getLogger("eventsource")

#: Seconds ``release()`` from another thread waits for the reading thread to
#: let go: its blocked read was woken, so it only has its releases left.
LET_GO_WAIT = 5.0


class SyncDriver:
    """Moves one blocking EventSource's bytes: one transport, one connection at a time."""

    __slots__ = (
        "_busy",
        "_chunks",
        "_closed",
        "_decided_items",
        "_idle",
        "_interrupter",
        "_lock",
        "_opening",
        "_owner",
        "_released",
        "_response",
        "_resume_at",
        "_used",
        "_waited",
        "_wake",
        "connection",
        "owns_transport",
        "prepare_request",
        "transport",
        "validate_response",
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
        self.connection = connection
        self.transport = transport
        self.owns_transport = owns_transport
        self.prepare_request = prepare_request
        self.validate_response = validate_response
        self._response: SyncResponse | None = None
        self._chunks: Iterator[bytes] | None = None
        self._resume_at: float | None = None  # time.monotonic(): when to reconnect
        self._closed = False
        self._wake = threading.Event()  # set by close(): ends the reconnection wait
        self._interrupter = Interrupter()
        self._lock = threading.Lock()  # around taking the response to release it
        self._busy = False
        self._owner = 0  # the thread in receive() or finish()
        self._idle = threading.Event()
        self._idle.set()
        self._released = False
        self._used = False
        self._decided_items: list[Item] = []  # a decision whose excerpt read was cut
        self._opening = False  # in transport.open(): the request may be out (see _abandon)
        self._waited = False  # this attempt began with the reconnection wait

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

    def _connect(self) -> list[Item]:
        self._waited = self._resume_at is not None
        if self._resume_at is not None:
            wait = self._resume_at - time.monotonic()
            # Past TIMEOUT_MAX (math.inf: a delay that waits for ever) Event.wait
            # raises OverflowError: wait with no timeout, until close() wakes it.
            timeout = wait if wait < threading.TIMEOUT_MAX else None
            if wait > 0 and self._wake.wait(timeout):
                return []  # closed meanwhile
            self._resume_at = None
        connection = self.connection
        attempt = connection.next_attempt()
        if self.prepare_request is not None:
            try:
                changed = self.prepare_request(attempt)
            except EventSourceError as exc:  # the hook refuses to connect: fail, send nothing
                return connection.report_failure(exc)
            refuse_awaitable(changed, "prepare_request")
            if changed is not None:
                attempt, changed = changed, None  # under one name, dropped below
            if self._closed:  # the hook closed the EventSource: send nothing
                return []
        connection.begin_attempt(attempt)
        # A transport error's traceback holds this frame: were the attempt in it, its
        # last_error (and that error's traceback, and the attempt before...) would keep
        # every error of a row of failed connects alive (12 KiB each on aiohttp).
        del attempt
        while True:
            request = connection.build_request()
            logger.debug("connecting to %s", redact_url(request.url))
            self._used = True
            self._opening = True
            try:
                response = self.transport.open(request, self._interrupter)
            except TransportError as exc:
                self._opening = False
                if self._closed:  # woken by close(): not a failed attempt
                    return []
                logger.debug("connection failed: %s", exc)
                return self._decided(connection.connection_lost(exc))
            self._response = response  # from here on, any exit releases it
            self._opening = False
            if self._closed:
                return []
            verdict = connection.receive_response(response.status, response.headers, response.url)
            if isinstance(verdict, Redirect):
                logger.debug("redirected (%d) to %s", response.status, redact_url(verdict.url))
                self._opening = True  # till the hop is sent: a cut leaves the request out
                self._release_response()
                continue
            if isinstance(verdict, Open):
                return self._open(response)
            items = self._decided(verdict)
            error = needs_excerpt(verdict)
            if error is not None:
                self._decided_items = items  # decided: an exception in the read leaves it
                error.body = self._excerpt(response)
                self._decided_items = []
            self._release_response()
            return items

    def _open(self, response: SyncResponse) -> list[Item]:
        if self.validate_response is not None:
            info = ResponseInfo(response.status, response.headers, response.url)
            try:
                refuse_awaitable(self.validate_response(info), "validate_response")
            except EventSourceError as exc:
                self._release_response()
                return self.connection.report_failure(exc)
        logger.debug("open: %s", redact_url(response.url))
        self._chunks = response.iter_bytes()
        return self._decided(Open())

    def _lost(self, error: EventSourceError | None) -> list[Item]:
        if self._closed:  # woken by close(): not a lost connection
            return []
        items = self._decided(self.connection.connection_lost(error))
        self._release_response()
        return items

    def _decided(self, verdict: Open | Fail | Stop | Reconnect) -> list[Item]:
        if isinstance(verdict, Reconnect):
            self._resume_at = time.monotonic() + verdict.delay
        return self.connection.report(verdict)

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

    # -- bounded reads of a body we will not parse -------------------------------------

    def _excerpt(self, response: SyncResponse) -> str:
        """Up to ``BODY_EXCERPT_BYTES`` of an error body, within about ``EXCERPT_WAIT``."""
        data = bytearray()
        deadline = time.monotonic() + EXCERPT_WAIT
        with contextlib.suppress(TransportError):
            for chunk in response.iter_bytes(read_timeout=EXCERPT_WAIT):
                data += chunk
                if len(data) >= BODY_EXCERPT_BYTES or time.monotonic() > deadline:
                    break
        return bytes(data[:BODY_EXCERPT_BYTES]).decode("utf-8", "replace")

    def _release_response(self) -> None:
        with self._lock:
            response, self._response = self._response, None
            self._chunks = None
        if response is not None:
            response.close()
