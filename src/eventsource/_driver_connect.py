"""The async driver's connect step: the hooks, the request and its redirect hops, the verdict.

:class:`Connecting` is the base of :class:`~._driver.Driver` that makes one
connection attempt: it waits out the reconnection delay, runs
``prepare_request``, opens the request on the transport (then each redirect
hop), asks the connection for its verdict on the response, runs
``validate_response`` on one that opens the stream, and reads the excerpt of
an error body. It holds what a connection in progress is made of (the
response, the one whose body is read, the reconnection deadline, a decision whose excerpt is
being read); the driver reads the body and releases the rest. Imports the
transport protocol, never aiohttp or httpx.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeAlias

import anyio

from ._connection import Connection
from ._decode import excerpt
from ._errors import EventSourceError, TransportError
from ._policy import ResponseInfo
from ._request import ConnectAttempt, redact_url
from ._transport._base import Request, Response, Transport
from ._verdicts import Fail, Item, Open, Reconnect, Redirect, Stop, needs_excerpt

__all__ = ["Connecting", "DefaultTransport", "PrepareRequest", "ValidateResponse"]

logger = logging.getLogger("eventsource")

PrepareRequest: TypeAlias = Callable[
    [ConnectAttempt], "Awaitable[ConnectAttempt | None] | ConnectAttempt | None"
]
ValidateResponse: TypeAlias = Callable[[ResponseInfo], "Awaitable[object] | object"]
DefaultTransport: TypeAlias = Callable[[], Awaitable[Transport]]


class Connecting:
    """One connection attempt of a driver, and what it leaves: a response whose body it reads."""

    __slots__ = (
        "_body",
        "_decided_items",
        "_opening",
        "_response",
        "_resume_at",
        "_sending",
        "_used",
        "_waited",
        "connection",
        "default_transport",
        "prepare_request",
        "transport",
        "validate_response",
    )
    _closed: bool  # the driver's

    if TYPE_CHECKING:  # the driver's

        async def _release_response(self) -> None: ...

    def __init__(
        self,
        connection: Connection,
        transport: Transport | None,
        *,
        default_transport: DefaultTransport | None,
        prepare_request: PrepareRequest | None,
        validate_response: ValidateResponse | None,
    ) -> None:
        if transport is None and default_transport is None:
            raise TypeError("a transport or a default_transport is needed")
        self.connection = connection
        self.transport = transport  # None: default_transport() chooses at the first connection
        self.default_transport = default_transport
        self.prepare_request = prepare_request
        self.validate_response = validate_response
        self._response: Response | None = None
        self._body: Response | None = None  # the open stream's response, once it is read
        self._resume_at: float | None = None  # anyio clock: when to reconnect
        self._decided_items: list[Item] = []
        self._used = False  # a connection was attempted: there may be something to release
        # The request may have reached the server (see _abandon): from the start of
        # open(), or from when a transport that tells starts to send its headers.
        self._sending = False
        self._opening = False  # in transport.open(): connecting, sending or waiting
        self._waited = False  # this attempt began with the reconnection wait (see _abandon)

    async def _connect(self) -> list[Item]:
        self._waited = self._resume_at is not None
        if self._resume_at is not None:
            await anyio.sleep_until(self._resume_at)  # a cancel keeps the deadline
            self._resume_at = None
        connection = self.connection
        attempt = connection.next_attempt()
        if self.prepare_request is not None:
            try:
                changed = self.prepare_request(attempt)
                if inspect.isawaitable(changed):
                    changed = await changed
            except EventSourceError as exc:  # the hook refuses to connect: fail, send nothing
                return connection.report_failure(exc)
            if changed is not None:
                attempt, changed = changed, None  # under one name, dropped below
            if self._closed:  # the hook closed the EventSource: send nothing
                return []
        connection.begin_attempt(attempt)
        # A transport error's traceback holds this frame: were the attempt in it, its
        # last_error (and that error's traceback, and the attempt before...) would keep
        # every error of a row of failed connects alive (12 KiB each on aiohttp).
        del attempt
        transport = self.transport
        if transport is None:
            assert self.default_transport is not None  # checked in __init__
            transport = self.transport = await self.default_transport()
        # A transport that tells when the headers go out lets a cancel during the
        # connect itself (DNS, TCP, TLS) count as before sending (see _abandon).
        tells = getattr(transport, "tells_when_sent", False) is True
        while True:
            request = connection.build_request()
            if tells:
                request = dataclasses.replace(request, on_sent=self._sent)
            logger.debug("connecting to %s", redact_url(request.url))
            self._used = True
            try:
                # A server that accepts and never answers is retried, not waited on
                # for ever: the transport bounds connecting by connect_timeout, and
                # this the whole wait for the headers by twice it (so a connect that
                # times out is reported by the transport, as not sent). A bare scope,
                # not fail_after(): its two generators were ~600 B more a stream while
                # 1,000 streams connect at once (bench/README.md, fan-out).
                with anyio.move_on_after(_twice(request.connect_timeout)) as bound:
                    self._opening = True  # a cancel leaves these as they are, for _abandon
                    self._sending = not tells
                    response = await transport.open(request)
            except (TimeoutError, TransportError) as exc:
                self._opening = self._sending = False
                return self._decided(connection.connection_lost(_lost(exc, request)))
            self._opening = self._sending = False
            if bound.cancelled_caught:  # the wait for the headers ran out
                return self._decided(connection.connection_lost(_lost(None, request)))
            self._response = response  # from here on, any exit releases it
            verdict = connection.receive_response(response.status, response.headers, response.url)
            if isinstance(verdict, Redirect):
                logger.debug("redirected (%d) to %s", response.status, redact_url(verdict.url))
                with anyio.CancelScope(shield=True):
                    await self._release_response()
                continue
            if isinstance(verdict, Open):
                return await self._open(response)
            # Decided before the excerpt is read: a cancellation during that read
            # (bounded; close() cuts it short) leaves the decision for the next call.
            self._decided_items = self._decided(verdict)
            error = needs_excerpt(verdict)
            if error is not None:
                error.body = await excerpt(response.aiter_bytes(), (TransportError,))
            items, self._decided_items = self._decided_items, []
            with anyio.CancelScope(shield=True):
                await self._release_response()
            return items

    async def _open(self, response: Response) -> list[Item]:
        if self.validate_response is not None:
            info = ResponseInfo(response.status, response.headers, response.url)
            try:
                result = self.validate_response(info)
                if inspect.isawaitable(result):
                    await result
            except EventSourceError as exc:
                with anyio.CancelScope(shield=True):
                    await self._release_response()
                return self.connection.report_failure(exc)
        logger.debug("open: %s", redact_url(response.url))
        self._body = response
        return self._decided(Open())

    def _sent(self) -> None:
        self._sending = True  # the transport starts to send the headers

    def _decided(self, verdict: Open | Fail | Stop | Reconnect) -> list[Item]:
        if isinstance(verdict, Reconnect):
            self._resume_at = anyio.current_time() + verdict.delay
        return self.connection.report(verdict)


def _lost(exc: TimeoutError | TransportError | None, request: Request) -> TransportError:
    """The error of a request that failed to open (logged): the transport's, or the wait's."""
    if exc is None:  # the wait for the headers ran out: it has a bound, connect_timeout's
        # The wait's own length: "within connect_timeout (10 s)" after 20 s misled.
        waited = 2 * (request.connect_timeout or 0.0)
        exc = TransportError(f"no response within {waited:g} s (twice connect_timeout)")
    elif not isinstance(exc, TransportError):  # a transport of yours timed out itself
        text = f"connecting timed out: {exc}" if str(exc) else "connecting timed out"
        lost = TransportError(text)
        lost.__cause__ = exc
        exc = lost
    logger.debug("connection failed: %s", exc)
    return exc


def _twice(seconds: float | None) -> float | None:
    return None if seconds is None else 2 * seconds
