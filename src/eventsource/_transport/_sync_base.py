"""The blocking client's transport protocol, and waking its blocked reads from another thread.

Closing a socket does not wake a thread blocked reading it (on Linux the read
goes on until data or the peer's close); ``shutdown()`` does, at once, with an
end of stream. Imports neither httpx nor any async library.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator, Mapping
from typing import Protocol

from ._base import Request

__all__ = ["Interrupter", "SyncResponse", "SyncTransport"]


class Interrupter:
    """The socket a blocking request uses, to be shut down from another thread.

    The transport reports each socket it reads (:meth:`watch`); :meth:`fire`
    shuts the last one down and every one reported after it. Thread-safe.
    """

    __slots__ = ("_fired", "_lock", "_socket")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._fired = False

    @property
    def fired(self) -> bool:
        """Whether :meth:`fire` was called."""
        return self._fired

    def watch(self, sock: object) -> None:
        """The socket in use now (anything else is ignored); shut at once if already fired."""
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            self._socket = sock
            if self._fired:
                _shut(sock)

    def forget(self) -> None:
        """Shut no socket down: it is shared, or back in the pool for anyone's request.

        An HTTP/2 connection of your client carries other streams; a released
        response's connection may be handed to another request of your client.
        """
        with self._lock:
            self._socket = None

    def fire(self) -> None:
        """Wake the blocked read (or connection attempt past TCP) with an end of stream."""
        with self._lock:  # held while shutting: forget() returns after it, never during
            self._fired = True
            if self._socket is not None:
                _shut(self._socket)


def _shut(sock: socket.socket) -> None:
    # The plain socket's shutdown, also for a TLS socket: SSLSocket.shutdown
    # would drop its TLS state under the thread still reading through it.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class SyncResponse(Protocol):
    """An open response whose body is read, blocking, as chunks of bytes."""

    @property
    def status(self) -> int:
        """The HTTP status code."""
        ...

    @property
    def headers(self) -> Mapping[str, str]:
        """The response headers, looked up case-insensitively."""
        ...

    @property
    def url(self) -> str:
        """The URL that produced this response."""
        ...

    def iter_bytes(self, read_timeout: float | None = None) -> Iterator[bytes]:
        """Body chunks as they arrive; ``read_timeout`` replaces the request's when set."""
        ...

    def close(self) -> None:
        """Release the connection; safe to call more than once."""
        ...


class SyncTransport(Protocol):
    """Opens the blocking client's requests; reports each socket to ``interrupter``."""

    def open(self, request: Request, interrupter: Interrupter) -> SyncResponse:
        """Send ``request`` and return once the response headers have arrived."""
        ...

    def close(self) -> None:
        """Close what the transport created; a client the user passed stays open."""
        ...
