"""Transports: how an EventSource sends its requests (aiohttp, the default, or httpx).

Pass one to ``EventSource(url, transport=...)`` to set TLS, a proxy, HTTP/2
or the environment, or to use your own session or client::

    from eventsource import EventSource
    from eventsource.transports import AiohttpTransport, HttpxTransport

    EventSource(url, transport=AiohttpTransport(session=my_session))
    EventSource(url, transport=HttpxTransport(http2=True, verify="ca.pem"))

``HttpxTransport`` needs the ``httpx`` extra; it is imported when first named
here, and a missing extra gives an ``ImportError`` that names it. Write your
own by implementing :class:`Transport` (``open`` and ``aclose``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._transport._aiohttp import AiohttpTransport
from ._transport._base import Request, Response, Transport

if TYPE_CHECKING:
    from ._transport._httpx import HttpxTransport

__all__ = ["AiohttpTransport", "HttpxTransport", "Request", "Response", "Transport"]


def __getattr__(name: str) -> Any:
    if name == "HttpxTransport":
        from ._transport._httpx import HttpxTransport

        return HttpxTransport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
