"""The exception tree: every error the library raises on purpose lives here.

Imports nothing from the package, so every layer may use it::

    EventSourceError
    ├── ResponseError        the server answered, but not with an event stream
    │   ├── StatusError      a status other than 200 (status, headers, body excerpt)
    │   ├── ContentTypeError a 200 whose content type is not text/event-stream
    │   └── RedirectError    too many redirects, a loop, or a forbidden target
    ├── TransportError       network failure; the transport's exception is __cause__
    │   ├── ConnectError     no connection was made: the request was not sent
    │   └── ReadTimeout      no byte arrived for ``read_timeout`` seconds
    ├── ProtocolError        the stream broke a limit we enforce (``max_event_size``)
    ├── ServerEventError     an event the caller's ``error_when`` marks as an error
    └── RequestMayHaveRunError  a request that must not be sent twice may have been run

Header values are kept as attributes for the caller to inspect, but never put in
an exception's message, since they may hold credentials.
"""

from __future__ import annotations

from collections.abc import Mapping

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
    "TransportError",
]


class EventSourceError(Exception):
    """Base class of every error raised by this library."""


class ResponseError(EventSourceError):
    """The server answered, but not with an event stream we may read.

    Attributes:
        status: The HTTP status code of the response.
        headers: The response headers (never shown in the message).
        body: Up to a few KiB of the response body, decoded leniently as UTF-8:
            what arrived within a quarter of a second (the error is not held up).
        url: The URL that gave this response.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        headers: Mapping[str, str] | None = None,
        body: str = "",
        url: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers: Mapping[str, str] = dict(headers or {})
        self.body = body
        self.url = url

    @property
    def content_type(self) -> str:
        """The response's ``Content-Type`` header, or ``""``."""
        for name, value in self.headers.items():
            if name.lower() == "content-type":
                return value
        return ""


class StatusError(ResponseError):
    """The response status was not 200 (and the status policy did not retry it)."""


class ContentTypeError(ResponseError):
    """The response was a 200 whose content type is not ``text/event-stream``."""


class RedirectError(ResponseError):
    """A redirect could not be followed: too many hops, a loop, or a bad target."""


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
