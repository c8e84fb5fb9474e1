"""The exception tree: every error the library raises on purpose lives here.

Imports only ``_sendable`` (which imports nothing from the package), so every
layer may use it::

    EventSourceError
    ├── ResponseError        the server answered, but not with an event stream
    │   ├── StatusError      a status other than 200 (status, headers, body excerpt)
    │   ├── ContentTypeError a 200 whose content type is not text/event-stream
    │   └── RedirectError    too many redirects (a loop), or a forbidden target
    ├── TransportError       network failure; the transport's exception is __cause__
    │   ├── ConnectError     no connection was made: the request was not sent
    │   └── ReadTimeout      no byte arrived for ``read_timeout`` seconds
    ├── ProtocolError        the stream broke a limit we enforce (``max_event_size``)
    ├── ServerEventError     an event the caller's ``error_when`` marks as an error
    ├── RequestMayHaveRunError  a request that must not be sent twice may have been run
    └── StoreError           a last-event-id store could not load, or save at the end

Header values are kept as attributes for the caller to inspect, but never put in
an exception's message, since they may hold credentials (the content type of a
response aside).

The public classes say ``eventsource`` as their module, so a traceback reads
``eventsource.StatusError: ...``: the name they are imported by.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from multidict import CIMultiDictProxy

from ._sendable import header_view, redact_url

__all__ = [
    "ConnectError",
    "ContentTypeError",
    "EventSourceError",
    "ProtocolError",
    "ReadTimeout",
    "RedirectError",
    "RequestMayHaveRunError",
    "ResponseError",
    "ServerEventError",
    "StatusError",
    "StoreError",
    "TransportError",
]


#: How much of a response's body and content type its error's message shows, in characters.
MESSAGE_BODY_CHARS = 200
_MESSAGE_CONTENT_TYPE_CHARS = 100


def status_line(status: int) -> str:
    """``"401 Unauthorized"``: the status and its standard reason phrase, if it has one."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _one_line(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, on one line, without control characters."""
    cut = text[:limit]
    shown = " ".join("".join(c if c.isprintable() else " " for c in cut).split())
    return shown + "..." if len(text) > limit else shown


def _restore(cls: type[EventSourceError], args: tuple[Any, ...]) -> EventSourceError:
    # What pickle calls: __init__'s keyword-only arguments come back as the state.
    return cls.__new__(cls, *args)


class EventSourceError(Exception):
    """Base class of every error raised by this library."""

    def __reduce__(self) -> tuple[Any, ...]:
        # pickle would call __init__ with the message alone, which lacks the
        # required keywords (status=, event=): rebuild without it, then the state.
        return (_restore, (type(self), self.args), dict(self.__dict__))


class ResponseError(EventSourceError):
    """The server answered, but not with an event stream we may read.

    ``str(error)`` is the message, then the URL (without its query or
    userinfo), the content type and the first ``MESSAGE_BODY_CHARS``
    characters of the body excerpt, on one line::

        server answered 401 Unauthorized; url https://api.example/stream;
        content type 'application/json'; body {"error": "invalid token"}

    Attributes:
        status: The HTTP status code of the response.
        headers: The response headers: a read-only ``multidict.CIMultiDictProxy``,
            looked up case-insensitively (``headers.get("Retry-After")``), a repeated
            header keeping each value (``headers.getall("Set-Cookie")``). Their values
            are never shown in the message, the content type aside.
        body: Up to a few KiB of the response body, decoded leniently as UTF-8:
            what arrived within a quarter of a second (the error is not held up).
        url: The URL that gave this response.
    """

    #: Whether the message shows the content type, or says there was none.
    _shows_content_type = True

    def __init__(
        self,
        message: str,
        *,
        status: int,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        body: str = "",
        url: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers: CIMultiDictProxy[str] = header_view(headers)
        self.body = body
        self.url = url

    @property
    def content_type(self) -> str:
        """The response's ``Content-Type`` header, or ``""``."""
        return self.headers.get("Content-Type", "")

    def __str__(self) -> str:
        # Composed when shown: the body excerpt is read after the error is made.
        parts = [super().__str__()]
        if self.url:
            parts.append(f"url {redact_url(self.url)}")
        content_type = _one_line(self.content_type, _MESSAGE_CONTENT_TYPE_CHARS)
        if content_type:
            parts.append(f"content type {content_type!r}")
        elif self._shows_content_type:
            parts.append("no content type")
        body = _one_line(self.body, MESSAGE_BODY_CHARS)
        if body:
            parts.append(f"body {body}")
        return "; ".join(parts)

    def __reduce__(self) -> tuple[Any, ...]:
        # A read-only multidict cannot be pickled; its items can.
        state = {**self.__dict__, "headers": list(self.headers.items())}
        return (_restore, (type(self), self.args), state)

    def __setstate__(self, state: dict[str, Any] | None) -> None:
        state = dict(state or {})
        super().__setstate__({**state, "headers": header_view(state.get("headers"))})


class StatusError(ResponseError):
    """The response status was not 200 (and the status policy did not retry it)."""


class ContentTypeError(ResponseError):
    """The response was a 200 whose content type is not ``text/event-stream``."""


class RedirectError(ResponseError):
    """A redirect could not be followed: more than ``max_redirects`` hops, or a bad target."""

    _shows_content_type = False  # a redirect's body is not what went wrong


class TransportError(EventSourceError):
    """The network failed: connecting, sending or reading.

    The transport library's own exception is chained as ``__cause__``.
    """


class ConnectError(TransportError):
    """No connection to the server could be made: the request was not sent.

    Raised for a refused connection, a failed name lookup or TLS handshake, or
    ``connect_timeout`` running out. Anything that fails after the connection
    was made (the request may have reached the server) is a plain
    :class:`TransportError`.
    """


class ReadTimeout(TransportError):
    """No byte (heartbeat comments included) arrived within ``read_timeout``."""


class ProtocolError(EventSourceError):
    """The stream broke a limit this client enforces.

    Attributes:
        limit: The limit that was exceeded, in bytes (or characters) of one line or event.
    """

    def __init__(self, message: str, *, limit: int = 0) -> None:
        super().__init__(message)
        self.limit = limit


class ServerEventError(EventSourceError):
    """The stream carried an event that ``error_when`` marks as an error.

    Raised instead of yielding, for APIs that report failures mid-stream
    (``event: error``). The stream is closed; nothing after it is delivered.

    Attributes:
        event: The offending :class:`~eventsource.MessageEvent`.
    """

    def __init__(self, message: str, *, event: object) -> None:
        super().__init__(message)
        self.event = event


class RequestMayHaveRunError(EventSourceError):
    """The request may have reached the server, and sending it again could run it twice.

    Raised by :func:`eventsource.mcp.prepare_request` when the stream of a request
    broke before the server sent any event ID: there is nothing to resume from,
    and the server may already be acting on the request (an MCP tool call), so
    nothing is sent again. What broke the stream, if an error did, is chained as
    ``__cause__``.
    """


class StoreError(EventSourceError):
    """A last-event-id store failed where going on would lose the caller's place.

    Raised by iteration, ``batches()`` and ``run()`` when the store cannot load
    the saved ID before the first connection (the stream does not start from
    the beginning instead), and by ``aclose()``, ``run()`` or the end of
    iteration when the save of the last handled ID failed twice (a failed save
    during the stream is only logged, and the next ID saved instead). The
    store's exception is chained as ``__cause__``. Public as
    :class:`eventsource.stores.StoreError`.
    """


for _public in (
    ConnectError,
    ContentTypeError,
    EventSourceError,
    ProtocolError,
    ReadTimeout,
    RedirectError,
    ResponseError,
    ServerEventError,
    StatusError,
    TransportError,
):
    _public.__module__ = "eventsource"
RequestMayHaveRunError.__module__ = "eventsource.mcp"
StoreError.__module__ = "eventsource.stores"
del _public
