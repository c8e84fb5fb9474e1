"""Reading bodies: decode a response the user opened, and bounded excerpts and drains.

``aiter_events`` is for callers who made the request themselves (an aiohttp
or httpx response): we only decode it, with the same parser and the same
checks as ``EventSource``. A response is recognised by its shape, and its
body read through our transport's reader for that library, so a failure is
ours as ``EventSource`` raises it (httpx's reader is imported only for an
httpx response: httpx stays optional).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio

from ._errors import ContentTypeError, ServerEventError, StatusError, status_line
from ._event import Comment, MessageEvent
from ._parser import DEFAULT_MAX_EVENT_SIZE, Parser
from ._request import origin_of
from ._sendable import header_view
from ._transport._aiohttp_response import AiohttpResponse, sock_read_of
from ._verdicts import event_error_message

__all__ = ["aiter_events", "drain", "excerpt"]

#: How much of an error response's body is kept on the exception.
BODY_EXCERPT_BYTES = 4096
#: Seconds the excerpt of an error response may take; what arrived by then is
#: kept. The error is reported only after it, and a browser reports it at once.
EXCERPT_WAIT = 0.25
#: Seconds a drain may wait for the rest of a body after a terminal event: what
#: is already there or follows at once; past it the connection is closed.
DRAIN_WAIT = 0.1
#: How much of the rest of a body is read after a terminal event, so the
#: connection can go back to the pool; a longer rest closes the connection.
DRAIN_LIMIT = 64 * 1024

Predicate = Callable[[MessageEvent], bool]


async def excerpt(
    chunks: AsyncIterator[bytes], exceptions: tuple[type[BaseException], ...]
) -> str:
    """Up to ``BODY_EXCERPT_BYTES`` of a body, decoded leniently; within ``EXCERPT_WAIT``."""
    data = bytearray()
    with anyio.move_on_after(EXCERPT_WAIT):
        try:
            async for chunk in chunks:
                data += chunk
                if len(data) >= BODY_EXCERPT_BYTES:
                    break
        except exceptions:
            pass
    return bytes(data[:BODY_EXCERPT_BYTES]).decode("utf-8", "replace")


async def drain(chunks: AsyncIterator[bytes], exceptions: tuple[type[BaseException], ...]) -> bool:
    """Read the rest of a body (``DRAIN_LIMIT``, ``DRAIN_WAIT``); ``True`` if it ended."""
    read = 0
    with anyio.move_on_after(DRAIN_WAIT):
        try:
            async for chunk in chunks:
                read += len(chunk)
                if read > DRAIN_LIMIT:
                    return False
                del chunk  # not kept while the next read waits
        except exceptions:
            return False
        return True
    return False


def _shape(response: Any) -> tuple[int, Any, str, AsyncIterator[bytes]]:
    """Status, headers, URL and body chunks of an aiohttp or httpx response.

    The body's failures come out as the library's (``TransportError``,
    ``ReadTimeout``), translated as ``EventSource``'s transports do.
    """
    if hasattr(response, "status_code") and hasattr(response, "aiter_bytes"):  # httpx
        # httpx is there: this is its response.
        from ._transport._httpx import HttpxChunks
        from ._transport._httpx_common import read_timeout_of

        # raw: httpx's items() joins the values of a repeated header.
        encoding = response.headers.encoding
        headers = [(k.decode(encoding), v.decode(encoding)) for k, v in response.headers.raw]
        body = HttpxChunks(response.aiter_bytes(), read_timeout_of(response))
        return response.status_code, headers, str(response.url), body
    content: Any = getattr(response, "content", None)
    if hasattr(response, "status") and hasattr(content, "iter_any"):  # aiohttp
        chunks = AiohttpResponse(response, sock_read_of(response)).aiter_bytes()
        return response.status, response.headers, str(response.url), chunks
    raise TypeError("aiter_events() takes an aiohttp.ClientResponse or an httpx.Response")


async def aiter_events(
    response: Any,
    *,
    max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
    stop_when: Predicate | None = None,
    stop_after: Predicate | None = None,
    error_when: Predicate | None = None,
    on_comment: Callable[[str], object] | None = None,
) -> AsyncIterator[MessageEvent]:
    """Decode the event stream of a response you opened yourself.

    Works with an ``aiohttp.ClientResponse`` or a streamed ``httpx.Response``.
    Nothing reconnects and nothing is closed: the response stays yours. After a
    terminal event the rest of the body is drained (bounded), so the connection
    can go back to the pool.

    Args:
        response: The open response.
        max_event_size: Bound on one line or one event's data (``ProtocolError``).
        stop_when: End before yielding the event it matches (``is_done`` for ``[DONE]``).
        stop_after: End after yielding the event it matches (``is_message_stop``).
        error_when: Raise :class:`ServerEventError` for the event it matches.
        on_comment: Called with the text of each comment line.

    Raises:
        StatusError: the status is not 200 (``body`` holds an excerpt, e.g. a JSON error).
        ContentTypeError: a 200 that is not ``text/event-stream`` (``body`` holds an excerpt).
        ProtocolError: a line or event exceeded ``max_event_size``.
        ServerEventError: ``error_when`` matched an event.
        ReadTimeout: no byte arrived within the read timeout of the request.
        TransportError: the connection failed or broke while reading, or
            (aiohttp) the session's total timeout ran out (the HTTP library's
            exception is its ``__cause__``).
    """
    status, raw_headers, url, chunks = _shape(response)
    headers = header_view(raw_headers)
    if status != 200:
        body = await excerpt(chunks, (Exception,))
        raise StatusError(
            f"server answered {status_line(status)}",
            status=status,
            headers=headers,
            body=body,
            url=url,
        )
    essence = headers.get("content-type", "").partition(";")[0].strip().lower()
    if essence != "text/event-stream":
        raise ContentTypeError(
            f"server answered {status_line(status)}, not with text/event-stream",
            status=status,
            headers=headers,
            body=await excerpt(chunks, (Exception,)),  # a login page, say
            url=url,
        )
    parser = Parser(origin=origin_of(url), max_event_size=max_event_size)
    async for chunk in chunks:
        for event in parser.feed(chunk):
            if isinstance(event, Comment):
                if on_comment is not None:
                    on_comment(event.text)
                continue
            if error_when is not None and error_when(event):
                raise ServerEventError(event_error_message(event), event=event)
            if stop_when is not None and stop_when(event):
                await drain(chunks, (Exception,))
                return
            yield event
            if stop_after is not None and stop_after(event):
                await drain(chunks, (Exception,))
                return
        # Not kept while the next read waits: with thousands of streams, each
        # kept a read's worth (bench/README.md, fan-out).
        del chunk
    if parser.error is not None:  # held behind the last read's events: no next read raises it
        raise parser.error
