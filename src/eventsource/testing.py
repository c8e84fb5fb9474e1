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
import errno
import json
import sys
from collections.abc import Sequence
from typing import Any

from ._testing_answers import Handler as Handler  # for type hints of handle()
from ._testing_answers import RecordedRequest
from ._testing_room import ChatRoom, Message
from ._testing_script import DEFAULT_HEADERS
from ._testing_server import SSEServer
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


#: How long ``--count`` waits, after the last message, for connected clients to be sent it.
_FLUSH_WAIT = 5.0


async def _publish_forever(server: SSEServer, interval: float, count: int | None) -> None:
    users = ("alice", "bob", "carol")
    n = 0
    while count is None or n < count:
        await asyncio.sleep(interval)
        n += 1
        text = json.dumps({"user": users[n % len(users)], "text": f"hello #{n}"})
        server.room.publish(text)
    # Stopping at once would drop connections whose handler has not yet written
    # the last messages: their clients would never see them. Polled, once at the
    # end, so that the room's send path needs no notification of its own.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _FLUSH_WAIT
    while not server.room._all_sent() and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.01)


class _CannotListen(Exception):
    """The demo server could not listen on its port (the text says why)."""


async def _serve_chat(args: argparse.Namespace) -> None:
    room = ChatRoom(retry_ms=args.retry_ms, drop_every=args.drop_every)
    server = SSEServer(room=room, port=args.port)
    try:
        await server.start()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno == errno.EADDRINUSE:
            reason = "address already in use (pick another --port, or 0 for any free one)"
        raise _CannotListen(f"cannot listen on 127.0.0.1:{args.port}: {reason}") from exc
    try:
        print(f"Chat room streaming at {server.url} (Ctrl-C to stop)", flush=True)
        await _publish_forever(server, args.interval, args.count)
    finally:
        await server.aclose()


def _number(kind: type[int] | type[float], least: float, above: bool = False) -> Any:
    """An argparse type: a number of ``kind`` at least ``least`` (more than it if ``above``)."""

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
        if not (value > least if above else value >= least):  # NaN too
            bound = f"more than {least}" if above else f"at least {least}"
            raise argparse.ArgumentTypeError(f"must be {bound}: {text!r}")
        return value

    return parse


def _port(text: str) -> int:
    port: int = _number(int, 0)(text)
    if port > 65535:
        raise argparse.ArgumentTypeError(f"not a port (0 to 65535): {text!r}")
    return port


def main(argv: Sequence[str] | None = None, *, prog: str = "python -m eventsource.testing") -> int:
    """Run a chat room on 127.0.0.1 that publishes a message every interval, until Ctrl-C.

    Args:
        argv: The command-line arguments (default: ``sys.argv[1:]``).
        prog: The command's name in ``--help`` and usage errors.

    Returns:
        The exit status: 0 stopped (Ctrl-C, or ``--count`` messages sent), 1 the
        port could not be listened on (the reason on stderr), 2 bad usage.
    """
    parser = argparse.ArgumentParser(
        prog=prog,
        description="A loopback Server-Sent Events chat room for trying a client.",
    )
    parser.add_argument("--port", type=_port, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument(
        "--interval",
        type=_number(float, 0, above=True),
        default=1.0,
        help="seconds between messages",
    )
    parser.add_argument(
        "--retry-ms", type=_number(int, 0), default=None, help="send retry: on connect"
    )
    parser.add_argument(
        "--drop-every",
        type=_number(int, 1),
        default=None,
        help="drop a connection after N messages",
    )
    parser.add_argument(
        "--count",
        type=_number(int, 1),
        default=None,
        help="stop after N messages, once each connected client has been sent them",
    )
    args = parser.parse_args(argv)

    try:
        asyncio.run(_serve_chat(args))
    except _CannotListen as exc:
        print(f"{prog}: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:  # pragma: no cover - tested through a subprocess
        print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through a subprocess
    sys.exit(main())
