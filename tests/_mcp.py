"""A real MCP server (the ``mcp`` package) on 127.0.0.1, and a proxy that cuts its streams.

:class:`McpServer` runs an ``MCPServer`` with one tool, ``count``, under uvicorn
in its own thread, with an in-memory event store so that its streams can be
resumed. :func:`cutting_proxy` sits between a client and that server, on the
test's own event loop (asyncio or trio), and breaks chosen connections at
chosen points: before any byte of the response, after the response head, or
after a number of events. It can also refuse connections until told to listen.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.abc
import httpx
import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.streamable_http import EventCallback, EventMessage, EventStore
from mcp_types import JSONRPCError, JSONRPCMessage, JSONRPCResponse

from eventsource.mcp import POST_ACCEPT, PROTOCOL_VERSION_HEADER, SESSION_ID_HEADER

HOST = "127.0.0.1"
#: The first protocol version whose streams start with a priming event (an ID).
VERSION = "2025-11-25"
#: The reconnection time the server sends in its priming events, in milliseconds.
SERVER_RETRY_MS = 20
#: Upper bound on any wait in this harness.
LIMIT = 10.0


class MemoryEventStore(EventStore):
    """Every event of every stream in a list; IDs are 1, 2, 3, ... across streams."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, JSONRPCMessage | None]] = []

    async def store_event(self, stream_id: str, message: JSONRPCMessage | None) -> str:
        event_id = str(len(self.events) + 1)
        self.events.append((event_id, stream_id, message))
        return event_id

    async def replay_events_after(
        self, last_event_id: str, send_callback: EventCallback
    ) -> str | None:
        ids = [event_id for event_id, _, _ in self.events]
        if last_event_id not in ids:
            return None
        start = ids.index(last_event_id)
        stream = self.events[start][1]
        for event_id, stream_id, message in self.events[start + 1 :]:
            if stream_id == stream and message is not None:  # priming events carry no message
                await send_callback(EventMessage(message, event_id))
        return stream

    def answered(self, request_id: int) -> bool:
        """Whether the response to ``request_id`` has been stored."""
        return any(
            isinstance(message, (JSONRPCResponse, JSONRPCError)) and message.id == request_id
            for _, _, message in self.events
        )


class McpServer:
    """An ``MCPServer`` with a ``count`` tool, served by uvicorn in a thread.

    With ``json_response``, it answers each POST with one JSON body, not a stream.
    """

    def __init__(self, *, json_response: bool = False) -> None:
        self.calls: list[int] = []  # the ``steps`` of each run of the tool
        self.store = MemoryEventStore()
        app = MCPServer("eventsource-tests")

        @app.tool()
        async def count(steps: int, ctx: Context) -> str:
            """Report progress ``steps`` times, then answer."""
            self.calls.append(steps)
            for step in range(1, steps + 1):
                await ctx.report_progress(step, steps)
            return f"counted to {steps}"

        starlette_app = app.streamable_http_app(
            event_store=self.store,
            retry_interval=SERVER_RETRY_MS,
            host=HOST,
            json_response=json_response,
        )
        config = uvicorn.Config(
            starlette_app,
            loop="asyncio",
            http="h11",
            ws="none",
            lifespan="on",
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind((HOST, 0))
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://{HOST}:{self.port}/mcp"
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        for _ in range(int(LIMIT / 0.01)):
            if self._server.started or not self._thread.is_alive():
                break
            self._thread.join(0.01)
        if not self._server.started:
            raise RuntimeError("the MCP server did not start")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(LIMIT)
        self._socket.close()
        assert not self._thread.is_alive()


@contextlib.contextmanager
def running_mcp_server(*, json_response: bool = False) -> Iterator[McpServer]:
    server = McpServer(json_response=json_response)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def open_session(url: str) -> str:
    """``initialize`` and ``notifications/initialized``, straight to the server: the session ID."""
    initialize = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": VERSION,
            "capabilities": {},
            "clientInfo": {"name": "eventsource-tests", "version": "0"},
        },
    }
    with anyio.fail_after(LIMIT):
        async with httpx.AsyncClient() as client:
            answer = await client.post(url, json=initialize, headers={"Accept": POST_ACCEPT})
            assert answer.status_code == 200, answer.text
            session = answer.headers[SESSION_ID_HEADER]
            headers = {
                "Accept": POST_ACCEPT,
                SESSION_ID_HEADER: session,
                PROTOCOL_VERSION_HEADER: VERSION,
            }
            note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
            answer = await client.post(url, json=note, headers=headers)
            assert answer.status_code == 202, answer.text
    return session


def tool_call(request_id: int, steps: int) -> dict[str, Any]:
    """A ``tools/call`` of ``count`` that asks for progress notifications."""
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {
            "name": "count",
            "arguments": {"steps": steps},
            "_meta": {"progressToken": f"progress-{request_id}"},
        },
    }


# -- the proxy -------------------------------------------------------------------


@dataclass(frozen=True)
class Forward:
    """Pass everything both ways until either side closes."""


@dataclass(frozen=True)
class CutBeforeResponse:
    """The request reaches the server; once it starts answering, both sides are closed."""


@dataclass(frozen=True)
class CutAfterEvents:
    """The response head and ``events`` events reach the client; then both sides are closed."""

    events: int


Plan = Forward | CutBeforeResponse | CutAfterEvents


@dataclass
class Seen:
    """One request as the proxy forwarded it (header names in lower case)."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass
class _RequestLog:
    """Splits the bytes a client sends into requests (heads and Content-Length bodies)."""

    seen: list[Seen]
    buffer: bytes = b""
    pending: Seen | None = None
    remaining: int = 0

    def feed(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if self.pending is not None:
                take = self.buffer[: self.remaining]
                self.pending.body += take
                self.buffer = self.buffer[len(take) :]
                self.remaining -= len(take)
                if self.remaining:
                    return
                self.pending = None
            head, found, rest = self.buffer.partition(b"\r\n\r\n")
            if not found:
                return
            self.buffer = rest
            request_line, *lines = head.decode("latin-1").split("\r\n")
            method, target, _ = request_line.split(" ", 2)
            headers = {}
            for line in lines:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            self.pending = Seen(method, target, headers, b"")
            self.seen.append(self.pending)
            self.remaining = int(headers.get("content-length", "0"))


def _events_in(body: bytes) -> int:
    return body.replace(b"\r\n", b"\n").replace(b"\r", b"\n").count(b"\n\n")


@dataclass
class CuttingProxy:
    """Forwards connections on :attr:`port` to the server, each by the next plan.

    Connections after the first wait until ``hold()`` is true before they
    reach the server (see :func:`cutting_proxy`).
    """

    target: int
    plans: deque[Plan]
    hold: Callable[[], bool] | None
    requests: list[Seen] = field(default_factory=list)
    connections: int = 0
    port: int = 0

    def __post_init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind((HOST, 0))
        self.port = self._socket.getsockname()[1]
        self._listening = anyio.Event()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/mcp"

    def listen(self) -> None:
        """Accept connections from now on (until then, they are refused)."""
        if not self._listening.is_set():
            self._socket.listen()
            self._listening.set()

    async def _serve(self, task_group: anyio.abc.TaskGroup) -> None:
        try:
            await self._listening.wait()
            listener = await anyio.abc.SocketListener.from_socket(self._socket)
        except BaseException:
            self._socket.close()
            raise
        async with listener:
            await listener.serve(self._handle, task_group)

    async def _handle(self, client: anyio.abc.SocketStream) -> None:
        plan = self.plans.popleft() if self.plans else Forward()
        self.connections += 1
        async with client:
            if self.connections > 1 and self.hold is not None:
                with anyio.fail_after(LIMIT):
                    while not self.hold():
                        await anyio.sleep(0.005)
            upstream = await anyio.connect_tcp(HOST, self.target)
            async with upstream, anyio.create_task_group() as pumps:
                pumps.start_soon(self._pump_requests, client, upstream, pumps.cancel_scope)
                await self._pump_response(upstream, client, plan)
                pumps.cancel_scope.cancel()

    async def _pump_requests(
        self,
        client: anyio.abc.SocketStream,
        upstream: anyio.abc.SocketStream,
        scope: anyio.CancelScope,
    ) -> None:
        log = _RequestLog(self.requests)
        with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError):
            async for data in client:
                log.feed(data)
                await upstream.send(data)
        scope.cancel()  # the client went away: so does the server's side

    async def _pump_response(
        self, upstream: anyio.abc.SocketStream, client: anyio.abc.SocketStream, plan: Plan
    ) -> None:
        with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError):
            if isinstance(plan, CutBeforeResponse):
                await upstream.receive()  # the server is answering: it has the request
                return
            if isinstance(plan, CutAfterEvents):
                await self._forward_events(upstream, client, plan.events)
                return
            async for data in upstream:
                await client.send(data)

    async def _forward_events(
        self, upstream: anyio.abc.SocketStream, client: anyio.abc.SocketStream, events: int
    ) -> None:
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            buffer += await upstream.receive()
        head, _, buffer = buffer.partition(b"\r\n\r\n")
        assert b"transfer-encoding: chunked" in head.lower(), head
        await client.send(head + b"\r\n\r\n")
        body = b""
        while _events_in(body) < events:
            while b"\r\n" not in buffer:
                buffer += await upstream.receive()
            size_line, _, buffer = buffer.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(buffer) < size + 2:
                buffer += await upstream.receive()
            chunk, buffer = buffer[:size], buffer[size + 2 :]
            await client.send(size_line + b"\r\n" + chunk + b"\r\n")
            if not size:
                return  # the whole response went through
            body += chunk


@contextlib.asynccontextmanager
async def cutting_proxy(
    target: int,
    plans: Iterable[Plan] = (),
    *,
    listening: bool = True,
    hold: Callable[[], bool] | None = None,
) -> AsyncIterator[CuttingProxy]:
    """Run a :class:`CuttingProxy` to port ``target`` on the current event loop.

    ``plans`` apply to the connections in the order they arrive, then every
    connection is forwarded. With ``listening=False`` connections are refused
    until :meth:`CuttingProxy.listen`. ``hold`` keeps each connection after
    the first from reaching the server until it returns true: the SDK's replay
    of a stream is complete only for events stored before it starts (a later
    one comes after the replay, or, in a narrow window, on no stream at all).
    """
    proxy = CuttingProxy(target, deque(plans), hold)
    if listening:
        proxy.listen()
    async with anyio.create_task_group() as task_group:
        task_group.start_soon(proxy._serve, task_group)
        try:
            yield proxy
        finally:
            task_group.cancel_scope.cancel()
