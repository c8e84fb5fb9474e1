"""`make demo` and the documented testing example run end to end."""

from __future__ import annotations

import json

import pytest

from eventsource import EventSource
from eventsource._demo import run_demo
from eventsource.testing import Drop, Event, SSEServer


@pytest.mark.asyncio
async def test_demo_delivers_every_message_once_through_dropped_connections(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert await run_demo(messages=15, drop_every=4, interval=0.01) == 0
    out = capsys.readouterr().out
    assert "received 15/15 messages" in out
    assert "0 lost, 0 duplicated, in order" in out
    assert "resuming with Last-Event-ID: 4" in out
    assert out.count("-- connection lost") == 3


async def read_chat(url: str, limit: int) -> list[str]:
    texts: list[str] = []
    async with EventSource(url, retry=0.01) as source:
        async for event in source:
            texts.append(event.json()["text"])
            if len(texts) == limit:
                break
    return texts


@pytest.mark.asyncio
async def test_the_testing_docs_first_example_passes() -> None:
    async with SSEServer() as server:
        server.room.publish(json.dumps({"text": "hi"}))
        server.room.publish(json.dumps({"text": "there"}))
        server.script(Event(json.dumps({"text": "hi"}), id="1"), Drop())

        assert await read_chat(server.url, limit=2) == ["hi", "there"]

        first, second = server.requests
        assert first.last_event_id is None
        assert second.last_event_id == "1"
