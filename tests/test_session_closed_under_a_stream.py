"""An aiohttp session closed while a stream reads on it: a TransportError, as on httpx.

Found by a new-user trial: aiohttp's ``RuntimeError: Connection closed.`` came
out of ``anext()`` as is, with no ``error`` event and no reconnect, when the
session was closed under a stream: a session of yours closed while a task
still read (a bot's shutdown in the wrong order), or an ``AiohttpTransport()``
given to two EventSources, one of them closed (its session went with it). On
httpx the same stream reconnects.
"""

from __future__ import annotations

import aiohttp
import anyio
import pytest

from eventsource import ErrorEvent, EventSource, TransportError
from eventsource.testing import SSEServer
from eventsource.transports import AiohttpTransport

pytestmark = pytest.mark.asyncio


async def test_your_session_closed_under_a_stream_is_a_transport_error_then_says_so() -> None:
    errors: list[ErrorEvent] = []
    async with SSEServer() as server:
        server.room.publish("one")
        session = aiohttp.ClientSession()
        es = EventSource(server.url, transport=AiohttpTransport(session=session), retry=0.01)
        es.onerror = errors.append
        async with es:
            with anyio.fail_after(5):
                assert (await es.__anext__()).data == "one"
                await session.close()  # while the stream still has its connection
                # The reconnect finds your session closed: aiohttp says so.
                with pytest.raises(RuntimeError, match="Session is closed"):
                    await es.__anext__()
    assert [type(event.error) for event in errors] == [TransportError]
    assert "closed in this process" in str(errors[0].error)
    assert errors[0].reconnecting


async def test_one_of_two_streams_on_a_transport_of_ours_closed_the_other_reconnects() -> None:
    # One made without a session serves one EventSource (docs/transports.md):
    # given to two all the same, the other one goes on, as on httpx.
    async with SSEServer() as server:
        server.room.publish("one")
        transport = AiohttpTransport()
        first = EventSource(server.url, transport=transport, retry=0.01)
        second = EventSource(server.url, transport=transport, retry=0.01)
        async with second:
            with anyio.fail_after(5):
                assert (await first.__anext__()).data == "one"
                assert (await second.__anext__()).data == "one"
                await first.aclose()  # closes the transport's session
                server.room.publish("two")
                event = await second.__anext__()
        assert (event.data, event.last_event_id) == ("two", "2")
        assert server.requests[-1].last_event_id == "1"
