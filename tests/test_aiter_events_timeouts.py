"""``aiter_events()`` on your aiohttp response: a timeout says which bound it ran into.

Your session's ``sock_read`` is a ``ReadTimeout`` that names its value, as
with httpx; its ``total`` timeout is no ``ReadTimeout`` at all (the data may
have kept coming): a ``TransportError`` that says so.
"""

from __future__ import annotations

import aiohttp
import pytest

from eventsource import ReadTimeout, TransportError
from eventsource.decode import aiter_events
from eventsource.testing import Event, Sleep, SSEServer, Stall

pytestmark = pytest.mark.asyncio


async def test_a_stalled_body_names_the_sessions_sock_read() -> None:
    seen: list[str] = []
    async with SSEServer() as server:
        server.script(Event("a"), Stall())
        timeout = aiohttp.ClientTimeout(sock_read=0.3)
        with pytest.raises(ReadTimeout) as info:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(server.url) as response,
            ):
                async for event in aiter_events(response):
                    seen.append(event.data)
    assert seen == ["a"]
    assert str(info.value) == "no data received within read_timeout (0.3 s)"
    assert isinstance(info.value.__cause__, aiohttp.ServerTimeoutError)


async def test_a_total_timeout_while_data_flows_is_no_read_timeout() -> None:
    seen: list[str] = []
    async with SSEServer() as server:
        server.script(*[step for n in range(40) for step in (Event(str(n)), Sleep(0.05))])
        timeout = aiohttp.ClientTimeout(total=0.5)
        with pytest.raises(TransportError) as info:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(server.url) as response,
            ):
                async for event in aiter_events(response):
                    seen.append(event.data)
    # It was "no data received within read_timeout" while an event came every 50 ms.
    assert not isinstance(info.value, ReadTimeout)
    assert str(info.value) == "reading the stream failed: the request's total timeout ran out"
    assert isinstance(info.value.__cause__, TimeoutError)
    assert 1 < len(seen) < 40
