"""An aiohttp response as the driver reads it: chunk by chunk, cancel-safe, closed from anywhere.

Knows HTTP only; turns aiohttp's exceptions on reading into the library's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import aiohttp
from multidict import CIMultiDictProxy

from .._errors import ReadTimeout, TransportError
from ._base import Chunks
from ._reasons import described, timed_out

__all__ = [
    "CLOSE_WAIT",
    "READ_SIZE",
    "AiohttpResponse",
    "on_its_loop",
    "received_before_failure",
    "sock_read_of",
]

#: The most bytes taken from aiohttp's buffer at once: asyncio's own socket
#: read size, so a socket read is taken whole (one driver step; 64 KiB took
#: four, huge events 1.1x slower). What stays in aiohttp's buffer counts toward
#: its flow control, so a stream whose reader is behind leaves the rest in the
#: kernel instead of in this process's memory.
READ_SIZE = 256 * 1024
#: A read that ran into the request's ``total`` timeout: not a ``ReadTimeout``
#: (data may have kept coming), and not ours to show (aiohttp keeps no value).
TOTAL_TIMED_OUT = "reading the stream failed: the request's total timeout ran out"
#: How long ``aclose`` waits for the socket to be really closed (a TLS shutdown).
CLOSE_WAIT = 1.0
#: A read after the connection was closed by this process, not by the server.
CLOSED_HERE = (
    "reading the stream failed: the connection was closed in this process (its "
    "aiohttp session or connector was closed while the stream read)"
)
#: A read in a loop other than the response's: aiohttp's objects work in theirs only.
OTHER_LOOP = (
    "reading the stream failed: its connection was made in another event loop"
    " (one that has ended, as with an earlier asyncio.run())"
)


def received_before_failure(content: aiohttp.StreamReader) -> bytes:
    """Bytes of the body that arrived before the connection failed, not yet read; else ``b""``.

    aiohttp's reads (3.9 to 3.14 at least) raise a connection's failure before
    handing out the bytes it had already received: the events a server sent
    just before a reset were lost (or, with IDs, fetched again). Its private
    ``_read_nowait`` hands them out; without it (a future aiohttp) they stay lost.
    Call it only once a read raised: the failure stays set, so the read after
    raises it again.
    """
    take: Callable[[int], bytes] | None = getattr(content, "_read_nowait", None)
    if take is None or content.exception() is None or not getattr(content, "_buffer", None):
        return b""
    try:
        return take(READ_SIZE)
    except Exception:  # its timer's check (a session's total timeout): the failure stands
        return b""


def sock_read_of(response: aiohttp.ClientResponse) -> float | None:
    """The ``sock_read`` timeout (seconds) aiohttp applies to ``response``'s body, if any."""
    connection = response.connection
    protocol = connection.protocol if connection is not None else None
    seconds = getattr(protocol, "read_timeout", None)
    return seconds if isinstance(seconds, (int, float)) else None


def _closed_here(response: aiohttp.ClientResponse) -> bool:
    """Whether ``response``'s connection lost its socket with no failure told to the body."""
    connection = response.connection
    protocol = connection.protocol if connection is not None else None
    return protocol is not None and getattr(protocol, "connected", True) is False


def on_its_loop(loop: asyncio.AbstractEventLoop, callback: Callable[[], object]) -> None:
    """Call ``callback`` now in ``loop``'s thread, else soon in it (unless it is closed).

    An abort at garbage collection may run in any thread; aiohttp's objects
    may be touched only in their loop's.
    """
    try:
        here = asyncio.get_running_loop()
    except RuntimeError:
        here = None
    if here is loop:
        callback()
    elif not loop.is_closed():
        loop.call_soon_threadsafe(callback)


def _protocol_of(response: aiohttp.ClientResponse) -> object:
    """The protocol of ``response``'s connection, also once the response let go of it.

    A body that came whole with its headers was read, and its connection let
    go of (closed, on a connector that does not pool), before ``request()``
    returned: then only the response's private ``_protocol`` (aiohttp 3.x)
    still names it; without it (a future aiohttp), ``None`` and no wait. Only
    on https, whose TLS shutdown outlives ``close()``: a plain socket is gone
    at the loop's next turn, and waiting for each of 1,000 streams ending at
    once kept their last batches in memory longer (fan-out with ``batches()``:
    62 -> 99 KiB a stream, bench/README.md).
    """
    connection = response.connection
    if connection is not None:
        return connection.protocol
    if response.url.scheme != "https":
        return None
    return getattr(response, "_protocol", None)


class AiohttpResponse:
    """An aiohttp response read chunk by chunk, at most ``READ_SIZE`` bytes at a time."""

    __slots__ = (  # no dict (fan-out)
        "_aborted",
        "_gone",
        "_loop",
        "_pooled",
        "_protocol",
        "_read_timeout",
        "_response",
        "reusable",
    )

    def __init__(
        self,
        response: aiohttp.ClientResponse,
        read_timeout: float | None = None,
        *,
        pooled: bool = True,
        reusable: bool = True,
    ) -> None:
        self._response = response
        self._read_timeout = read_timeout  # seconds, for the error's text
        self._loop = asyncio.get_running_loop()  # made in open(), on its loop
        #: Whether a complete body gives the connection back to a pool (not so on
        #: a connector with force_close, as our shared session's).
        self._pooled = pooled
        #: Whether that pool outlives the EventSource (your session's): see Response.
        self.reusable = reusable and pooled
        self._aborted = False
        # aiohttp >= 3.11: a future set when the socket is gone, taken before a close.
        self._gone: object = None
        # Not pooled: aiohttp closes the connection as the body ends, and lets go of
        # it, so its protocol is kept from here. Not its future yet: once made, a
        # reset sets its exception, which nothing may read (asyncio logs it then).
        self._protocol = None if pooled else _protocol_of(response)

    @property
    def status(self) -> int:
        """The HTTP status code."""
        return self._response.status

    @property
    def headers(self) -> CIMultiDictProxy[str]:
        """The response headers: case-insensitive, each value of a repeated header kept."""
        return self._response.headers

    @property
    def url(self) -> str:
        """The URL that produced this response."""
        return str(self._response.url)

    #: aiohttp's ``StreamReader.read`` takes bytes out of its buffer only once
    #: they are there, after its one await; and ``read`` is a coroutine, not an
    #: async generator (which a cancellation finalises): a cancelled read took nothing.
    cancel_safe = True

    async def read(self) -> bytes:
        """The next chunk (at most ``READ_SIZE`` bytes) as soon as it arrives; ``b""`` at the end.

        Raises:
            ReadTimeout: no byte arrived within the request's ``read_timeout``.
            TransportError: the connection failed while reading (or was
                closed by its session's closing), or the request's total
                timeout (``aiter_events``: your session's) ran out.
        """
        if asyncio.get_running_loop() is not self._loop:
            raise TransportError(OTHER_LOOP)  # and the stream reconnects in this loop
        content = self._response.content
        try:
            return await content.read(READ_SIZE)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            if received := received_before_failure(content):
                return received  # the failure is raised by the next read
            if isinstance(exc, aiohttp.ServerTimeoutError):  # sock_read
                text = timed_out("no data received", self._read_timeout)
                raise ReadTimeout(text) from exc
            if isinstance(exc, asyncio.TimeoutError):
                # aiohttp's timer: a total timeout of your session's (aiter_events),
                # which ends a stream however steadily its data comes.
                raise TransportError(TOTAL_TIMED_OUT) from exc
            raise TransportError(described("reading the stream failed", exc)) from exc
        except RuntimeError as exc:
            # aiohttp's "Connection closed.": the session was closed under the
            # stream (yours, or ours by another EventSource given this transport).
            # A network failure like any other: the stream reconnects (a session
            # of yours then says it is closed), as on httpx.
            if not _closed_here(self._response):
                raise
            raise TransportError(CLOSED_HERE) from exc

    def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The rest of the body, chunk by chunk (see :meth:`read`)."""
        return Chunks(self.read)

    def abort(self) -> None:
        """Close the connection without waiting: ``close()``, or at collection (any thread)."""
        if self._loop.is_closed():
            self._let_go_of_closed_loop()
        else:
            on_its_loop(self._loop, self._abort)

    def _let_go_of_closed_loop(self) -> None:
        # Nothing runs in a closed loop, so its objects may be touched from here;
        # the socket was closed as the loop shut down (AiohttpTransport's session
        # closes then), but the response and its connection still count as open
        # (aiohttp warns of both at collection) until told.
        connection = self._response.connection
        self._aborted = True
        self._response.close()  # it knows a closed loop: marks itself closed only
        if connection is not None:
            # Its connector was closed: the connection only lets go of its protocol.
            # Else (a loop closed without shutting down) closing its socket's asyncio
            # transport fails: that socket is left to the collector.
            with contextlib.suppress(RuntimeError):
                connection.close()

    def _abort(self) -> None:
        if not self._aborted:
            self._aborted = True
            protocol, self._protocol = self._protocol, None
            if protocol is None:
                protocol = _protocol_of(self._response)
            self._gone = getattr(protocol, "closed", None)
        self._response.close()

    async def aclose(self) -> None:
        """Release the connection: back to the pool after a complete body, else closed.

        Closing returns once the socket is gone, or after ``CLOSE_WAIT`` seconds.
        In a loop other than the response's, it is closed there without waiting.
        """
        if asyncio.get_running_loop() is not self._loop:
            self.abort()
            return
        if not self._aborted and self._response.content.is_eof() and self._pooled:
            self._response.release()
            return
        # Else closed, and waited for: also after a complete body on a connection
        # that is not pooled (its close outlived aclose(), and a loop ending then
        # left its socket to the collector).
        self._abort()
        if isinstance(self._gone, asyncio.Future):
            # An https connection ends with a TLS shutdown exchange that outlives
            # close(): without this wait its socket could outlive the event loop.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._gone), CLOSE_WAIT)
