"""The transport protocol shared by the aiohttp and httpx adapters.

Imports nothing from aiohttp, httpx or anyio.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["Chunks", "Request", "Response", "Transport"]


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request to send, without following redirects.

    Attributes:
        method: The HTTP method.
        url: The absolute URL, query included.
        headers: Header names and values to send.
        content: The request body, sent again as-is on every reconnect.
        connect_timeout: Seconds to establish the connection, or ``None``.
        read_timeout: Seconds the body may go without a byte, or ``None``.
        cross_origin: This hop of a redirect left the origin of the attempt's first
            request. The transport then adds no credentials of its own: none of its
            session's or client's authentication, and none of its default headers
            named in ``secret_headers``. A cookie jar applies its own rules.
        secret_headers: Lower-case names of the headers that must not reach another
            origin (``authorization``, ``cookie``, ``proxy-authorization`` and the
            user's ``secret_headers``); ``headers`` already goes without them.
        on_sent: Given to a transport whose ``tells_when_sent`` is true, which calls
            it (on its event loop) as it starts to send the request's headers: from
            then on the server may have the request. Other transports leave it be,
            and the request counts as sent from the start of ``open``.
    """

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes | None = None
    connect_timeout: float | None = None
    read_timeout: float | None = None
    cross_origin: bool = False
    secret_headers: frozenset[str] = frozenset()
    on_sent: Callable[[], object] | None = field(default=None, compare=False, repr=False)


class Response(Protocol):
    """An open response whose body is read as chunks of bytes.

    Optional: a ``reusable`` attribute, ``False`` when the connection cannot
    serve a later request once the body ends (its pool ends with the
    EventSource, or it has none). The rest of a body after a terminal event is
    then not drained (the drain only lets the connection go back to a pool).
    Taken as ``True`` when absent.
    """

    @property
    def status(self) -> int:
        """The HTTP status code."""
        ...

    @property
    def headers(self) -> Mapping[str, str]:
        """The response headers, looked up case-insensitively.

        Both transports give a read-only ``multidict.CIMultiDictProxy``, which
        keeps each value of a repeated header; one from another transport is
        copied into one where the library keeps or shows headers.
        """
        ...

    @property
    def url(self) -> str:
        """The URL that produced this response."""
        ...

    @property
    def cancel_safe(self) -> bool:
        """Whether a :meth:`read` cancelled while it waits leaves the body as it was.

        ``True``: nothing was taken, and the next :meth:`read` goes on with the
        same body, so a timeout around ``anext()`` keeps the connection open.
        ``False``: a cancelled read may have broken the body, and the
        EventSource drops the connection (and reconnects with ``Last-Event-ID``).
        """
        ...

    async def read(self) -> bytes:
        """The next chunk of the body as soon as it arrives; ``b""`` at its end.

        Raises:
            TransportError: the connection failed while reading.
            ReadTimeout: no byte arrived within the request's ``read_timeout``.
        """
        ...

    def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The rest of the body, chunk by chunk, as :meth:`read` gives it."""
        ...

    async def aclose(self) -> None:
        """Release the connection; safe to call more than once."""
        ...


class Chunks(AsyncIterator[bytes]):
    """A response's ``read()`` as an async iterator that ends with the body.

    A class, not an async generator: a cancellation thrown into a generator
    finalises it, and nothing is left to finalise here.
    """

    __slots__ = ("_read",)

    def __init__(self, read: Callable[[], Awaitable[bytes]]) -> None:
        self._read = read

    async def __anext__(self) -> bytes:
        chunk = await self._read()
        if not chunk:
            raise StopAsyncIteration
        return chunk


class Transport(Protocol):
    """Opens requests. One transport serves every connection of an EventSource.

    Optional: a ``tells_when_sent`` attribute, true when :meth:`open` calls the
    request's ``on_sent`` as it starts to send the headers (a cancel before
    that then lets even a one-shot stream send the request later).
    """

    async def open(self, request: Request) -> Response:
        """Send ``request`` and return once the response headers have arrived.

        Raises:
            ConnectError: no connection could be made, so the request was not sent.
            TransportError: the request could not be sent or answered.
        """
        ...

    async def aclose(self) -> None:
        """Close what the transport created; a session or client the user passed stays open."""
        ...
