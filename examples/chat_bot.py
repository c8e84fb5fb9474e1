"""A chat bot: reads a room's event stream and answers "!ping" with "pong" over POST.

The server has the shape of the classic Express/Koa tutorial (see
`chat_server.py`): ``GET /events`` streams messages, ``POST /messages`` sends
one. The bot reconnects and resumes with ``Last-Event-ID`` by itself, and never
answers its own messages.

    python examples/chat_bot.py                              # starts chat_server.py itself
    python examples/chat_bot.py http://127.0.0.1:8000/events
"""

from __future__ import annotations

import sys
from urllib.parse import urljoin

import aiohttp
import anyio
from anyio.abc import TaskStatus

from eventsource import EventSource
from eventsource.transports import AiohttpTransport

BOT = "pingbot"


def answer(text: str) -> str | None:
    """The bot's reply to a message, or ``None``."""
    if text.strip() == "!ping":
        return "pong"
    return None


async def main(
    url: str,
    *,
    name: str = BOT,
    retry: float = 1.0,
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Answer messages on the stream at ``url`` until cancelled.

    With ``await task_group.start(main, url)``, the caller resumes once the bot
    is connected (so no message it posts next can be missed).
    """
    post_url = urljoin(url, "/messages")
    connected = False

    def on_open(event: object) -> None:
        nonlocal connected
        print(f"{name}: listening on {url}", flush=True)
        if not connected:  # the first connection only: reconnections open again
            connected = True
            task_status.started()

    # One session for both directions; EventSource never closes a session it is given.
    async with (
        aiohttp.ClientSession() as session,
        EventSource(url, transport=AiohttpTransport(session=session), retry=retry) as events,
    ):
        events.onopen = on_open
        async for event in events:
            message = event.json()
            if message["user"] == name:
                continue
            reply = answer(message["text"])
            if reply is not None:
                print(f"{name}: {message['user']} said {message['text']!r}", flush=True)
                payload = {"user": name, "text": reply}
                async with session.post(post_url, json=payload) as response:
                    response.raise_for_status()


async def _standalone() -> None:
    from chat_server import start  # the tutorial server, beside this file

    runner, base = await start()
    try:
        async with anyio.create_task_group() as tg:
            await tg.start(main, f"{base}/events")
            async with aiohttp.ClientSession() as session:
                for text in ("hello", "!ping"):
                    await anyio.sleep(0.2)
                    await session.post(f"{base}/messages", json={"user": "ada", "text": text})
            await anyio.sleep(0.5)
            tg.cancel_scope.cancel()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        anyio.run(main, sys.argv[1])
    else:
        anyio.run(_standalone)
