"""An httpx response as the async httpx transport hands it over: chunk by chunk, errors translated.

Knows HTTP only; turns httpx's exceptions on reading into the library's.
Imported by ``_httpx``, which names the extra to install when httpx is
missing, and re-exports both classes.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx

from .._errors import ReadTimeout, TransportError
from ._httpx_common import _FAILURES, ResponseFields, header_pairs, read_timeout_of
from ._reasons import described, timed_out

__all__ = ["HttpxChunks", "HttpxResponse"]


class HttpxChunks(AsyncIterator[bytes]):
    """httpx's body iterator with its exceptions translated.

    A class, not an async generator: trio warns about (and pytest fails on) an
    async generator that is dropped before it is exhausted, which is what an
    endless event stream always is when the reader stops.
    """

    def __init__(self, chunks: AsyncIterator[bytes], read_timeout: float | None = None) -> None:
        self._chunks = chunks
        self._read_timeout = read_timeout  # seconds, for the error's text

    async def __anext__(self) -> bytes:
        try:
            return await self._chunks.__anext__()
        except httpx.ReadTimeout as exc:
            text = timed_out("no data received", self._read_timeout)
            raise ReadTimeout(text) from exc
        except _FAILURES as exc:
            raise TransportError(described("reading the stream failed", exc)) from exc


class HttpxResponse(ResponseFields):
    """An httpx response read chunk by chunk with ``read()``.

    Chunks are decoded from any ``Content-Encoding`` the server used, as
    aiohttp does, and handed over as soon as they arrive.
    """

    #: httpx reads a body through async generators down to httpcore, which
    #: closes the response when a cancellation is thrown into its read: a
    #: cancelled read leaves nothing to go on with.
    cancel_safe = False

    def __init__(self, response: httpx.Response, *, reusable: bool = True) -> None:
        self._response = response
        #: Whether its client's pool outlives the EventSource (yours): see Response.
        self.reusable = reusable
        self._iterators: list[AsyncIterator[bytes]] = []
        self._chunks: HttpxChunks | None = None
        self._headers = header_pairs(response.headers)

    async def read(self) -> bytes:
        """The next chunk as soon as it arrives; ``b""`` at the end of the body.

        Raises:
            ReadTimeout: no byte arrived within the request's ``read_timeout``.
            TransportError: the connection failed or broke while reading.
        """
        try:
            return await self.aiter_bytes().__anext__()
        except StopAsyncIteration:
            return b""

    def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The rest of the body, chunk by chunk, as soon as each arrives.

        One iterator per response (httpx streams a body once): :meth:`read`
        and every call of this go on with the same one.

        Raises:
            ReadTimeout: no byte arrived within the request's ``read_timeout``.
            TransportError: the connection failed or broke while reading.
        """
        chunks = self._chunks
        if chunks is None:
            body = self._response.aiter_bytes()
            self._iterators.append(body)
            chunks = self._chunks = HttpxChunks(body, read_timeout_of(self._response))
        return chunks

    async def aclose(self) -> None:
        """Close the response and release its connection; safe to call twice."""
        try:
            await self._response.aclose()
        finally:
            # httpx's body iterators are nested async generators that do not
            # close each other (encode/httpx#3686). With the connection closed,
            # running one to its end takes at most what is already buffered,
            # and leaves no half-finished generator behind for trio to flag.
            iterators, self._iterators = self._iterators, []
            for chunks in iterators:
                with contextlib.suppress(Exception):
                    async for _ in chunks:
                        pass
