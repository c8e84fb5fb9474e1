"""An async Server-Sent Events client that behaves like the browser's ``EventSource``.

The names here are the client, its events and its errors. The rest lives in
public modules: :mod:`eventsource.transports` (aiohttp, httpx, your own
session or client), :mod:`eventsource.sentinels` (ready ``stop_when``
predicates for LLM streams), :mod:`eventsource.stores` (where a restarted
consumer finds its last event ID), :mod:`eventsource.mcp` (MCP request
streams), :mod:`eventsource.decode` (the sans-IO parser, for bodies you read
yourself) and :mod:`eventsource.testing` (a scripted loopback server).
"""

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _version

from ._errors import ConnectError as ConnectError
from ._errors import ContentTypeError as ContentTypeError
from ._errors import EventSourceError as EventSourceError
from ._errors import ProtocolError as ProtocolError
from ._errors import ReadTimeout as ReadTimeout
from ._errors import RedirectError as RedirectError
from ._errors import ResponseError as ResponseError
from ._errors import ServerEventError as ServerEventError
from ._errors import StatusError as StatusError
from ._errors import TransportError as TransportError
from ._event import ErrorEvent as ErrorEvent
from ._event import Event as Event
from ._event import MessageEvent as MessageEvent
from ._event import ReadyState as ReadyState
from ._policy import ResponseInfo as ResponseInfo
from ._policy import retry_transient as retry_transient
from ._request import ConnectAttempt as ConnectAttempt
from ._retry import RetryPolicy as RetryPolicy
from ._source import EventSource as EventSource

try:
    __version__ = _version("eventsource-client")
except _PackageNotFoundError:  # pragma: no cover - only when run from a source tree
    __version__ = "0.0.0"

__all__ = [
    "ConnectAttempt",
    "ConnectError",
    "ContentTypeError",
    "ErrorEvent",
    "Event",
    "EventSource",
    "EventSourceError",
    "MessageEvent",
    "ProtocolError",
    "ReadTimeout",
    "ReadyState",
    "RedirectError",
    "ResponseError",
    "ResponseInfo",
    "RetryPolicy",
    "ServerEventError",
    "StatusError",
    "TransportError",
    "retry_transient",
]
