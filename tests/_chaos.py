"""A fault-injecting event-stream server on 127.0.0.1, for the chaos soak.

It speaks just enough HTTP/1.1 over raw asyncio streams to be in full control
of every byte: a chunked ``text/event-stream`` body that resumes after the
request's ``Last-Event-ID`` (ids are ``1..total``), broken, at random but
seeded points, in the ways that real deploys, proxies and flaky networks
break streams:

- ``cut_mid_event``: the connection ends after whole lines of an event but
  before the blank line that dispatches it;
- ``cut_mid_line``: it ends in the middle of a line;
- ``cut_mid_utf8``: it ends between the bytes of one multibyte character;
- ``reset``: the connection is reset (RST) in the middle of an event;
- ``stall``: nothing more is sent (after a partial event, or whole events),
  until the client gives up on its ``read_timeout`` and disconnects;
- ``status_500``, ``status_502``, ``status_503``: a plain error response
  instead of a stream (sometimes with ``Retry-After: 0``);
- ``retry_change``: a ``retry:`` field with a new reconnection time;
- ``trickle``: a few events sent one byte per chunk.

Every event carries multibyte data (Latin-1, BMP and astral characters), and
some carry two data lines, so that cuts inside characters and lines happen.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from collections import Counter
from types import TracebackType

HOST = "127.0.0.1"
TERMINAL_FAULTS = ("cut_mid_event", "cut_mid_line", "cut_mid_utf8", "reset", "stall")
STATUS_FAULTS = ("status_500", "status_502", "status_503")
FAULT_KINDS = (*TERMINAL_FAULTS, *STATUS_FAULTS, "retry_change", "trickle")
# Upper bound on any wait of a handler, so that a broken client cannot hang the server.
HANDLER_WAIT = 10.0


def event_data(n: int) -> str:
    """The data of event ``n``: multibyte characters, and two lines for every fifth."""
    data = f"#{n} héllo wörld ✓ 日本語 🎉 {'é' * (n % 7)}"
    if n % 5 == 0:
        data += f"\nsecond line of #{n} — ünïcödé 🐍"
    return data


def encode_event(n: int) -> bytes:
    """Event ``n`` on the wire: ``id: n`` then its data lines, then a blank line."""
    lines = [f"id: {n}"] + [f"data: {line}" for line in event_data(n).split("\n")]
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class ChaosServer:
    """The fault-injecting server: ``async with ChaosServer(total, seed=...) as server``.

    Args:
        total: How many events the stream has (ids ``1`` to ``total``).
        seed: Seeds every random choice, so a run can be replayed.
        mean_run: The mean number of whole events sent on a connection before its fault.

    Attributes:
        faults: How many faults of each kind were injected.
        connections: How many requests were served.
    """

    def __init__(self, total: int, *, seed: int = 0, mean_run: int = 30) -> None:
        self.total = total
        self.faults: Counter[str] = Counter()
        self.connections = 0
        self._rng = random.Random(seed)
        self._mean_run = mean_run
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        """The stream's URL."""
        return f"http://{HOST}:{self.port}/chat"

    async def __aenter__(self) -> ChaosServer:
        self._server = await asyncio.start_server(self._accept, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
        # Python 3.11's wait_closed() does not wait for the connections: let their
        # close callbacks run before the loop may end, or their sockets leak.
        for _ in range(3):
            await asyncio.sleep(0)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client went away first
        except asyncio.CancelledError:
            pass  # the server is shutting down; asyncio would log a cancelled handler
        finally:
            self._tasks.discard(task)  # type: ignore[arg-type]
            if not writer.transport.is_closing():
                writer.close()  # after what was written has been sent

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HANDLER_WAIT)
        self.connections += 1
        start = 0
        for line in head.decode("latin-1").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "last-event-id" and value.strip().isdigit():
                start = int(value.strip())
        rng = self._rng
        if start < self.total and rng.random() < 0.12:
            await self._status(writer, rng.choice(STATUS_FAULTS))
            return
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
            b"Cache-Control: no-cache\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        if start >= self.total:
            # Everything was delivered: keep the stream open until the client leaves.
            await writer.drain()
            await self._wait_for_client(reader)
            return
        if rng.random() < 0.1:
            self.faults["retry_change"] += 1
            writer.write(_chunk(b"retry: %d\n\n" % rng.choice((0, 1, 2, 5))))
        position = start
        run = rng.randint(0, 2 * self._mean_run)
        end = min(position + run, self.total)
        if end > position and rng.random() < 0.1:
            self.faults["trickle"] += 1
            trickled = min(end, position + rng.randint(1, 3))
            for byte in b"".join(encode_event(n) for n in range(position + 1, trickled + 1)):
                writer.write(_chunk(bytes((byte,))))
                await writer.drain()
            position = trickled
        await self._send_split(
            writer, b"".join(encode_event(n) for n in range(position + 1, end + 1))
        )
        position = end
        if position >= self.total:
            await writer.drain()
            await self._wait_for_client(reader)
            return
        await self._terminal_fault(reader, writer, position + 1)

    async def _send_split(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        """Send ``data`` as a few chunks split at random points (anywhere, mid-character too)."""
        if not data:
            return
        cuts = sorted(self._rng.sample(range(1, len(data)), min(3, len(data) - 1)))
        for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True):
            writer.write(_chunk(data[a:b]))
        await writer.drain()

    async def _status(self, writer: asyncio.StreamWriter, kind: str) -> None:
        self.faults[kind] += 1
        status = int(kind.rpartition("_")[2])
        body = b'{"error": "the server is being deployed"}'
        extra = b"Retry-After: 0\r\n" if self._rng.random() < 0.5 else b""
        writer.write(
            b"HTTP/1.1 %d Unavailable\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n%s\r\n%s"
            % (status, len(body), extra, body)
        )
        await writer.drain()

    async def _terminal_fault(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int
    ) -> None:
        """End the connection inside event ``n`` (or, for a stall, maybe before it)."""
        rng = self._rng
        kind = rng.choice(TERMINAL_FAULTS)
        self.faults[kind] += 1
        event = encode_event(n)
        if kind == "cut_mid_event":
            # After whole lines, before the blank line: "id: n\n", or a first data line.
            ends = [i + 1 for i, byte in enumerate(event[:-2]) if byte == 0x0A]
            cut = rng.choice(ends)
        elif kind == "cut_mid_utf8":
            continuation = [i for i, byte in enumerate(event) if 0x80 <= byte < 0xC0]
            cut = rng.choice(continuation)
        else:  # inside a line, between two ASCII bytes
            inside = [
                i
                for i in range(1, len(event) - 1)
                if event[i - 1] not in b"\n" and event[i] < 0x80 and event[i] != 0x0A
            ]
            cut = rng.choice(inside)
        if kind == "stall" and rng.random() < 0.5:
            cut = 0  # stall between two events
        if cut:
            writer.write(_chunk(event[:cut]))
        await writer.drain()
        if kind == "stall":
            await self._wait_for_client(reader)
        elif kind == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        else:
            writer.close()

    async def _wait_for_client(self, reader: asyncio.StreamReader) -> None:
        """Wait (bounded) until the client closes its side of the connection."""
        with contextlib.suppress(asyncio.TimeoutError):
            while await asyncio.wait_for(reader.read(4096), HANDLER_WAIT):
                pass
