"""The blocking driver's connect step: the hooks, the request and its redirect hops, the verdict.

:class:`SyncConnecting` is the base of :class:`~._sync_driver.SyncDriver`
that makes one connection attempt, as ``_driver_connect.Connecting`` does for
the async driver: it waits out the reconnection delay (woken by ``close()``),
runs ``prepare_request``, opens the request on the transport (then each
redirect hop), asks the connection for its verdict on the response, runs
``validate_response`` on one that opens the stream, and reads the bounded
excerpt of an error body. It holds what a connection in progress is made of
(the response, its chunks, the reconnection deadline, a decision whose excerpt
is being read); the driver reads the body and releases it. Imports the
blocking transport protocol, never httpx.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ._connection import Connection
from ._decode import BODY_EXCERPT_BYTES, EXCERPT_WAIT
from ._errors import EventSourceError, TransportError
from ._policy import ResponseInfo
from ._request import redact_url
from ._sync_callbacks import SyncPrepareRequest, SyncValidateResponse, refuse_awaitable
from ._transport._sync_base import Interrupter, SyncResponse, SyncTransport
from ._verdicts import Fail, Item, Open, Reconnect, Redirect, Stop, needs_excerpt

__all__ = ["SyncConnecting"]

logger = logging.getLogger("eventsource")


class SyncConnecting:
    """One connection attempt of the blocking driver, and what it leaves: a response to read."""

    __slots__ = (
        "_chunks",
        "_decided_items",
        "_opening",
        "_response",
        "_resume_at",
        "_used",
        "_waited",
        "connection",
        "prepare_request",
        "transport",
        "validate_response",
    )
    # the driver's
    _closed: bool
    _interrupter: Interrupter
    _wake: threading.Event

    if TYPE_CHECKING:  # the driver's

        def _release_response(self) -> None: ...

    def __init__(
        self,
        connection: Connection,
        transport: SyncTransport,
        *,
        prepare_request: SyncPrepareRequest | None,
        validate_response: SyncValidateResponse | None,
    ) -> None:
        self.connection = connection
        self.transport = transport
        self.prepare_request = prepare_request
        self.validate_response = validate_response
        self._response: SyncResponse | None = None
        self._chunks: Iterator[bytes] | None = None
        self._resume_at: float | None = None  # time.monotonic(): when to reconnect
        self._used = False
        self._decided_items: list[Item] = []  # a decision whose excerpt read was cut
        self._opening = False  # in transport.open(): the request may be out (see _abandon)
        self._waited = False  # this attempt began with the reconnection wait

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

    def _decided(self, verdict: Open | Fail | Stop | Reconnect) -> list[Item]:
        if isinstance(verdict, Reconnect):
            self._resume_at = time.monotonic() + verdict.delay
        return self.connection.report(verdict)

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
