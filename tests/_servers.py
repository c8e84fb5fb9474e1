"""Test-only helpers around `eventsource.testing.SSEServer`, usable from asyncio and trio.

:class:`LoopbackServer` is an `SSEServer` run in its own thread (``with
SSEServer()``), so the test's own event loop (of either backend) only ever
talks to it over a socket, plus fixed scenarios shared by the transport tests
and named *gates* that handlers wait on and the test opens from its own thread.
Handlers (`SSEServer.handle`) run on the server's loop (so they use asyncio,
whatever the test's backend) and may use :func:`sse`, :func:`open_stream`,
:func:`drop` and :meth:`LoopbackServer.wait_gate`.

The rest is not a server: :class:`ForwardingProxy` is a plain-HTTP forward
proxy on 127.0.0.1 for proxy tests, and the port, socket and fd helpers look
at this process from outside.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import os
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from aiohttp import web

from eventsource.testing import Handler, RecordedRequest, SSEServer

HOST = "127.0.0.1"
# Upper bound on any wait inside the server, so a broken test cannot hang it.
SERVER_WAIT = 10.0


#: One request as the server saw it.
Recorded = RecordedRequest


class _LoopThread:
    """``start()``/``stop()`` for a helper running its own asyncio loop in a thread.

    The class sets ``_loop`` and ``port`` from ``_run`` (the thread's body),
    signals ``_ready`` once bound, and closes everything in ``_shutdown``.
    """

    _kind = "server"
    _loop: asyncio.AbstractEventLoop | None
    _thread: threading.Thread | None
    _ready: threading.Event
    port: int

    def _run(self) -> None:
        raise NotImplementedError

    async def _shutdown(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        """Start the thread and return once the port is bound."""
        self._thread = threading.Thread(
            target=self._run, name=f"loopback-{self._kind}", daemon=True
        )
        self._thread.start()
        self._ready.wait(SERVER_WAIT)
        if not self.port:
            raise RuntimeError(f"loopback {self._kind} did not start")

    def stop(self) -> None:
        """Release and close everything the loop holds, then join the thread."""
        loop, thread = self._loop, self._thread
        assert loop is not None
        assert thread is not None
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(SERVER_WAIT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(SERVER_WAIT)
        assert not thread.is_alive()


class LoopbackServer:
    """The shared scenarios on an `SSEServer` run in its own thread (``with SSEServer()``).

    Start it, use :meth:`url`, then stop it. Besides the fixed scenarios below,
    a test installs its own handlers with :meth:`handle` (`SSEServer.handle`).
    """

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.server = SSEServer(ssl_context=ssl_context)
        self.scheme = "http" if ssl_context is None else "https"
        self._gates: dict[str, threading.Event] = {}
        self._stopping = threading.Event()
        for path, handler in {
            "/stream": self._stream,
            "/echo": self._echo,
            "/redirect": self._redirect,
            "/stall-headers": self._stall_headers,
            "/stall-body": self._stall_body,
            "/drop": self._drop,
            "/gzip": self._gzip,
        }.items():
            self.server.handle(path, handler)

    def start(self) -> None:
        self.server.__enter__()

    def stop(self) -> None:
        self._stopping.set()
        self.server.__exit__(None, None, None)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in order (`SSEServer.requests`)."""
        return self.server.requests

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def origin(self) -> str:
        """``scheme://127.0.0.1:port``: the origin of every URL of this server."""
        return self.server.base_url

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this server."""
        return f"{self.origin}{path}"

    def handle(self, path: str, handler: Handler) -> None:
        """Answer requests to ``path`` (any method) with ``handler``; each one is recorded."""
        self.server.handle(path, handler)

    def _gate(self, name: str) -> threading.Event:
        return self._gates.setdefault(name, threading.Event())

    def open_gate(self, name: str) -> None:
        """Let handlers waiting on gate ``name`` go on (safe from any thread)."""
        self._gate(name).set()

    async def wait_gate(self, name: str) -> bool:
        """For handlers: wait for gate ``name``; False if the server stops or it takes too long."""
        gate = self._gate(name)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SERVER_WAIT
        while not gate.is_set():
            if self._stopping.is_set() or loop.time() > deadline:
                return False
            await asyncio.sleep(0.005)
        return True

    # -- the fixed scenarios -------------------------------------------------

    async def _start_stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "X-Scenario": request.path}
        )
        await response.prepare(request)
        return response

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        """One event, then wait for gate "second", then one more event and the end."""
        response = await self._start_stream(request)
        await response.write(b"data: one\n\n")
        if await self.wait_gate("second"):
            await response.write(b"data: two\n\n")
            await response.write_eof()
        return response

    async def _echo(self, request: web.Request) -> web.Response:
        return web.Response(body=b"data: ok\n\n", content_type="text/event-stream")

    async def _redirect(self, request: web.Request) -> web.Response:
        return web.Response(status=307, headers={"Location": "/stream"})

    async def _stall_headers(self, request: web.Request) -> web.Response:
        await self.wait_gate("never")
        return web.Response(body=b"", content_type="text/event-stream")

    async def _stall_body(self, request: web.Request) -> web.StreamResponse:
        response = await self._start_stream(request)
        await response.write(b": heartbeat\n\n")
        await self.wait_gate("never")
        return response

    async def _drop(self, request: web.Request) -> web.StreamResponse:
        """One event, then the connection closes in the middle of a chunked body."""
        response = await self._start_stream(request)
        await response.write(b"data: one\n\n")
        drop(request)
        return response

    async def _gzip(self, request: web.Request) -> web.Response:
        return web.Response(
            body=gzip.compress(b"data: zipped\n\n"),
            headers={"Content-Type": "text/event-stream", "Content-Encoding": "gzip"},
        )


async def sse(
    request: web.Request, *chunks: bytes, content_type: str = "text/event-stream"
) -> web.StreamResponse:
    """For handlers: answer 200 with ``content_type``, write ``chunks`` one by one, end."""
    response = web.StreamResponse(headers={"Content-Type": content_type})
    await response.prepare(request)
    for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response


async def open_stream(request: web.Request) -> web.StreamResponse:
    """For handlers: answer 200 ``text/event-stream`` and leave the body open."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    return response


def drop(request: web.Request) -> None:
    """For handlers: close the connection abruptly, in the middle of the body."""
    assert request.transport is not None
    request.transport.close()


@contextlib.contextmanager
def running_server(ssl_context: ssl.SSLContext | None = None) -> Iterator[LoopbackServer]:
    """Run a :class:`LoopbackServer` for the duration of the block."""
    server = LoopbackServer(ssl_context)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class Proxied:
    """One request as the proxy saw it: the absolute-form target and the headers."""

    method: str
    target: str
    headers: dict[str, str]


@dataclass
class ForwardingProxy(_LoopThread):
    """A plain-HTTP forward proxy on 127.0.0.1, in its own thread and asyncio loop.

    It reads the head of the first request on each client connection, records
    it, rewrites its absolute-form target (``GET http://127.0.0.1:P/x``) to
    origin form, drops ``Proxy-*`` headers, and then pipes bytes both ways
    until either side closes. Only loopback targets are forwarded; anything
    else gets a 502.
    """

    _kind = "proxy"
    requests: list[Proxied] = field(default_factory=list)
    port: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _server: asyncio.base_events.Server | None = None
    _thread: threading.Thread | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _ready: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        """The proxy URL to give a client."""
        return f"http://{HOST}:{self.port}"

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            try:
                self._server = loop.run_until_complete(asyncio.start_server(self._serve, HOST, 0))
                self.port = self._server.sockets[0].getsockname()[1]
            finally:
                self._ready.set()
            loop.run_forever()
        finally:
            # Connections accepted while shutting down: finish them on this loop,
            # or their sockets outlive it and warn in some later test.
            leftovers = asyncio.all_tasks(loop)
            for task in leftovers:
                task.cancel()
            if leftovers:
                loop.run_until_complete(asyncio.wait(leftovers))
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        await self._server.wait_closed()
        for _ in range(3):  # let the transports' close callbacks run
            await asyncio.sleep(0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        upstream: asyncio.StreamWriter | None = None
        try:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                return
            request_line, *lines = head.decode("latin-1").split("\r\n")[:-2]
            method, target, version = request_line.split(" ", 2)
            headers = {}
            for line in lines:
                name, _, value = line.partition(":")
                headers[name.strip()] = value.strip()
            self.requests.append(Proxied(method, target, headers))
            parts = urlsplit(target)
            if parts.scheme != "http" or parts.hostname != HOST or parts.port is None:
                writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                return
            upstream_reader, upstream = await asyncio.open_connection(HOST, parts.port)
            path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
            kept = [line for line in lines if not line.lower().startswith("proxy-")]
            upstream.write(
                "\r\n".join([f"{method} {path} {version}", *kept, "", ""]).encode("latin-1")
            )
            pipes = {
                asyncio.ensure_future(_pipe(reader, upstream)),
                asyncio.ensure_future(_pipe(upstream_reader, writer)),
            }
            try:
                await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pipe in pipes:
                    pipe.cancel()
                await asyncio.gather(*pipes, return_exceptions=True)
        finally:
            self._tasks.discard(task)
            for stream in (upstream, writer):
                if stream is not None:
                    stream.close()
            for stream in (upstream, writer):
                if stream is not None:
                    with contextlib.suppress(OSError, asyncio.CancelledError):
                        await stream.wait_closed()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()


@contextlib.contextmanager
def running_proxy() -> Iterator[ForwardingProxy]:
    """Run a :class:`ForwardingProxy` for the duration of the block."""
    proxy = ForwardingProxy()
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound, never listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        yield sock.getsockname()[1]


@contextlib.contextmanager
def stalled_port() -> Iterator[int]:
    """A loopback port whose connections never complete: its accept queue is full.

    The listener (backlog 0) never accepts, and a few connections fill its queue;
    the kernel then drops new handshakes, so a client times out while connecting.
    """
    with contextlib.ExitStack() as stack:
        listener = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        listener.bind((HOST, 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(3):
            filler = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect((HOST, port))
        yield port


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


def burst_between_quiet_moments(burst: bytes, go: threading.Event) -> Handler:
    """A handler: 10 events, quiet until ``go`` is set, ``burst`` at once, then quiet (bounded).

    The test sets ``go`` once it has measured the quiet moment: a fixed pause
    let a slow test measure it with the burst already arriving.
    """

    async def handler(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        with contextlib.suppress(ConnectionError):
            await response.write(b"data: warm\n\n" * 10)
            for _ in range(1000):  # 10 s at most
                if go.is_set():
                    break
                await asyncio.sleep(0.01)
            await response.write(burst)
            await asyncio.sleep(5)
        return response

    return handler
