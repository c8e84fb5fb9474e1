"""Event values handed to users: message events, open/error events and the ready state.

Pure values: imports nothing but the standard library.
"""

from __future__ import annotations

import enum
import json as _json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["ErrorEvent", "Event", "MessageEvent", "ReadyState", "new_message_event"]


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


def _event_factory() -> Callable[[str, str, str, str], MessageEvent]:
    """A constructor for trusted callers (the parser) that skips the frozen ``__init__``.

    A frozen dataclass sets each field through ``object.__setattr__``, which
    costs about four times a plain slotted class. Setting the slots through
    their descriptors gives the same immutable object at half the cost; on a
    stream of small events this is a large share of the parser's time.
    """
    new = object.__new__
    set_type = MessageEvent.__dict__["type"].__set__
    set_data = MessageEvent.__dict__["data"].__set__
    set_id = MessageEvent.__dict__["last_event_id"].__set__
    set_origin = MessageEvent.__dict__["origin"].__set__

    def make(type: str, data: str, last_event_id: str, origin: str) -> MessageEvent:
        event = new(MessageEvent)
        set_type(event, type)
        set_data(event, data)
        set_id(event, last_event_id)
        set_origin(event, origin)
        return event

    return make


#: Build a :class:`MessageEvent` from trusted values, fast (see ``_event_factory``).
new_message_event = _event_factory()


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
