"""Event values handed to users: message events, open/error events and the ready state.

Pure values: imports nothing but the standard library.
"""

from __future__ import annotations

import enum
import json as _json
from dataclasses import dataclass
from typing import Any

__all__ = ["Comment", "ErrorEvent", "Event", "MessageEvent", "MessageEventDraft", "ReadyState"]


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


class MessageEventDraft:
    """A :class:`MessageEvent` being built, for the parser only.

    Same slots in the same order, but not frozen: the parser fills a draft with
    plain attribute stores and then sets its ``__class__`` to
    :class:`MessageEvent`, which Python allows between classes of identical
    layout. The result is an ordinary frozen ``MessageEvent``. Its own
    ``__init__`` (through ``object.__setattr__``, as every frozen dataclass)
    costs about three times as much, and on a stream of small events building
    the event is a large share of all the work.
    """

    __slots__ = MessageEvent.__slots__  # the same names in the same order: the same layout

    type: str
    data: str
    last_event_id: str
    origin: str


@dataclass(frozen=True, slots=True)
class Comment:
    """A comment line of the stream (``: text``), such as a heartbeat.

    Attributes:
        text: What follows the colon, less one leading space.
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
