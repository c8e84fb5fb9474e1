"""``EventSource(url)`` without ``transport=`` works on trio as on asyncio.

The default is chosen at the first connection, from the running event loop:
aiohttp on asyncio, httpx on trio (aiohttp cannot run there). Without the
``httpx`` extra, trio gets an ``ImportError`` that names it.
"""

from __future__ import annotations

import sys

import pytest

from eventsource import EventSource

from ._fixtures import both_backends as both_backends
from ._fixtures import collect
from ._fixtures import hello_server as hello_server
from ._servers import LoopbackServer

pytestmark = pytest.mark.anyio


async def test_without_a_transport_trio_reads_with_httpx_and_asyncio_with_aiohttp(
    anyio_backend: str, server: LoopbackServer
) -> None:
    es = EventSource(server.url("/feed"))
    async with es:
        [event] = await collect(es, 1)
    assert event.data == "hello"
    # Each library names itself in the User-Agent it sends by default.
    agent = server.requests[0].headers.get("User-Agent", "")
    assert ("python-httpx/" if anyio_backend == "trio" else "aiohttp/") in agent


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_on_trio_without_httpx_the_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, server: LoopbackServer
) -> None:
    monkeypatch.setitem(sys.modules, "httpx", None)  # makes `import httpx` fail
    monkeypatch.delitem(sys.modules, "eventsource._transport._httpx")
    es = EventSource(server.url("/feed"))
    with pytest.raises(ImportError) as caught:
        async with es:
            await collect(es, 1)
    assert str(caught.value) == (
        "on trio, EventSource needs the httpx transport (aiohttp runs on asyncio only): "
        "pip install 'eventsource-client[httpx]'"
    )
    assert caught.value.name == "httpx"
    assert server.requests == []


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_the_aiohttp_transport_named_on_trio_says_to_use_httpx(
    server: LoopbackServer,
) -> None:
    es = EventSource(server.url("/feed"), transport="aiohttp")
    with pytest.raises(RuntimeError, match="aiohttp transport runs on asyncio only"):
        async with es:
            await collect(es, 1)
    assert server.requests == []
