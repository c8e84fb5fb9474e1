"""A request body for httpx that is no async generator.

httpx streams a ``bytes`` body through an async generator that yields it once.
A cancel that lands while that body is written (a deadline around ``anext()``
while a large prompt goes out to a server that reads slowly) leaves the
generator suspended; on trio, its collection then warns with a
``ResourceWarning`` that pytest turns into an error. The body of ours is
handed over by a plain iterator instead, which has nothing to finalize.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx

__all__ = ["BodyBytes"]


class BodyBytes(httpx.AsyncByteStream, httpx.SyncByteStream):
    """``body`` in one piece, for either client; httpx sets its Content-Length from it."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def __iter__(self) -> Iterator[bytes]:
        return iter((self._body,))

    def __aiter__(self) -> _Once:
        return _Once(self._body)


class _Once:
    """An async iterator of ``body`` once: a class, so a cancelled write leaves no generator."""

    __slots__ = ("_body",)

    def __init__(self, body: bytes) -> None:
        self._body: bytes | None = body

    def __aiter__(self) -> _Once:
        return self

    async def __anext__(self) -> bytes:
        body, self._body = self._body, None
        if body is None:
            raise StopAsyncIteration
        return body
