"""An async Server-Sent Events client that behaves like the browser's ``EventSource``."""

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _version

from ._connection import ConnectAttempt as ConnectAttempt
from ._decode import aiter_events as aiter_events
from ._errors import ConnectError as ConnectError
from ._errors import ContentTypeError as ContentTypeError
from ._errors import EventSourceError as EventSourceError
from ._errors import ProtocolError as ProtocolError
from ._errors import ReadTimeout as ReadTimeout
from ._errors import RedirectError as RedirectError
from ._errors import RequestMayHaveRunError as RequestMayHaveRunError
from ._errors import ResponseError as ResponseError
from ._errors import ServerEventError as ServerEventError
from ._errors import StatusError as StatusError
from ._errors import TransportError as TransportError
from ._event import Comment as Comment
from ._event import ErrorEvent as ErrorEvent
from ._event import Event as Event
from ._event import MessageEvent as MessageEvent
from ._event import ReadyState as ReadyState
from ._parser import Parser as Parser
from ._policy import TRANSIENT_STATUSES as TRANSIENT_STATUSES
from ._policy import ResponseInfo as ResponseInfo
from ._policy import StatusPolicy as StatusPolicy
from ._policy import parse_retry_after as parse_retry_after
from ._policy import retry_transient as retry_transient
from ._retry import RetryPolicy as RetryPolicy
from ._sentinels import is_done as is_done
from ._sentinels import is_error_event as is_error_event
from ._sentinels import is_message_stop as is_message_stop
from ._sentinels import is_response_completed as is_response_completed
from ._source import EventSource as EventSource
from ._store import FileLastEventIdStore as FileLastEventIdStore
from ._store import LastEventIdStore as LastEventIdStore

try:
    __version__ = _version("eventsource-client")
except _PackageNotFoundError:  # pragma: no cover - only when run from a source tree
    __version__ = "0.0.0"

__all__ = [
    "TRANSIENT_STATUSES",
    "Comment",
    "ConnectAttempt",
    "ConnectError",
    "ContentTypeError",
    "ErrorEvent",
    "Event",
    "EventSource",
    "EventSourceError",
    "FileLastEventIdStore",
    "LastEventIdStore",
    "MessageEvent",
    "Parser",
    "ProtocolError",
    "ReadTimeout",
    "ReadyState",
    "RedirectError",
    "RequestMayHaveRunError",
    "ResponseError",
    "ResponseInfo",
    "RetryPolicy",
    "ServerEventError",
    "StatusError",
    "StatusPolicy",
    "TransportError",
    "__version__",
    "aiter_events",
    "is_done",
    "is_error_event",
    "is_message_stop",
    "is_response_completed",
    "parse_retry_after",
    "retry_transient",
]
