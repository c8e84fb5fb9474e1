"""aiohttp on our shared session: what the wait for a closed socket leaves behind.

The response keeps its connection's protocol (aiohttp lets go of a connection
that is not pooled as its body ends), and ``aclose()`` waits for the socket
to go. The future it waits on is made only then: made with the response, a
reset that ended a body read to the connection's close, while nobody read, set
its exception; a close that cannot await it (from another event loop) left it
unread, and asyncio logged "Future exception was never retrieved".
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import socket
import struct
import threading
from collections.abc import Iterator

import anyio
import pytest

from eventsource import EventSource

from ._fixtures import FAST, LIMIT
from ._servers import HOST, _socket_inodes


class ResetAfterOneEvent:
    """A raw HTTP server: a body with no length (read to the close), one event, then a reset.

    The reset waits for ``go``. Every later request gets a 204 (the stream is over).
    """

    def __init__(self) -> None:
        self.go = threading.Event()
        self._listener = socket.create_server((HOST, 0))
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        first = True
        with contextlib.suppress(OSError):  # the listener closed: the server ends
            while True:
                connection, _ = self._listener.accept()
                with connection:
                    connection.settimeout(LIMIT)
                    connection.recv(65536)  # the request (small, one read on loopback)
                    if not first:
                        connection.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                        continue
                    first = False
                    connection.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                        b"Connection: close\r\n\r\nid: 1\ndata: one\n\n"
                    )
                    self.go.wait(LIMIT)
                    linger = struct.pack("ii", 1, 0)
                    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)

    def __enter__(self) -> ResetAfterOneEvent:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.go.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (close alone does not)
        self._listener.close()
        self._thread.join(LIMIT)


@pytest.fixture
def resetting() -> Iterator[ResetAfterOneEvent]:
    with ResetAfterOneEvent() as server:
        yield server


def _client_inodes(port: int) -> set[int]:
    """The inodes of this process's sockets connected to loopback ``port``."""
    ours = _socket_inodes()
    with open("/proc/net/tcp") as table:
        rows = [line.split() for line in list(table)[1:]]
    return {int(row[9]) for row in rows if int(row[2].split(":")[1], 16) == port} & ours


def test_a_reset_while_nobody_reads_then_aclose_in_another_loop_logs_nothing(
    resetting: ResetAfterOneEvent, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="asyncio")
    es = EventSource(f"http://{HOST}:{resetting.port}/", transport="aiohttp", **FAST)

    async def first(es: EventSource) -> None:
        with anyio.fail_after(LIMIT):
            assert (await anext(es)).data == "one"
            sockets = _client_inodes(resetting.port)
            assert sockets
            resetting.go.set()
            # Until asyncio saw the reset and closed the socket (the kernel's table
            # loses its entry with the reset, before asyncio looks).
            while sockets & _socket_inodes():
                await anyio.sleep(0.005)

    asyncio.run(first(es))
    asyncio.run(es.aclose())  # another loop: nothing of the first can be awaited
    del es
    gc.collect()
    assert [record.getMessage() for record in caplog.records if record.name == "asyncio"] == []
