"""A change-feed consumer in the style of Wikimedia EventStreams, resuming after a restart.

Each event is one JSON change with an id. The last id handled is kept on disk
by ``FileLastEventIdStore``: stop the consumer (Ctrl-C, a deploy, a crash) and
start it again, and it asks the server to resume right after that id, so no
change is lost. An id is saved only once its change has been handled, so after
a crash the change in progress may come again (at-least-once): handle changes
idempotently.

Wikimedia's ids are JSON lists of Kafka partitions and offsets; to the client
every id is an opaque string, sent back verbatim as ``Last-Event-ID``.

    python examples/change_feed.py                         # against a local fake feed
    python examples/change_feed.py https://stream.example/v2/stream/recentchange
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio

from eventsource import EventSource
from eventsource.stores import FileLastEventIdStore

Handler = Callable[[str, dict[str, Any]], None]


def show(event_id: str, change: dict[str, Any]) -> None:
    print(f"{event_id:>4} {change['type']:<6} {change['meta']['domain']}: {change['title']}")


async def main(
    url: str,
    *,
    state: str | Path = "change_feed.last_event_id",
    limit: int | None = None,
    handle: Handler = show,
    retry: float = 1.0,
) -> int:
    """Handle changes from ``url`` (``limit`` of them, or until cancelled); return how many."""
    store = FileLastEventIdStore(state)
    resumed = store.load()
    if resumed:
        print(f"resuming after {resumed}", file=sys.stderr)
    handled = 0
    async with EventSource(url, last_event_id_store=store, retry=retry) as feed:
        async for event in feed:
            if not event.data:
                continue
            handle(event.last_event_id, event.json())
            handled += 1
            if limit is not None and handled >= limit:
                break  # leaving the block saves the id of the change just handled
    return handled


def change(n: int) -> str:
    """A change shaped like a Wikimedia ``recentchange`` event (for the local fake)."""
    wiki = ("en.wikipedia.org", "de.wikipedia.org", "commons.wikimedia.org")[n % 3]
    return json.dumps(
        {
            "$schema": "/mediawiki/recentchange/1.0.0",
            "meta": {"domain": wiki, "dt": f"2024-05-06T07:08:{n % 60:02d}Z", "id": f"m{n}"},
            "type": "edit" if n % 4 else "new",
            "title": f"Page {n}",
            "user": f"Editor{n % 5}",
            "bot": False,
        }
    )


async def _standalone(state: Path) -> None:
    from eventsource.testing import SSEServer

    async with SSEServer() as server:
        for n in range(1, 11):
            server.room.publish(change(n))
        print("first run: 4 changes, then stop")
        await main(server.url, state=state, limit=4)
        print("second run: the rest")
        await main(server.url, state=state, limit=6)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        anyio.run(main, sys.argv[1])
    else:
        with tempfile.TemporaryDirectory() as folder:
            anyio.run(_standalone, Path(folder) / "last-event-id")
