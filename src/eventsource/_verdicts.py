"""What the connection decides and what a stream says: the words between core and driver.

:class:`~eventsource._connection.Connection` judges each response and each
lost connection into a verdict (``Open``, ``Redirect``, ``Fail``, ``Stop``,
``Reconnect``); the driver acts on it, and ``Connection.report`` turns it
into items for the user. An :data:`Item` is one thing a stream says, in
wire order; an :class:`End` is always the last.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

from ._errors import EventSourceError, ResponseError
from ._event import Comment, Event, MessageEvent

__all__ = [
    "End",
    "Fail",
    "Item",
    "Open",
    "Predicate",
    "Reconnect",
    "Redirect",
    "Stop",
    "event_error_message",
    "needs_excerpt",
]


@dataclass(frozen=True, slots=True)
class Open:
    """The response is an event stream: the connection is open."""


@dataclass(frozen=True, slots=True)
class Redirect:
    """Follow a redirect: send the next request from ``Connection.build_request``."""

    url: str


@dataclass(frozen=True, slots=True)
class Fail:
    """Fail the connection: CLOSED, no reconnect; ``error`` is raised to the caller."""

    error: EventSourceError


@dataclass(frozen=True, slots=True)
class Stop:
    """End normally without reconnecting: a 204, or the end of a one-shot stream."""

    status: int | None


@dataclass(frozen=True, slots=True)
class Reconnect:
    """Wait ``delay`` seconds, then reconnect; ``attempt`` counts failures in a row.

    ``error`` is what went wrong, when something did (``None`` after a plain end
    of stream).
    """

    delay: float
    attempt: int
    error: EventSourceError | None = None


@dataclass(frozen=True, slots=True)
class End:
    """The last item of a stream: stop after the items before it.

    ``error`` is raised to the caller when set (after its ``ErrorEvent``; a
    predicate's own exception has none); ``None`` ends iteration normally (a
    204, a sentinel, a one-shot stream's end). ``cut``: a predicate ended the
    stream at an event, so the parser may have read events (and IDs) past it
    that are never handed out.
    """

    error: Exception | None = None
    cut: bool = False


#: What a stream says, in order: its events and comments, the lifecycle events
#: ``open`` and ``error``, and at last an :class:`End`.
Item: TypeAlias = "MessageEvent | Comment | Event | End"
#: ``stop_when``, ``stop_after``, ``error_when``: a question asked of each message event.
Predicate: TypeAlias = Callable[[MessageEvent], bool]


def event_error_message(event: MessageEvent) -> str:
    """The message of a ``ServerEventError``: the event's type and (bounded) data."""
    data = event.data if len(event.data) <= 200 else event.data[:200] + "..."
    return f"the server sent an {event.type!r} event: {data}"


def needs_excerpt(verdict: Open | Redirect | Fail | Stop | Reconnect) -> ResponseError | None:
    """The error whose ``body`` a driver fills with an excerpt of the response, if any."""
    error = getattr(verdict, "error", None)
    return error if isinstance(error, ResponseError) else None
