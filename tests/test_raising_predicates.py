"""A predicate that raises ends the stream at its event, after the events before it.

``stop_when=lambda e: e.json()["choices"][0]["finish_reason"] == "stop"``
raises at ``data: [DONE]``, which is no JSON. The exception was raised as the
read was judged, so the events before ``[DONE]`` in the same network read
were lost: what a caller got depended on how the server's writes fell into
reads (one read on aiohttp, often one a write on httpx).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from eventsource import EventSource, MessageEvent, ReadyState
from eventsource.sync import EventSource as SyncEventSource
from eventsource.testing import Raw, SSEServer, Stall

from ._fixtures import LIMIT, Combo
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo

pytestmark = pytest.mark.anyio

#: Three events in one write, so in one read on every transport.
ONE_WRITE = b"id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: c\n\n"


class Bug(Exception):
    """The predicate's own failure."""


def fails_at_b(event: MessageEvent) -> bool:
    if event.data == "b":
        raise Bug(event.data)
    return False


PREDICATES = ["stop_when", "stop_after", "error_when"]


@pytest.fixture
def sse_server() -> Iterator[SSEServer]:
    with SSEServer() as server:  # in its own thread: the test may run on trio
        yield server


@pytest.mark.parametrize("style", ["async for", "batches"])
@pytest.mark.parametrize("predicate", PREDICATES)
async def test_the_events_before_the_raising_one_are_handed_out_first(
    combo: Combo, sse_server: SSEServer, predicate: str, style: str
) -> None:
    sse_server.script(Raw(ONE_WRITE), Stall(LIMIT))
    options: dict[str, Any] = {predicate: fails_at_b, "reconnect": False}
    got: list[str] = []
    with anyio.fail_after(LIMIT):
        async with combo.source(sse_server.url, **options) as es:
            with pytest.raises(Bug):
                if style == "batches":
                    async for batch in es.batches():
                        got += [event.data for event in batch]
                else:
                    async for event in es:
                        got.append(event.data)
            assert got == ["a"]
            assert es.lastEventId == "1"
            assert es.readyState == ReadyState.CLOSED


async def test_a_predicate_raising_at_the_first_event_raises_at_once(
    combo: Combo, sse_server: SSEServer
) -> None:
    sse_server.script(Raw(b"data: b\n\ndata: c\n\n"), Stall(LIMIT))
    with anyio.fail_after(LIMIT):
        es: EventSource = combo.source(sse_server.url, stop_when=fails_at_b)
        async with es:
            with pytest.raises(Bug):
                await es.__anext__()
            with pytest.raises(StopAsyncIteration):
                await es.__anext__()
    assert len(sse_server.requests) == 1


@pytest.mark.parametrize("predicate", PREDICATES)
def test_the_blocking_client_hands_out_the_events_before_it_too(
    sse_server: SSEServer, predicate: str
) -> None:
    sse_server.script(Raw(ONE_WRITE), Stall(LIMIT))
    got: list[str] = []
    with SyncEventSource(sse_server.url, reconnect=False, **{predicate: fails_at_b}) as es:
        with pytest.raises(Bug):
            for event in es:
                got.append(event.data)
        assert got == ["a"]
        assert es.lastEventId == "1"
