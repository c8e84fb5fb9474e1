"""Event values handed to users: message events, comments, open/error events, the ready state.

Pure values: imports nothing but the standard library.
"""

from __future__ import annotations

import enum
import json as _json
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import repeat
from typing import Any, NamedTuple

__all__ = [
    "Comment",
    "ErrorEvent",
    "Event",
    "MessageEvent",
    "MessageEvents",
    "ReadyState",
    "message_events",
]


class ReadyState(enum.IntEnum):
    """The ``readyState`` of an EventSource, with the browser's numbers."""

    CONNECTING = 0
    OPEN = 1
    CLOSED = 2


class MessageEvent(NamedTuple):
    """One event dispatched from the stream: an immutable named tuple.

    Read its fields by name (``event.data``); it also compares, hashes and
    unpacks as the tuple ``(type, data, last_event_id, origin)``, and
    ``event._replace(data=...)`` gives a changed copy.

    A named tuple rather than a frozen dataclass for speed: the parser builds
    one per event, and a tuple is made in C from its fields, about 75 ns an
    event against 150 for a slotted dataclass filled without ``__init__`` and
    350 through it (``bench/parser.py`` prints the build cost); ``async for``
    measured 8% faster, ``batches()`` 11-15% (bench/README.md).

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


class MessageEvents(list[MessageEvent]):
    """A list of message events and nothing else: what a read gives when it completed no comment.

    Its type says so, so a reader of many such lists (the delivery's run) takes
    them whole without looking at each item's type: on LLM-token events that
    look cost 5-6% of ``async for`` (bench/README.md). Build a plain list for
    anything else.
    """

    __slots__ = ()


def message_events(
    types: Iterable[str], datas: Iterable[str], last_event_ids: Iterable[str], origin: str
) -> MessageEvents:
    """``MessageEvent(type, data, last_event_id, origin)`` for each row of the columns given.

    The parser's one way to make events: ``tuple.__new__`` with the class and a
    row makes each in C, with no ``__init__`` call (mapped with the class
    repeated: 74 ns an event, against 90 through a ``functools.partial``).
    """
    rows = zip(types, datas, last_event_ids, repeat(origin))
    return MessageEvents(map(tuple.__new__, repeat(MessageEvent), rows))


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
        attempt: How many attempts in a row have failed, this one included (1 for
            the first failure, which may be the first connection).
        delay: Seconds until the next attempt, or ``None`` when there will be none.
        reconnecting: Whether the client will reconnect.
    """

    type: str = "error"
    error: BaseException | None = None
    status: int | None = None
    attempt: int = 0
    delay: float | None = None
    reconnecting: bool = False
