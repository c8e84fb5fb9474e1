"""A tiny aiohttp.web harness for tests: routes on 127.0.0.1, port 0."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Server:
    def __init__(self, runner: web.AppRunner, port: int) -> None:
        self.runner = runner
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.requests: list[web.Request] = []

    def url(self, path: str = "/") -> str:
        return self.base + path


@asynccontextmanager
async def serve(routes: dict[str, Handler], method: str = "*") -> AsyncIterator[Server]:
    app = web.Application()
    holder: list[Server] = []

    def wrap(handler: Handler) -> Handler:
        async def recorded(request: web.Request) -> web.StreamResponse:
            holder[0].requests.append(request)
            return await handler(request)

        return recorded

    for path, handler in routes.items():
        app.router.add_route(method, path, wrap(handler))
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server = Server(runner, port)
    holder.append(server)
    try:
        yield server
    finally:
        await runner.cleanup()


async def stream(
    request: web.Request, *chunks: bytes, content_type: str = "text/event-stream"
) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": content_type})
    await response.prepare(request)
    for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response
