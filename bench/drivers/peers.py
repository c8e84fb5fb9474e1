"""Peers: other Python SSE clients, each used the way its documentation shows."""

from __future__ import annotations

from . import Driver, Sink, Skip


async def httpx_sse(url: str, sink: Sink) -> None:
    try:
        import httpx
        from httpx_sse import aconnect_sse
    except ImportError as exc:
        raise Skip(str(exc)) from exc
    async with (
        httpx.AsyncClient(timeout=None) as client,
        aconnect_sse(client, "GET", url) as source,
    ):
        async for event in source.aiter_sse():
            if sink(event.data):
                return


def _ld_no_retry() -> object:
    try:
        from ld_eventsource.config import ErrorStrategy
    except ImportError as exc:
        raise Skip(str(exc)) from exc
    # The default already fails instead of retrying; say so explicitly: EOF ends
    # the iteration and no reconnect can inflate the count.
    return ErrorStrategy.always_fail()


def launchdarkly_sync(url: str, sink: Sink) -> None:
    strategy = _ld_no_retry()
    from ld_eventsource import SSEClient

    client = SSEClient(url, error_strategy=strategy)  # urllib3 underneath
    try:
        for event in client.events:
            if sink(event.data):
                return
    finally:
        client.close()


async def launchdarkly_async(url: str, sink: Sink) -> None:
    strategy = _ld_no_retry()
    from ld_eventsource import AsyncSSEClient  # aiohttp underneath

    async with AsyncSSEClient(url, error_strategy=strategy) as client:
        async for event in client.events:
            if sink(event.data):
                return


async def aiohttp_sse_client2(url: str, sink: Sink) -> None:
    try:
        import aiohttp
        from aiohttp_sse_client2 import client as sse_client
    except ImportError as exc:
        raise Skip(str(exc)) from exc
    # It reconnects after EOF: the sink stops it at the expected count.
    async with sse_client.EventSource(
        url, max_connect_retry=0, timeout=aiohttp.ClientTimeout(total=None)
    ) as source:
        async for event in source:
            if sink(event.data):
                return


def sseclient_py(url: str, sink: Sink) -> None:
    try:
        import requests
        import sseclient
    except ImportError as exc:
        raise Skip(str(exc)) from exc
    # As its README shows: SSEClient over a streaming requests response.
    with requests.get(url, stream=True, headers={"Accept": "text/event-stream"}) as resp:
        for event in sseclient.SSEClient(resp).events():
            if sink(event.data):
                return


_LD = ("ld_eventsource", "ld_eventsource.config")
DRIVERS = [
    Driver("httpx_sse", httpx_sse, is_async=True, imports=("httpx", "httpx_sse")),
    Driver("launchdarkly_sync", launchdarkly_sync, is_async=False, imports=_LD),
    Driver(
        "launchdarkly_async",
        launchdarkly_async,
        is_async=True,
        imports=(*_LD, "ld_eventsource.async_client"),
    ),
    Driver(
        "aiohttp_sse_client2",
        aiohttp_sse_client2,
        is_async=True,
        imports=("aiohttp", "aiohttp_sse_client2.client"),
    ),
    Driver("sseclient_py", sseclient_py, is_async=False, imports=("requests", "sseclient")),
]
