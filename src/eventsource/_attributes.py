"""The browser's attributes of an EventSource, read off its Connection: for both clients.

``readyState``, ``url``, the reconnection time and the predicates are the
connection's state; setting a predicate also judges the items already
received and not handed out (each class says where those wait, in
``_judge_waiting``). ``lastEventId`` stays with each class: it follows what
that class handed out. The ``repr`` shows the URL as log lines do (no query,
no userinfo) and the state. The constructor's options that are not
attributes refuse to be set afterwards (``es.reconnect = False`` would
otherwise add an attribute that nothing reads).
"""

from __future__ import annotations

from typing import ClassVar, NoReturn

from ._connection import Connection
from ._event import ReadyState
from ._listeners import check_callable
from ._sendable import redact_url
from ._verdicts import Predicate

__all__ = ["FIXED_OPTIONS", "StreamAttributes", "fixed_option"]

#: Options of both constructors that are fixed once made (no attribute to read).
FIXED_OPTIONS = (
    "headers",
    "params",
    "method",
    "body",
    "json",
    "retry",
    "retry_policy",
    "reconnect",
    "read_timeout",
    "connect_timeout",
    "max_event_size",
    "max_redirects",
    "secret_headers",
    "allow_insecure_redirects",
    "transport",
    "status_policy",
    "last_event_id_store",
)


def fixed_option(name: str) -> property:
    """A property for the option ``name``: reading it and setting it raise ``AttributeError``."""

    def get(self: object) -> NoReturn:
        raise AttributeError(
            f"{type(self).__name__!r} object has no attribute {name!r}"
            " (it is an option of the constructor)"
        )

    def refuse(self: object, value: object) -> NoReturn:
        raise AttributeError(
            f"{name!r} is fixed when the {type(self).__name__} is made: pass"
            f" {name}=... to the constructor (setting it afterwards would change nothing)"
        )

    return property(get, refuse)


class StreamAttributes:
    """``readyState``, ``url``, ``reconnection_time`` and the predicates, over ``_connection``."""

    __slots__ = ()
    _connection: Connection

    CONNECTING: ClassVar[ReadyState] = ReadyState.CONNECTING
    OPEN: ClassVar[ReadyState] = ReadyState.OPEN
    CLOSED: ClassVar[ReadyState] = ReadyState.CLOSED

    @property
    def withCredentials(self) -> bool:
        """The browser's ``withCredentials``: always ``False`` here, and read-only.

        Send cookies or tokens with ``headers`` or your own session or client.
        """
        return False

    @property
    def with_credentials(self) -> bool:
        """``withCredentials``."""
        return False

    @property
    def url(self) -> str:
        """The URL this EventSource connects to (with ``params`` applied)."""
        return self._connection.url

    @property
    def readyState(self) -> ReadyState:
        """``CONNECTING`` (0), ``OPEN`` (1) or ``CLOSED`` (2)."""
        return self._connection.state

    @property
    def ready_state(self) -> ReadyState:
        """``readyState``."""
        return self._connection.state

    @property
    def reconnection_time(self) -> float:
        """The current reconnection time in seconds (the server's ``retry:`` wins)."""
        return self._connection.reconnection_time

    @property
    def stop_when(self) -> Predicate | None:
        """End the stream before the event this matches (see the constructor)."""
        return self._connection.stop_when

    @stop_when.setter
    def stop_when(self, predicate: Predicate | None) -> None:
        self._connection.stop_when = check_callable(predicate, "stop_when")
        self._judge_waiting()

    @property
    def stop_after(self) -> Predicate | None:
        """End the stream after delivering the event this matches (see the constructor)."""
        return self._connection.stop_after

    @stop_after.setter
    def stop_after(self, predicate: Predicate | None) -> None:
        self._connection.stop_after = check_callable(predicate, "stop_after")
        self._judge_waiting()

    @property
    def error_when(self) -> Predicate | None:
        """Raise ``ServerEventError`` for the event this matches (see the constructor)."""
        return self._connection.error_when

    @error_when.setter
    def error_when(self, predicate: Predicate | None) -> None:
        self._connection.error_when = check_callable(predicate, "error_when")
        self._judge_waiting()

    def __repr__(self) -> str:
        """``<EventSource url='http://host/stream' readyState=OPEN>``: no query, no userinfo."""
        state = self._connection.state.name
        return f"<{type(self).__name__} url={redact_url(self.url)!r} readyState={state}>"

    def _judge_waiting(self) -> None:
        raise NotImplementedError  # each class knows where its received items wait


for _name in FIXED_OPTIONS:
    setattr(StreamAttributes, _name, fixed_option(_name))
del _name
