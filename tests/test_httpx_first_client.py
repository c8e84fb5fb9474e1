"""The first httpx EventSource does not stall the event loop while its client is built.

Building an ``httpx.AsyncClient`` loads the CA bundle into a TLS context and,
the first time in a process, imports httpcore: about 0.1 s. The transport does
it in a worker thread, so other tasks of the loop keep running meanwhile.
"""

from __future__ import annotations

import ssl
import threading
from typing import Any

import anyio
import httpx
import pytest

from eventsource import EventSource
from eventsource._transport import Request, _httpx, _httpx_common

from ._fixtures import LIMIT, collect
from ._fixtures import both_backends as both_backends
from ._fixtures import hello_server as hello_server
from ._servers import LoopbackServer

pytestmark = pytest.mark.anyio


async def test_the_client_and_its_tls_context_are_built_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch, server: LoopbackServer
) -> None:
    built_in: dict[str, int] = {}
    real_client = httpx.AsyncClient
    real_context = httpx.create_ssl_context

    class RecordingClient(real_client):  # type: ignore[valid-type,misc]
        def __init__(self, **kwargs: Any) -> None:
            built_in["client"] = threading.get_ident()
            super().__init__(**kwargs)

    def recording_context(**kwargs: Any) -> ssl.SSLContext:
        built_in["context"] = threading.get_ident()
        return real_context(**kwargs)

    monkeypatch.setattr(httpx, "AsyncClient", RecordingClient)
    monkeypatch.setattr(httpx, "create_ssl_context", recording_context)
    _httpx_common._verifying_context.cache_clear()  # as in a fresh process
    loop_thread = threading.get_ident()
    async with EventSource(server.url("/feed"), transport="httpx") as es:
        [event] = await collect(es, 1)
    assert event.data == "hello"
    assert set(built_in) == {"client", "context"}
    assert loop_thread not in built_in.values()


async def test_two_first_requests_at_once_share_one_client(
    monkeypatch: pytest.MonkeyPatch, server: LoopbackServer
) -> None:
    # Both start making a client in a thread; the one made second is closed,
    # and both requests go out on the first.
    clients: list[httpx.AsyncClient] = []
    real_client = httpx.AsyncClient

    class RecordingClient(real_client):  # type: ignore[valid-type,misc]
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            clients.append(self)

    monkeypatch.setattr(httpx, "AsyncClient", RecordingClient)
    transport = _httpx.HttpxTransport()
    statuses: list[int] = []

    async def get() -> None:
        response = await transport.open(Request("GET", server.url("/feed")))
        statuses.append(response.status)
        await response.aclose()

    try:
        with anyio.fail_after(LIMIT):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(get)
                tasks.start_soon(get)
        assert statuses == [200, 200]
        assert [client.is_closed for client in clients].count(False) == 1  # one kept
    finally:
        await transport.aclose()
    assert clients
    assert all(client.is_closed for client in clients)
