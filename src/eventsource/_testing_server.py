"""SSEServer: a loopback server on 127.0.0.1, run on the current asyncio loop or in a thread.

It listens (``async with``, `start`, `aclose`), or runs on a new asyncio loop
in a background thread (``with``) so that a test on trio, or with no loop at
all, can use it; it says where it listens and waits for connections or
requests. What it answers is its base's, ``_testing_answers.Answers``.
Public from ``eventsource.testing``; built on ``aiohttp.web``.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Callable
from types import TracebackType

import anyio
from aiohttp import web

from ._testing_answers import Answers
from ._testing_room import ChatRoom

__all__ = ["SSEServer"]

# How long ``with SSEServer()`` waits for its thread to bind or to finish.
_THREAD_WAIT = 10.0
# How often a wait_for_* method looks again.
_POLL = 0.005


class SSEServer(Answers):
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
        super().__init__(room if room is not None else ChatRoom())
        self._port = port
        self._path = path
        self._shutdown_timeout = shutdown_timeout
        self._ssl_context = ssl_context
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
