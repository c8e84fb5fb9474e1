"""Floors: what the same connection costs with no SSE library at all."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

from . import Driver, Sink

_READ = 1 << 18

# The one session of raw_aiohttp in this process (a driver process runs one driver).
_shared: dict[str, Any] = {}


def _session() -> Any:
    import aiohttp

    session = _shared.get("session")
    if session is None:
        # limit=0: no connection waits for a pool slot (aiohttp's default is 100),
        # so N connections are N concurrent streams, as with a session each.
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=None)
        session = _shared["session"] = aiohttp.ClientSession(connector=connector, timeout=timeout)
    return session


async def _close_session() -> None:
    session = _shared.pop("session", None)
    if session is not None:
        await session.close()


async def raw_aiohttp(url: str, sink: Sink) -> None:
    """The lean reader: one session for all connections, each chunk let go before the next read.

    The lower bound of fan-out memory: what N streams cost in aiohttp with
    nothing else (see raw_aiohttp_session for a session per connection).
    """
    async with _session().get(url) as resp:
        async for chunk in resp.content.iter_any():
            sink(chunk)
            # Not held while the next read waits: holding the last chunk (up to
            # 64 KiB) cost ~25 KiB per connection at the peak of a fan-out.
            del chunk


async def raw_aiohttp_session(url: str, sink: Sink) -> None:
    """Body bytes through a session of its own per connection, as a standalone client opens one.

    Written the plain way, so the last chunk stays referenced while the next
    read waits. Fan-out only: with one connection it is raw_aiohttp.
    """
    import aiohttp

    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as resp:
        async for chunk in resp.content.iter_any():
            sink(chunk)


async def raw_lines(url: str, sink: Sink) -> None:
    """aiohttp chunks + a ``bytes.split(b"\\n")`` loop: the honest floor of parsing.

    Handles LF and CRLF, multi-line data and ``id:``; ignores the rest of the
    spec (lone CR, BOM, retry, event types), so a real parser costs more.
    """
    import aiohttp

    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as resp:
        pending = b""
        data: list[bytes] = []
        last_id = b""
        async for chunk in resp.content.iter_any():
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            for line in lines:
                if line[-1:] == b"\r":
                    line = line[:-1]
                if not line:
                    if data:
                        if sink(b"\n".join(data)):
                            return
                        data = []
                elif line[:5] == b"data:":
                    data.append(line[6:] if line[5:6] == b" " else line[5:])
                elif line[:3] == b"id:":
                    last_id = line[4:] if line[3:4] == b" " else line[3:]
        del last_id


def raw_socket(url: str, sink: Sink) -> None:
    """A blocking socket that discards bytes: the server's own rate."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    with socket.create_connection((host, port), timeout=60) as sock:
        sock.sendall(f"GET {parts.path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        view = memoryview(bytearray(_READ))
        while True:
            got = sock.recv_into(view)
            if not got:
                break
            sink(got)


_AIO = ("aiohttp",)
DRIVERS = [
    Driver("raw_socket", raw_socket, is_async=False, feeds="wire", group="floor", latency=False),
    Driver(
        "raw_aiohttp",
        raw_aiohttp,
        True,
        feeds="body",
        group="floor",
        latency=False,
        imports=_AIO,
        cleanup=_close_session,
    ),
    Driver(
        "raw_aiohttp_session",
        raw_aiohttp_session,
        True,
        feeds="body",
        group="floor",
        latency=False,
        imports=_AIO,
        throughput=False,
    ),
    Driver("raw_lines", raw_lines, is_async=True, feeds="bytes", group="floor", imports=_AIO),
]
