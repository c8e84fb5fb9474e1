"""What an SSEServer answers each request with, and the record of every request.

:class:`Answers` is a base of :class:`~eventsource.testing.SSEServer`: it
records each request, then answers it with the handler given for its path
(`handle`), its path's script (`route`), the next queued script (`script`),
or else the chat room. A script that starts with `Respond` or `Redirect` is
a plain response; any other is a stream, each step written and flushed as it
comes. Runs on the server's loop (its own thread's, under ``with``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from aiohttp import web
from multidict import CIMultiDictProxy

from ._testing_room import ChatRoom
from ._testing_script import DEFAULT_HEADERS, Script, make_script, run_steps
from ._testing_steps import Redirect, Respond, Step, Wire

__all__ = ["Answers", "Handler", "RecordedRequest"]

#: An ``aiohttp.web`` request handler, as given to `SSEServer.handle`.
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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


class Answers:
    """The requests a server received, and what it answers each with (see the module)."""

    def __init__(self, room: ChatRoom) -> None:
        self.room = room
        self.requests: list[RecordedRequest] = []
        self.connections = 0
        self._scripts: deque[Script] = deque()
        self._routes: dict[str, Script] = {}
        self._handlers: dict[str, Handler] = {}
        self._wires: set[Wire] = set()

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
