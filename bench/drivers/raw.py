"""Floors: what the same connection costs with no SSE library at all."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from . import Driver, Sink

_READ = 1 << 18


async def raw_aiohttp(url: str, sink: Sink) -> None:
    """Read the body only: aiohttp's ``iter_any()``, bytes discarded (after a crc)."""
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
        "raw_aiohttp", raw_aiohttp, True, feeds="body", group="floor", latency=False, imports=_AIO
    ),
    Driver("raw_lines", raw_lines, is_async=True, feeds="bytes", group="floor", imports=_AIO),
]
