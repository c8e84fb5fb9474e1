"""A real, scripted Server-Sent Events server on 127.0.0.1, for tests and demos.

```python
from eventsource.testing import SSEServer, Event, Drop

async with SSEServer() as server:
    server.script(Event("hello", id="1"), Drop())  # the first connection
    # the next one is served by server.room, a chat room with resume
    ...  # point the code under test at server.url
```

Built on ``aiohttp.web``; independent of the client in this package. Every
request is recorded; a request to a path given to `SSEServer.handle` runs that
``aiohttp.web`` handler; one to a path given to `SSEServer.route` runs that
route's script; any other request takes the next script queued with
`SSEServer.script`, or, when none is queued, is served by the `ChatRoom`.
``async with SSEServer()`` runs the server on the current asyncio loop; plain
``with SSEServer()`` runs it on its own loop in a background thread (for trio
tests, or synchronous ones). Leaving either block drops every open connection
and closes the listening socket: no task, thread or socket outlives it.

Run ``python -m eventsource.testing [--port N] [--interval S]`` for a chat room
that publishes a message every few seconds, until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType

import anyio
from aiohttp import web
from multidict import CIMultiDictProxy

from ._testing_room import ChatRoom, Message
from ._testing_script import DEFAULT_HEADERS, Script, make_script, run_steps
from ._testing_steps import (
    Comment,
    Drop,
    Event,
    Headers,
    Raw,
    Redirect,
    Respond,
    Retry,
    Sleep,
    Stall,
    Step,
    Wire,
    format_comment,
    format_event,
    format_retry,
)

__all__ = [
    "DEFAULT_HEADERS",
    "ChatRoom",
    "Comment",
    "Drop",
    "Event",
    "Headers",
    "Message",
    "Raw",
    "RecordedRequest",
    "Redirect",
    "Respond",
    "Retry",
    "SSEServer",
    "Sleep",
    "Stall",
    "Step",
    "format_comment",
    "format_event",
    "format_retry",
    "main",
]


#: An ``aiohttp.web`` request handler, as given to `SSEServer.handle`.
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# How long ``with SSEServer()`` waits for its thread to bind or to finish.
_THREAD_WAIT = 10.0
# How often a wait_for_* method looks again.
_POLL = 0.005


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the server received, as it arrived.

    Attributes:
        method: The HTTP method.
        path: The path, without the query.
        query: The query parameters (the first value of a repeated name).
        headers: The request headers (case-insensitive).
        body: The request body.
        last_event_id: The ``Last-Event-ID`` header, or ``None`` without one.
        query_string: The query as sent, without the ``?`` (still percent-encoded).
    """

    method: str
    path: str
    query: dict[str, str]
    headers: CIMultiDictProxy[str]
    body: bytes
    last_event_id: str | None
    query_string: str = ""


class SSEServer:
    """A loopback SSE server running handlers, scripts and a chat room.

    ``async with SSEServer() as server:`` serves on the running asyncio loop;
    ``with SSEServer() as server:`` serves on a new asyncio loop in a
    background thread, so the test's own code may run on any event loop
    (asyncio or trio) or none. In a thread, handlers and the room run on the
    server's loop; `script`, `route`, `handle`, `requests` and the
    ``wait_for_*`` methods may be used from the test's thread.

    Args:
        room: The chat room serving unscripted requests (a new `ChatRoom` if omitted).
        port: The port on 127.0.0.1; 0 (the default) picks a free one.
        path: The path of `url`, the default stream.
        shutdown_timeout: How long closing waits for a handler that does not
            stop when asked (one blocked writing to a client that reads
            nothing) before cancelling it.
        ssl_context: Serve https with this context (the URLs then say ``https``).

    Attributes:
        room: The `ChatRoom` serving requests that no route or script takes.
        requests: Every request received, in order (redirects included).
        connections: The number of stream responses opened so far (scripted or
            room); a `Respond` or `Redirect` answer is not a stream.
    """

    def __init__(
        self,
        *,
        room: ChatRoom | None = None,
        port: int = 0,
        path: str = "/stream",
        shutdown_timeout: float = 1.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.room = room if room is not None else ChatRoom()
        self.requests: list[RecordedRequest] = []
        self.connections = 0
        self._port = port
        self._path = path
        self._shutdown_timeout = shutdown_timeout
        self._ssl_context = ssl_context
        self._scripts: deque[Script] = deque()
        self._routes: dict[str, Script] = {}
        self._handlers: dict[str, Handler] = {}
        self._wires: set[Wire] = set()
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    async def __aenter__(self) -> SSEServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __enter__(self) -> SSEServer:
        """Start serving on a new asyncio loop in a background thread.

        Raises:
            RuntimeError: The server is already started, or its thread did not
                start within 10 s.
            OSError: The port is taken.
        """
        if self._runner is not None or self._thread is not None:
            raise RuntimeError("the server is already started")
        ready = threading.Event()
        failed: list[BaseException] = []
        thread = threading.Thread(
            target=asyncio.run, args=(self._host(ready, failed),), name="SSEServer", daemon=True
        )
        self._thread = thread
        thread.start()
        if not ready.wait(_THREAD_WAIT):
            raise RuntimeError("the server's thread did not start")  # pragma: no cover
        if failed:
            thread.join(_THREAD_WAIT)
            self._thread = None
            raise failed[0]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close as `aclose` does, on the server's loop, then end its thread."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None or loop is None or stop is None:
            return
        loop.call_soon_threadsafe(stop.set)
        thread.join(_THREAD_WAIT + self._shutdown_timeout)
        if thread.is_alive():  # pragma: no cover - a handler ignoring cancellation
            raise RuntimeError("the server's thread did not finish")
        self._thread = self._loop = self._stop = None

    async def _host(self, ready: threading.Event, failed: list[BaseException]) -> None:
        # The body of the background thread: start, wait for __exit__, close.
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self.start()
        except BaseException as exc:  # the caller's thread re-raises it
            failed.append(exc)
            return
        finally:
            ready.set()
        try:
            await self._stop.wait()
        finally:
            await self.aclose()

    async def start(self) -> None:
        """Start listening on 127.0.0.1.

        Raises:
            RuntimeError: The server is already started.
            OSError: The port is taken.
        """
        if self._runner is not None:
            raise RuntimeError("the server is already started")
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._handle)
        # handler_cancellation: a handler waiting for the next message learns
        # at once that its client has gone, rather than at the next write.
        runner = web.AppRunner(
            app,
            handler_cancellation=True,
            access_log=None,
            shutdown_timeout=self._shutdown_timeout,
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self._port, ssl_context=self._ssl_context)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = runner.addresses[0][1]

    async def aclose(self) -> None:
        """Drop every open connection and stop listening; waits until all is closed."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        for wire in self._wires:
            wire.stop()
        await runner.cleanup()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (``https`` with an ``ssl_context``)."""
        scheme = "http" if self._ssl_context is None else "https"
        return f"{scheme}://127.0.0.1:{self._port}"

    @property
    def url(self) -> str:
        """The URL of the default stream, ``http://127.0.0.1:PORT/stream``."""
        return self.url_for(self._path)

    def url_for(self, path: str) -> str:
        """The absolute URL of ``path`` on this server (any path is served)."""
        return self.base_url + (path if path.startswith("/") else "/" + path)

    @property
    def active_connections(self) -> int:
        """The number of stream responses open right now."""
        return len(self._wires)

    @property
    def pending_scripts(self) -> int:
        """The number of queued scripts no request has taken yet."""
        return len(self._scripts)

    def script(
        self, *steps: Step, status: int | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        """Queue a script for one connection; requests take scripts in FIFO order.

        A stream answers ``status`` (default 200) with `DEFAULT_HEADERS` updated
        by ``headers`` (or by a first `Headers` step), then runs the steps in
        order, each written and flushed as one chunk. A script that runs out of
        steps ends the response normally (the client sees EOF).

        Raises:
            ValueError: `Respond` or `Redirect` is not the only step, `Headers`
                is not the first, or ``status``/``headers`` come with `Respond`
                or `Redirect`.
        """
        self._scripts.append(make_script(steps, status, headers))

    def route(
        self,
        path: str,
        *steps: Step,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Serve this script on every request to ``path`` (queued scripts are left alone).

        Raises:
            ValueError: As for `script`.
        """
        self._routes[_absolute(path)] = make_script(steps, status, headers)

    def handle(self, path: str, handler: Handler) -> None:
        """Answer every request to ``path`` (any method) with an ``aiohttp.web`` handler.

        For what scripts cannot say: a reply that depends on the request, a
        handler that waits for the test, or one that uses ``request.transport``.
        The handler runs on the server's loop, after the request (body
        included) is recorded; it wins over `route` and queued scripts. When
        the client goes, the handler is cancelled (``asyncio.CancelledError``)
        rather than left until its next write fails. Its responses are not
        counted in `connections` or `active_connections`.
        """
        self._handlers[_absolute(path)] = handler

    async def wait_for_connections(self, n: int, *, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until at least ``n`` stream connections are open at once.

        Raises:
            TimeoutError: Not reached within ``timeout`` seconds.
        """
        await self._wait_until(lambda: len(self._wires) >= n, timeout, f"{n} open connections")

    async def wait_for_idle(self, *, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until no stream connection is open (every handler has finished).

        Raises:
            TimeoutError: Not reached within ``timeout`` seconds.
        """
        await self._wait_until(lambda: not self._wires, timeout, "no open connection")

    async def wait_for_requests(self, n: int, *, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until at least ``n`` requests have been received in all.

        Raises:
            TimeoutError: Not reached within ``timeout`` seconds.
        """
        await self._wait_until(lambda: len(self.requests) >= n, timeout, f"{n} requests")

    async def _wait_until(
        self,
        done: Callable[[], bool],
        timeout: float,  # noqa: ASYNC109 - the public methods' timeout, passed on
        what: str,
    ) -> None:
        # Polling, not an event: the server may run on another thread and the
        # caller on another event loop (anyio serves asyncio and trio alike).
        try:
            with anyio.fail_after(timeout):
                while not done():  # noqa: ASYNC110 - no event crosses threads and loops
                    await anyio.sleep(_POLL)
        except TimeoutError:
            raise TimeoutError(f"waited {timeout} s for {what}") from None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        last_event_id = request.headers.get("Last-Event-ID")
        self.requests.append(
            RecordedRequest(
                request.method,
                request.path,
                dict(request.query),
                request.headers,
                body,
                last_event_id,
                request.query_string,
            )
        )
        handler = self._handlers.get(request.path)
        if handler is not None:
            return await handler(request)
        script = self._routes.get(request.path)
        if script is None and self._scripts:
            script = self._scripts.popleft()
        if script is not None and script.steps:
            first = script.steps[0]
            if isinstance(first, Respond):
                return web.Response(status=first.status, headers=first.headers, body=first.body)
            if isinstance(first, Redirect):
                return web.Response(status=first.status, headers={"Location": first.location})
        if script is None:
            response = web.StreamResponse(status=200, headers=DEFAULT_HEADERS)
        else:
            response = web.StreamResponse(status=script.status, headers=script.headers)
        await response.prepare(request)
        wire = Wire(request, response)
        self.connections += 1
        self._wires.add(wire)
        try:
            if script is None:
                await self.room._serve(wire, last_event_id)
            else:
                await run_steps(wire, script.steps)
        except ConnectionError:  # pragma: no cover - a race, see below
            # The client went away between a write and the cancellation of this
            # handler (handler_cancellation); nothing is left to send.
            pass
        finally:
            self._wires.discard(wire)
        return response


def _absolute(path: str) -> str:
    return path if path.startswith("/") else "/" + path


async def _publish_forever(server: SSEServer, interval: float, count: int | None) -> None:
    users = ("alice", "bob", "carol")
    n = 0
    while count is None or n < count:
        await asyncio.sleep(interval)
        n += 1
        text = json.dumps({"user": users[n % len(users)], "text": f"hello #{n}"})
        server.room.publish(text)


async def _serve_chat(args: argparse.Namespace) -> None:
    room = ChatRoom(retry_ms=args.retry_ms, drop_every=args.drop_every)
    async with SSEServer(room=room, port=args.port) as server:
        print(f"Chat room streaming at {server.url} (Ctrl-C to stop)", flush=True)
        await _publish_forever(server, args.interval, args.count)


def main(argv: Sequence[str] | None = None, *, prog: str = "python -m eventsource.testing") -> int:
    """Run a chat room on 127.0.0.1 that publishes a message every interval, until Ctrl-C.

    Args:
        argv: The command-line arguments (default: ``sys.argv[1:]``).
        prog: The command's name in ``--help`` and usage errors.

    Returns:
        The exit status, 0.
    """
    parser = argparse.ArgumentParser(
        prog=prog,
        description="A loopback Server-Sent Events chat room for trying a client.",
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between messages")
    parser.add_argument("--retry-ms", type=int, default=None, help="send retry: on connect")
    parser.add_argument(
        "--drop-every", type=int, default=None, help="drop a connection after N messages"
    )
    parser.add_argument("--count", type=int, default=None, help="stop after N messages")
    args = parser.parse_args(argv)

    try:
        asyncio.run(_serve_chat(args))
    except KeyboardInterrupt:  # pragma: no cover - tested through a subprocess
        print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through a subprocess
    sys.exit(main())
