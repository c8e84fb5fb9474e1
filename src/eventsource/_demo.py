"""`make demo`: a chat room on 127.0.0.1 and a bot that reads it through a dropped connection.

Runs the library end to end with nothing but loopback: an ``eventsource.testing``
chat room publishes messages and cuts every connection after a few events; the
bot reads with ``async for``, reconnects with ``Last-Event-ID``, and checks at
the end that nothing was lost or repeated.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import anyio

from ._event import ErrorEvent, Event
from ._source import EventSource
from .testing import ChatRoom, SSEServer

USERS = ("ada", "grace", "linus", "barbara")
LINES = (
    "good morning, room",
    "has anyone seen the build logs?",
    "the deploy is rolling out now",
    "reconnects look smooth from here",
    "lunch at noon?",
)


async def run_demo(messages: int = 20, drop_every: int = 7, interval: float = 0.05) -> int:
    """Run the demo; return 0 when every message arrived exactly once, in order."""
    room = ChatRoom(retry_ms=500, drop_every=drop_every)
    async with SSEServer(room=room) as server:
        print(f"chat room listening on {server.url}")
        print(f"the server drops each connection after {drop_every} events\n")
        received: list[str] = []
        reconnects = 0

        def on_open(event: Event) -> None:
            sent = server.requests[-1].last_event_id if server.requests else None
            resume = f" (resuming with Last-Event-ID: {sent})" if sent else ""
            print(f"  -- connected{resume}")

        def on_error(event: ErrorEvent) -> None:
            nonlocal reconnects
            reconnects += 1
            why = type(event.error).__name__ if event.error else "stream ended"
            print(f"  -- connection lost ({why}); reconnecting in {event.delay:.2f} s")

        async def publish() -> None:
            for n in range(messages):
                text = LINES[n % len(LINES)]
                room.publish(json.dumps({"user": USERS[n % len(USERS)], "text": text}))
                await anyio.sleep(interval)

        async with anyio.create_task_group() as tg:
            tg.start_soon(publish)
            async with EventSource(server.url, retry=0.5) as bot:
                bot.onopen = on_open
                bot.onerror = on_error
                with anyio.fail_after(30):
                    async for event in bot:
                        message = event.json()
                        print(
                            f"  #{event.last_event_id:>3} {message['user']:>8}: {message['text']}"
                        )
                        received.append(event.last_event_id)
                        if len(received) == messages:
                            break

        expected = [str(n) for n in range(1, messages + 1)]
        lost = len(set(expected) - set(received))
        duplicated = len(received) - len(set(received))
        in_order = received == expected
        print(
            f"\nreceived {len(received)}/{messages} messages over "
            f"{server.connections} connections ({reconnects} reconnects): "
            f"{lost} lost, {duplicated} duplicated, "
            f"{'in order' if in_order else 'OUT OF ORDER'}"
        )
        return 0 if (lost, duplicated, in_order) == (0, 0, True) else 1


def main(argv: Sequence[str] | None = None, *, prog: str = "python -m eventsource._demo") -> int:
    """Command-line entry: ``python -m eventsource._demo [--messages N] [--drop-every K]``.

    ``prog`` is the command's name in ``--help`` and usage errors.
    """
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--drop-every", type=int, default=7)
    args = parser.parse_args(argv)
    return anyio.run(run_demo, args.messages, args.drop_every)


if __name__ == "__main__":
    sys.exit(main())
