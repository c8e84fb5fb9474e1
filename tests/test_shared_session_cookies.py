"""Each stream keeps its cookies to itself on the aiohttp session the streams of a loop share.

A server-side process often opens one stream per user of its own to the same
upstream, each with its own credentials: a cookie the upstream set for one of
them (a login session) must not go out with another's requests. A stream
still sends its own cookies back, on its redirect hops and reconnects.

The URLs name ``localhost``: aiohttp's default cookie jar takes no cookie
from an IP address, so on ``127.0.0.1`` no cookie would be kept at all.
"""

from __future__ import annotations

import anyio
import pytest
from aiohttp import web

from eventsource import EventSource
from eventsource.transports import AiohttpTransport

from ._fixtures import FAST, LIMIT, collect
from ._fixtures import server as server
from ._servers import LoopbackServer

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("anyio_backend", ["asyncio"])]


def on_localhost(server: LoopbackServer, path: str) -> str:
    return f"http://localhost:{server.port}{path}"


async def login(request: web.Request) -> web.Response:
    """Says who asked and which cookie came; sets a session cookie for "alice" only."""
    who = request.headers.get("Authorization", "")
    cookie = request.headers.get("Cookie", "")
    response = web.Response(
        body=f"data: {who}|{cookie}\n\n".encode(), content_type="text/event-stream"
    )
    if who == "Bearer alice":
        response.set_cookie("sid", "alice-session")
    return response


async def test_one_streams_cookie_does_not_go_out_with_another_streams_requests(
    server: LoopbackServer,
) -> None:
    server.handle("/login", login)
    alice = EventSource(
        on_localhost(server, "/login"), headers={"Authorization": "Bearer alice"}, **FAST
    )
    bob = EventSource(
        on_localhost(server, "/login"),
        headers={"Authorization": "Bearer bob"},
        transport=AiohttpTransport(),
        **FAST,
    )
    async with alice, bob:
        with anyio.fail_after(LIMIT):
            first = (await alice.__anext__()).data
            seen_by_bob = (await bob.__anext__()).data
            again = (await alice.__anext__()).data  # alice's reconnect
    assert first == "Bearer alice|"
    assert seen_by_bob == "Bearer bob|"
    assert again == "Bearer alice|sid=alice-session"


async def gate(request: web.Request) -> web.Response:
    """Sets a cookie and sends the client to /inside, which wants it."""
    return web.Response(
        status=307, headers={"Location": "/inside", "Set-Cookie": "pass=ok; Path=/"}
    )


async def inside(request: web.Request) -> web.Response:
    if request.cookies.get("pass") != "ok":
        return web.Response(status=403)
    return web.Response(body=b"data: in\n\n", content_type="text/event-stream")


async def test_a_stream_sends_its_own_cookies_on_its_redirect_hops_and_reconnects(
    server: LoopbackServer,
) -> None:
    server.handle("/gate", gate)
    server.handle("/inside", inside)
    es = EventSource(on_localhost(server, "/gate"), **FAST)
    async with es:
        events = await collect(es, 2)  # the second after a reconnect, through /gate again
    assert [event.data for event in events] == ["in", "in"]
    assert [seen.path for seen in server.requests] == ["/gate", "/inside"] * 2
    assert [seen.headers.get("Cookie") for seen in server.requests] == [
        None,
        "pass=ok",
        "pass=ok",
        "pass=ok",
    ]
