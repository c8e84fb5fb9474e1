"""A server that accepts and never answers: the error says how long the client waited.

The async client waits twice ``connect_timeout`` in all for the response
headers (docs/transports.md). Its error said ``no response within
connect_timeout (0.5 s)`` after a second, as if the timeout had not been kept.
"""

from __future__ import annotations

import asyncio

import anyio
import pytest
from aiohttp import web

from eventsource import EventSource, TransportError
from eventsource.transports import Request, Response

from ._fixtures import LIMIT, Combo
from ._fixtures import anyio_backend as anyio_backend
from ._fixtures import combo as combo
from ._fixtures import server as server
from ._servers import LoopbackServer

pytestmark = pytest.mark.anyio


async def test_the_error_names_the_wait_it_gave_up_after(
    combo: Combo, server: LoopbackServer
) -> None:
    async def never_answers(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(LIMIT)  # cancelled as the client goes away
        raise AssertionError("not reached")

    server.handle("/", never_answers)
    with anyio.fail_after(LIMIT):
        es = combo.source(server.url("/"), method="POST", reconnect=False, connect_timeout=0.2)
        async with es:
            with pytest.raises(TransportError) as caught:
                await es.__anext__()
    assert str(caught.value) == "no response within 0.4 s (twice connect_timeout)"
    assert len(server.requests) == 1


class TimesOutItself:
    """A transport of yours whose own deadline runs out while connecting."""

    async def open(self, request: Request) -> Response:
        raise TimeoutError("the proxy did not answer")

    async def aclose(self) -> None:
        pass


@pytest.mark.parametrize("connect_timeout", [None, 0.2])
async def test_a_transport_that_times_out_itself_is_named_as_such(
    connect_timeout: float | None,
) -> None:
    # A bare TimeoutError of the transport's own is not the client's wait for
    # the headers: with connect_timeout=None formatting that wait raised a
    # TypeError out of the stream; with one, the text named a wait never made.
    es = EventSource(
        "http://127.0.0.1:9/",
        transport=TimesOutItself(),
        reconnect=False,
        connect_timeout=connect_timeout,
    )
    with anyio.fail_after(LIMIT):
        async with es:
            with pytest.raises(TransportError) as caught:
                await es.__anext__()
    assert str(caught.value) == "connecting timed out: the proxy did not answer"
    assert isinstance(caught.value.__cause__, TimeoutError)
