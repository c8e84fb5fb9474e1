"""Resuming across restarts: the last-event-id store, down to a SIGKILLed consumer."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from aiohttp import web

from eventsource import EventSource
from eventsource.stores import FileLastEventIdStore, StrictStore, SyncLastEventIdStore
from eventsource.testing import SSEServer

from ._servers import sse


def test_file_store_round_trips_and_starts_empty(tmp_path: Path) -> None:
    store = FileLastEventIdStore(tmp_path / "last-id")
    assert isinstance(store, SyncLastEventIdStore)
    assert store.load() is None
    store.save("42")
    store.save("héllo 43")
    assert store.load() == "héllo 43"
    assert FileLastEventIdStore(tmp_path / "last-id", durable=False).load() == "héllo 43"
    assert [p.name for p in tmp_path.iterdir()] == ["last-id"]  # no temporary file left
    assert "last-id" in repr(store)


def test_file_store_leaves_the_old_value_when_a_save_fails(tmp_path: Path) -> None:
    store = FileLastEventIdStore(tmp_path / "id")
    store.save("1")
    with pytest.raises(TypeError):
        store.save(1)  # type: ignore[arg-type]
    assert store.load() == "1"
    assert [p.name for p in tmp_path.iterdir()] == ["id"]


def test_file_store_refuses_a_folder_that_does_not_exist_when_made(tmp_path: Path) -> None:
    # Not at the first saved event, out of `async for`, after that event was handled.
    missing = tmp_path / "not-made-yet"
    with pytest.raises(FileNotFoundError, match="does not exist") as caught:
        FileLastEventIdStore(missing / "last-id")
    assert caught.value.filename == str(missing)
    assert not missing.exists()  # not created for you
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file"):
        FileLastEventIdStore(a_file / "last-id")
    with pytest.raises(IsADirectoryError, match="not a folder"):
        FileLastEventIdStore(tmp_path)


class MemoryStore:
    def __init__(self, value: str | None) -> None:
        self.value = value
        self.saves: list[str] = []

    def load(self) -> str | None:
        return self.value

    def save(self, last_event_id: str) -> None:
        self.saves.append(last_event_id)
        self.value = last_event_id


@pytest.mark.asyncio
async def test_event_source_loads_the_store_and_saves_each_handled_id_once() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(
            request, b"id: 8\ndata: a\n\ndata: same id\n\nid: 9\n\nid: 10\ndata: c\n\n"
        )

    async with SSEServer() as server:
        server.handle("/", handler)
        store = MemoryStore("7")
        # Strict: each save is awaited before the next event, so the store's lag is exact.
        es = EventSource(server.url_for("/"), last_event_id_store=StrictStore(store))
        assert es.last_event_id == ""  # loaded before the first connection
        got: list[str] = []
        with anyio.fail_after(5):
            async for event in es:
                got.append(event.data)
                # the store lags by one: the id is saved once the event was handled
                assert store.value == {"a": "7", "same id": "8", "c": "8"}[event.data]
                if event.data == "c":
                    break
        await es.aclose()
        assert server.requests[0].headers["Last-Event-ID"] == "7"
    assert got == ["a", "same id", "c"]
    assert store.saves == ["8", "10"]  # the id-only block (9) was superseded before a save


@pytest.mark.asyncio
async def test_an_explicit_last_event_id_wins_over_the_store() -> None:
    es = EventSource(
        "http://127.0.0.1:9/", last_event_id="3", last_event_id_store=MemoryStore("7")
    )
    assert es.lastEventId == "3"
    await es.aclose()
