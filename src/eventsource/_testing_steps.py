"""Script steps of the test server, their exact wire bytes, and one connection's writer.

Part of the public ``eventsource.testing`` module; imports aiohttp only for the
response it writes to, and nothing from the client side of the package.
"""

from __future__ import annotations

import asyncio
import re
import socket
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field

from aiohttp import web

__all__ = [
    "Comment",
    "Drop",
    "Event",
    "Headers",
    "Raw",
    "Redirect",
    "Respond",
    "Retry",
    "Sleep",
    "Stall",
    "Step",
    "Wire",
    "format_comment",
    "format_event",
    "format_retry",
]

# The event-stream grammar ends a line at CRLF, CR or LF, and nowhere else
# (str.splitlines would also split at \x0b, \x1c, \u2028, ...).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def format_event(
    data: str,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
) -> bytes:
    r"""Encode one event as UTF-8 ``text/event-stream`` bytes.

    Fields come in the order ``id``, ``event``, ``retry``, ``data``, each as
    ``name: value\n``; every line of ``data`` (split at CRLF, CR or LF) gets its
    own ``data:`` line, and a blank line ends the event::

        format_event("a\nb", event="chat", id="7")
        == b"id: 7\nevent: chat\ndata: a\ndata: b\n\n"

    Args:
        data: The event's data; may span several lines, may be empty.
        event: The event type; ``None`` leaves it out (the client says ``"message"``).
        id: The event id; ``""`` is sent and resets the client's last event id.
        retry: A reconnection time in milliseconds.

    Returns:
        The encoded event.

    Raises:
        ValueError: ``event`` or ``id`` contains a line break (or ``id`` a NUL,
            which makes clients ignore it), or ``retry`` is negative.
    """
    lines: list[str] = []
    if id is not None:
        if _LINE_BREAK.search(id) or "\0" in id:
            raise ValueError(f"an event id cannot contain a line break or NUL: {id!r}")
        lines.append(f"id: {id}")
    if event is not None:
        if _LINE_BREAK.search(event):
            raise ValueError(f"an event type cannot contain a line break: {event!r}")
        lines.append(f"event: {event}")
    if retry is not None:
        lines.append(format_retry(retry).decode("ascii").rstrip("\n"))
    lines.extend(f"data: {line}" for line in _LINE_BREAK.split(data))
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def format_retry(ms: int) -> bytes:
    r"""Encode a ``retry:`` field on its own block: ``b"retry: 500\n\n"``.

    Raises:
        ValueError: ``ms`` is negative (clients would ignore it).
    """
    if ms < 0:
        raise ValueError(f"retry must be a non-negative number of milliseconds, got {ms}")
    return f"retry: {ms}\n\n".encode("ascii")


def format_comment(text: str = "") -> bytes:
    r"""Encode a comment: ``b":" + text + b"\n"``, one ``:`` line per line of text.

    The text follows the colon as given: ``format_comment("ping") == b":ping\n"``;
    write ``" ping"`` for the ``: ping`` that many servers send.
    """
    return "".join(f":{line}\n" for line in _LINE_BREAK.split(text)).encode("utf-8")


@dataclass(frozen=True, slots=True)
class Event:
    """Send one event, encoded by `format_event`."""

    data: str
    event: str | None = None
    id: str | None = None
    retry: int | None = None

    def __post_init__(self) -> None:
        format_event(self.data, self.event, self.id, self.retry)  # validate early


@dataclass(frozen=True, slots=True)
class Comment:
    r"""Send a comment line, ``b":" + text + b"\n"`` (a heartbeat)."""

    text: str = ""


@dataclass(frozen=True, slots=True)
class Retry:
    r"""Send ``retry: MS`` followed by a blank line."""

    ms: int

    def __post_init__(self) -> None:
        format_retry(self.ms)  # validate early


@dataclass(frozen=True, slots=True)
class Raw:
    """Send these exact bytes as one chunk (half an event, bad UTF-8, CR line ends...)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Drop:
    """Close the TCP connection in the middle of the response, like a crashed server.

    By default the socket is closed normally (FIN) after everything already
    written has been sent, but the chunked body is never finished: a client
    reads every event sent before, then a network error (aiohttp:
    ``ClientPayloadError``, httpx: ``RemoteProtocolError``). With ``reset=True``
    the connection is reset (RST) instead, once the bytes written so far have
    left the server (aiohttp: ``ClientPayloadError``, httpx: ``ReadError``).
    """

    reset: bool = False


@dataclass(frozen=True, slots=True)
class Stall:
    """Send nothing and keep the connection open for ``seconds`` (``None``: until shutdown).

    Use it to exercise a client's read timeout. The server's shutdown ends a
    stall at once by dropping the connection.
    """

    seconds: float | None = None


@dataclass(frozen=True, slots=True)
class Sleep:
    """Pause ``seconds`` between two steps (the connection stays open)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Respond:
    """Answer with a plain, non-stream response; must be a script's only step.

    For a 401 with a JSON body, a 204, a 200 with ``text/html``, a 503 with
    ``Retry-After``... Without a ``Content-Type`` header, a non-empty body is
    sent as ``application/octet-stream``.
    """

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class Redirect:
    """Answer with a redirect to ``location`` (relative or absolute); must be the only step."""

    location: str
    status: int = 307


@dataclass(frozen=True, slots=True)
class Headers:
    """Override the status and headers of a stream; only as a script's first step.

    ``headers`` are merged over the defaults (``Content-Type: text/event-stream;
    charset=utf-8``, ``Cache-Control: no-cache``): ``Headers({"Content-Type":
    "text/plain"})`` makes a 200 with the wrong content type.
    """

    headers: Mapping[str, str] = field(default_factory=dict)
    status: int = 200


Step = Event | Comment | Retry | Raw | Drop | Stall | Sleep | Respond | Redirect | Headers
"""Any script step."""


class Wire:
    """One prepared stream response: writes chunks, waits, drops the connection.

    ``stop()`` (server shutdown, ``ChatRoom.close_all``) wakes any wait; the
    code serving the connection then drops it and returns.
    """

    def __init__(self, request: web.BaseRequest, response: web.StreamResponse) -> None:
        self._request = request
        self._response = response
        self._wake = asyncio.Event()
        self.stopping = False

    async def send(self, data: bytes) -> None:
        """Write one chunk; raises ``ConnectionError`` when the client has gone."""
        if data:  # an empty chunk would be the end of the chunked body
            await self._response.write(data)

    def wake(self) -> None:
        """Wake a pending `wait`."""
        self._wake.set()

    def stop(self) -> None:
        """Ask whoever serves this connection to drop it now."""
        self.stopping = True
        self._wake.set()

    async def wait(self, timeout: float | None) -> bool:
        """Wait until woken (True) or until ``timeout`` seconds have passed (False)."""
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        finally:
            if not self.stopping:
                self._wake.clear()
        return True

    async def drop(self, *, reset: bool = False) -> None:
        """Close the connection without finishing the response body."""
        transport = self._request.transport
        if transport is None or transport.is_closing():
            return
        if reset:
            # Let written bytes leave first; abort() would discard them.
            for _ in range(100):  # pragma: no branch - a second at most, then RST anyway
                if not transport.get_write_buffer_size():
                    break
                await asyncio.sleep(0.01)  # pragma: no cover - only with a full send buffer
            # SO_LINGER with a zero timeout: close() sends RST, not FIN.
            sock = transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        else:
            transport.close()
