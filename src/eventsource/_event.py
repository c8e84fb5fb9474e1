"""Event values handed to users: message events, comments, open/error events, the ready state.

Pure values: imports nothing but the standard library.
"""

from __future__ import annotations

import enum
import json as _json
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import repeat
from typing import Any

__all__ = ["Comment", "ErrorEvent", "Event", "MessageEvent", "ReadyState", "message_events"]


class ReadyState(enum.IntEnum):
    """The ``readyState`` of an EventSource, with the browser's numbers."""

    CONNECTING = 0
    OPEN = 1
    CLOSED = 2


@dataclass(frozen=True, slots=True)
class MessageEvent:
    """One event dispatched from the stream.

    Attributes:
        type: The event type: the ``event:`` field, or ``"message"``.
        data: The ``data:`` lines joined with line feeds.
        last_event_id: The last event ID string in force when the event was dispatched.
        origin: The origin (scheme, host, port) of the URL that served the stream.
    """

    type: str = "message"
    data: str = ""
    last_event_id: str = ""
    origin: str = ""

    @property
    def lastEventId(self) -> str:
        """Browser spelling of :attr:`last_event_id`."""
        return self.last_event_id

    def json(self, **kwargs: Any) -> Any:
        """Decode :attr:`data` as JSON.

        Raises:
            json.JSONDecodeError: the data is not valid JSON.
        """
        return _json.loads(self.data, **kwargs)


# How message_events() sets each field of a MessageEvent: its slot's descriptor.
_TYPE, _DATA, _LAST_EVENT_ID, _ORIGIN = (
    vars(MessageEvent)[name].__set__ for name in ("type", "data", "last_event_id", "origin")
)
_consume = deque[object](maxlen=0).extend  # runs an iterator to its end, keeping nothing


def message_events(
    types: Iterable[str], datas: list[str], last_event_ids: Iterable[str], origin: str
) -> list[MessageEvent]:
    """``MessageEvent(type, data, last_event_id, origin)`` for each row of the columns given.

    The parser's one way to make events. The frozen ``__init__`` sets each field
    through ``object.__setattr__``, which calls the field's slot descriptor; this
    calls the descriptors itself, one field at a time for all events, in C loops
    (``map``) instead of a Python call per event. Same frozen objects; about
    160 ns an event against 350 through ``__init__`` (``bench/parser.py``
    prints both), and on a stream of small events building them is a large
    share of all the work.
    """
    count = len(datas)
    events: list[MessageEvent] = list(map(object.__new__, repeat(MessageEvent, count)))
    _consume(map(_TYPE, events, types))
    _consume(map(_DATA, events, datas))
    _consume(map(_LAST_EVENT_ID, events, last_event_ids))
    _consume(map(_ORIGIN, events, repeat(origin, count)))
    return events


@dataclass(frozen=True, slots=True)
class Comment:
    """A comment line of the stream (``: ping``), such as a heartbeat.

    Attributes:
        text: The line after its colon, with one leading space removed.
    """

    text: str


@dataclass(frozen=True, slots=True)
class Event:
    """A lifecycle event without data: ``open`` (and the base of :class:`ErrorEvent`)."""

    type: str = "open"


@dataclass(frozen=True, slots=True)
class ErrorEvent(Event):
    """What went wrong, handed to ``onerror`` and ``error`` listeners.

    Attributes:
        error: The exception behind it (a typed :class:`~eventsource.EventSourceError`,
            or ``None`` when the server simply ended the stream).
        status: The HTTP status, when the failure was a response.
        attempt: How many reconnection attempts in a row have failed (1 on the first).
        delay: Seconds until the next attempt, or ``None`` when there will be none.
        reconnecting: Whether the client will reconnect.
    """

    type: str = "error"
    error: BaseException | None = None
    status: int | None = None
    attempt: int = 0
    delay: float | None = None
    reconnecting: bool = False
