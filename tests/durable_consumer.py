"""A consumer for the SIGKILL tests: handles each event by appending its ID to a file.

    python durable_consumer.py URL OUT STORE LOCATION

STORE is ``file``, ``sqlite`` or ``redis``; LOCATION is the file, the database
or the ``redis://`` URL. Each handled ID is flushed before the next event is
asked for, so the file is what the consumer handled when it was killed. It
stops after the event whose data is ``last``.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any, TextIO

from eventsource import EventSource
from eventsource.stores import (
    FileLastEventIdStore,
    RedisLastEventIdStore,
    SQLiteLastEventIdStore,
)


def make_store(kind: str, location: str) -> Any:
    if kind == "file":
        return FileLastEventIdStore(location)
    if kind == "sqlite":
        return SQLiteLastEventIdStore(location, key="consumer")
    return RedisLastEventIdStore(location, key="consumer")


async def main(url: str, out: TextIO, kind: str, location: str) -> None:
    store = make_store(kind, location)
    async with EventSource(url, last_event_id_store=store, retry=0.01) as es:
        async for event in es:
            out.write(event.last_event_id + "\n")
            out.flush()
            if event.data == "last":
                break
    if kind == "redis":
        await store.aclose()


if __name__ == "__main__":
    url, out_path, kind, location = sys.argv[1:]
    with open(out_path, "a", encoding="utf-8") as out:
        asyncio.run(main(url, out, kind, location))
