"""A scripted loopback HTTP server for transport tests, usable from asyncio and trio.

The server is an ``aiohttp.web`` app on 127.0.0.1, port 0, running in a
background thread with its own asyncio loop, so the test's own event loop (of
either backend) only ever talks to it over a socket. Handlers that must wait
for the test wait on named *gates* that the test opens from its own thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from aiohttp import web

HOST = "127.0.0.1"
# Upper bound on any wait inside the server, so a broken test cannot hang it.
SERVER_WAIT = 10.0


@dataclass(frozen=True)
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class LoopbackServer:
    """The scenario server; start it, use :meth:`url`, then stop it."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._gates: dict[str, asyncio.Event] = {}
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self.port = 0

    # -- lifecycle, called from the test's thread -------------------------

    def start(self) -> None:
        """Start the server thread and return once the port is bound."""
        self._thread = threading.Thread(target=self._run, name="loopback-server", daemon=True)
        self._thread.start()
        self._ready.wait(SERVER_WAIT)
        if not self.port:
            raise RuntimeError("loopback server did not start")

    def stop(self) -> None:
        """Stop the server: release every waiting handler, close every socket, join."""
        loop, thread = self._loop, self._thread
        assert loop is not None
        assert thread is not None
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(SERVER_WAIT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(SERVER_WAIT)
        assert not thread.is_alive()

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this server."""
        return f"http://{HOST}:{self.port}{path}"

    def open_gate(self, name: str) -> None:
        """Let handlers waiting on gate ``name`` go on (safe from any thread)."""
        loop = self._loop
        assert loop is not None
        loop.call_soon_threadsafe(self._gate(name).set)

    # -- inside the server thread ------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            try:
                loop.run_until_complete(self._startup())
            finally:
                self._ready.set()
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _startup(self) -> None:
        self._stopping = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/stream", self._stream)
        app.router.add_route("*", "/echo", self._echo)
        app.router.add_get("/redirect", self._redirect)
        app.router.add_get("/stall-headers", self._stall_headers)
        app.router.add_get("/stall-body", self._stall_body)
        app.router.add_get("/drop", self._drop)
        app.router.add_get("/gzip", self._gzip)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.base_events.Server)
        self.port = server.sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        assert self._stopping is not None
        self._stopping.set()
        assert self._runner is not None
        await self._runner.cleanup()

    def _gate(self, name: str) -> asyncio.Event:
        return self._gates.setdefault(name, asyncio.Event())

    async def _wait_gate(self, name: str) -> bool:
        """Wait for gate ``name``; False if the server is stopping or waited too long."""
        assert self._stopping is not None
        gate = asyncio.ensure_future(self._gate(name).wait())
        stopping = asyncio.ensure_future(self._stopping.wait())
        done, pending = await asyncio.wait(
            {gate, stopping}, timeout=SERVER_WAIT, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return gate in done

    async def _record(self, request: web.Request) -> None:
        self.requests.append(
            Recorded(request.method, request.path, dict(request.headers), await request.read())
        )

    async def _start_stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "X-Scenario": request.path}
        )
        await response.prepare(request)
        return response

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        """One event, then wait for gate "second", then one more event and the end."""
        await self._record(request)
        response = await self._start_stream(request)
        await response.write(b"data: one\n\n")
        if await self._wait_gate("second"):
            await response.write(b"data: two\n\n")
            await response.write_eof()
        return response

    async def _echo(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.Response(body=b"data: ok\n\n", content_type="text/event-stream")

    async def _redirect(self, request: web.Request) -> web.Response:
        return web.Response(status=307, headers={"Location": "/stream"})

    async def _stall_headers(self, request: web.Request) -> web.Response:
        await self._wait_gate("never")
        return web.Response(body=b"", content_type="text/event-stream")

    async def _stall_body(self, request: web.Request) -> web.StreamResponse:
        response = await self._start_stream(request)
        await response.write(b": heartbeat\n\n")
        await self._wait_gate("never")
        return response

    async def _drop(self, request: web.Request) -> web.StreamResponse:
        """One event, then the connection closes in the middle of a chunked body."""
        response = await self._start_stream(request)
        await response.write(b"data: one\n\n")
        assert request.transport is not None
        request.transport.close()
        return response

    async def _gzip(self, request: web.Request) -> web.Response:
        return web.Response(
            body=gzip.compress(b"data: zipped\n\n"),
            headers={"Content-Type": "text/event-stream", "Content-Encoding": "gzip"},
        )


@contextlib.contextmanager
def running_server() -> Iterator[LoopbackServer]:
    """Run a :class:`LoopbackServer` for the duration of the block."""
    server = LoopbackServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound, never listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        yield sock.getsockname()[1]


def _socket_inodes() -> set[int]:
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(int(target[len("socket:[") : -1]))
    return inodes


def client_sockets_to(port: int) -> int:
    """How many open sockets of this process are connected *to* loopback ``port``.

    The server's own sockets (local port ``port``) are not counted, so this is
    exactly the client side's connections, whatever the server still holds.
    """
    ours = _socket_inodes()
    count = 0
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            remote_port = int(fields[2].split(":")[1], 16)
            if remote_port == port and int(fields[9]) in ours:
                count += 1
    return count


def open_fd_count() -> int:
    """How many file descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))
