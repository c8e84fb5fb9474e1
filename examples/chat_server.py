"""The chat server of the classic Express/Koa SSE tutorial, in aiohttp.web.

GET /events streams every message as an event with an id (and resumes after
``Last-Event-ID``); POST /messages with ``{"user": ..., "text": ...}``
broadcasts it. `chat_bot.py` talks to it; run this file to try it by hand:

    python examples/chat_server.py --port 8000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json

from aiohttp import web

HISTORY = web.AppKey("history", list)
WAKE = web.AppKey("wake", asyncio.Condition)


async def events(request: web.Request) -> web.StreamResponse:
    history: list[str] = request.app[HISTORY]
    wake: asyncio.Condition = request.app[WAKE]
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    last = request.headers.get("Last-Event-ID", "")
    position = int(last) if last.isdigit() and int(last) <= len(history) else len(history)
    while True:
        for data in history[position:]:
            position += 1
            await response.write(f"id: {position}\ndata: {data}\n\n".encode())
        async with wake:
            await wake.wait_for(lambda seen=position: seen < len(history))


async def messages(request: web.Request) -> web.Response:
    message = await request.json()
    text = json.dumps({"user": str(message["user"]), "text": str(message["text"])})
    request.app[HISTORY].append(text)
    async with request.app[WAKE]:
        request.app[WAKE].notify_all()
    return web.json_response({"id": len(request.app[HISTORY])}, status=201)


def make_app() -> web.Application:
    app = web.Application()
    app[HISTORY] = []
    app[WAKE] = asyncio.Condition()
    app.router.add_get("/events", events)
    app.router.add_post("/messages", messages)
    return app


async def start(port: int = 0) -> tuple[web.AppRunner, str]:
    """Start the server on 127.0.0.1; returns the runner and the base URL."""
    runner = web.AppRunner(make_app(), handler_cancellation=True, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def serve(port: int) -> None:
    runner, base = await start(port)
    print(f"GET {base}/events, POST {base}/messages (Ctrl-C to stop)", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8000)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parser.parse_args().port))
