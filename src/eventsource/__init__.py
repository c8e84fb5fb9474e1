"""An async Server-Sent Events client that behaves like the browser's ``EventSource``."""

from importlib.metadata import PackageNotFoundError, version

from ._errors import ContentTypeError as ContentTypeError
from ._errors import EventSourceError as EventSourceError
from ._errors import ProtocolError as ProtocolError
from ._errors import ReadTimeout as ReadTimeout
from ._errors import RedirectError as RedirectError
from ._errors import ResponseError as ResponseError
from ._errors import StatusError as StatusError
from ._errors import TransportError as TransportError
from ._event import ErrorEvent as ErrorEvent
from ._event import Event as Event
from ._event import MessageEvent as MessageEvent
from ._event import ReadyState as ReadyState
from ._parser import Parser as Parser
from ._retry import RetryPolicy as RetryPolicy
from ._source import EventSource as EventSource

try:
    __version__ = version("eventsource-client")
except PackageNotFoundError:  # pragma: no cover - only when run from a source tree
    __version__ = "0.0.0"

__all__ = [
    "ContentTypeError",
    "ErrorEvent",
    "Event",
    "EventSource",
    "EventSourceError",
    "MessageEvent",
    "Parser",
    "ProtocolError",
    "ReadTimeout",
    "ReadyState",
    "RedirectError",
    "ResponseError",
    "RetryPolicy",
    "StatusError",
    "TransportError",
    "__version__",
]
