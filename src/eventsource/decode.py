r"""Decoding event streams you read yourself: the sans-IO parser and ``aiter_events``.

For a caller who made the request (an aiohttp or httpx response, a file, a
socket): the same decoder and checks as ``EventSource``, without its
reconnection::

    from eventsource.decode import Parser, aiter_events

    parser = Parser()
    for item in parser.feed(b"data: hello\n\n"):  # MessageEvent and Comment, in order
        ...

    async for event in aiter_events(response):  # an open aiohttp/httpx response
        ...
"""

from __future__ import annotations

from ._decode import aiter_events
from ._event import Comment
from ._parser import DEFAULT_MAX_EVENT_SIZE, Parser

__all__ = ["DEFAULT_MAX_EVENT_SIZE", "Comment", "Parser", "aiter_events"]
