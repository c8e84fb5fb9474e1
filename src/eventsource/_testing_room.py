"""The chat room that the test server runs when no script is queued.

Part of the public ``eventsource.testing`` module; writes only through the
connection writer of ``_testing_steps``, and knows nothing of the client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ._testing_steps import Wire, format_comment, format_event, format_retry

__all__ = ["ChatRoom", "Message"]


@dataclass(frozen=True, slots=True)
class Message:
    """One message of a chat room's history."""

    id: str
    data: str
    event: str = "message"

    def encode(self) -> bytes:
        """The message on the wire; the default type ``message`` is left implicit."""
        event = None if self.event == "message" else self.event
        return format_event(self.data, event=event, id=self.id)


class ChatRoom:
    """An in-memory chat room served as an event stream, like the tutorials' Express app.

    Messages get sequential ids ``"1"``, ``"2"``, ... A connection that sends
    ``Last-Event-ID: k`` (an id the room issued) receives every message after
    ``k``, then live messages as they are published. A connection without it,
    or with an id the room never issued, gets what ``replay`` says: ``"all"``
    (the default) the whole history first, ``"none"`` only live messages.

    Everything runs on the server's event loop; ``publish`` and ``close_all``
    are plain functions, safe to call from any task on that loop.

    Args:
        retry_ms: If set, each connection starts with ``retry: retry_ms``.
        drop_every: If set, the connection is dropped (as by `Drop`) after every
            ``drop_every`` messages sent on it, so that clients must reconnect
            and resume.
        replay: What a connection without a usable ``Last-Event-ID`` receives.
        heartbeat: If set, a ``: heartbeat`` comment is sent after this many
            seconds without a message.
    """

    def __init__(
        self,
        *,
        retry_ms: int | None = None,
        drop_every: int | None = None,
        replay: Literal["all", "none"] = "all",
        heartbeat: float | None = None,
    ) -> None:
        if replay not in ("all", "none"):
            raise ValueError(f"replay must be 'all' or 'none', got {replay!r}")
        if drop_every is not None and drop_every < 1:
            raise ValueError(f"drop_every must be at least 1, got {drop_every}")
        if retry_ms is not None:
            format_retry(retry_ms)  # validate early
        self.retry_ms = retry_ms
        self.drop_every = drop_every
        self.replay = replay
        self.heartbeat = heartbeat
        self._history: list[Message] = []
        # Each live connection and how many messages of the history it has been sent.
        self._listeners: dict[Wire, int] = {}

    @property
    def history(self) -> tuple[Message, ...]:
        """Every message published so far, oldest first."""
        return tuple(self._history)

    @property
    def listeners(self) -> int:
        """The number of connections currently served by the room."""
        return len(self._listeners)

    def publish(self, data: str, event: str = "message") -> str:
        """Append a message to the history and wake every live connection.

        Returns:
            The new message's id.
        """
        message = Message(str(len(self._history) + 1), data, event)
        message.encode()  # refuse an invalid event type before it is stored
        self._history.append(message)
        for wire in self._listeners:
            wire.wake()
        return message.id

    def preload(self, n: int, template: str = "message {id}") -> list[str]:
        """Publish ``n`` messages whose data is ``template`` formatted with their id.

        Returns:
            The new ids.
        """
        ids = []
        for _ in range(n):
            ids.append(self.publish(template.format(id=len(self._history) + 1)))
        return ids

    def _all_sent(self) -> bool:
        """Whether every live connection has been sent every message published so far."""
        return all(sent == len(self._history) for sent in self._listeners.values())

    def close_all(self) -> int:
        """Drop every live connection (clients see a network error and reconnect).

        Returns:
            The number of connections dropped.
        """
        for wire in self._listeners:
            wire.stop()
        return len(self._listeners)

    def _start(self, last_event_id: str | None) -> int:
        if last_event_id is not None and last_event_id.isascii() and last_event_id.isdigit():
            position = int(last_event_id)
            if position <= len(self._history):
                return position
        return 0 if self.replay == "all" else len(self._history)

    async def _serve(self, wire: Wire, last_event_id: str | None) -> None:
        """Serve one connection until it is dropped, stopped or the client leaves."""
        position = self._start(last_event_id)
        self._listeners[wire] = position
        try:
            if self.retry_ms is not None:
                await wire.send(format_retry(self.retry_ms))
            sent = 0
            while not wire.stopping:
                if position < len(self._history):
                    await wire.send(self._history[position].encode())
                    position += 1
                    self._listeners[wire] = position
                    sent += 1
                    if self.drop_every is not None and sent % self.drop_every == 0:
                        break
                elif not await wire.wait(self.heartbeat):
                    await wire.send(format_comment(" heartbeat"))
            await wire.drop()
        finally:
            del self._listeners[wire]
