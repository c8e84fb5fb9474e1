"""A limit that a stream exceeds says how to raise it: in Python and on the command line.

``ProtocolError`` names ``max_event_size=``, the keyword that raises the bound
(of ``EventSource``, the blocking one, ``Parser`` and ``aiter_events``); the
command line has ``--max-event-size`` and names it instead.
"""

from __future__ import annotations

import aiohttp
import httpx
import pytest

from eventsource import ProtocolError
from eventsource._cli import main
from eventsource.decode import Parser, aiter_events
from eventsource.testing import Event, Raw, SSEServer

from ._clients import Client
from ._clients import client as client

HINT = "pass a larger max_event_size= to allow it"


def test_a_line_too_long_says_how_to_raise_the_limit() -> None:
    parser = Parser(max_event_size=10)
    with pytest.raises(ProtocolError) as info:
        parser.feed(b"data: 12345")
    assert str(info.value) == f"a line exceeded max_event_size (10 bytes): {HINT}"


def test_data_too_big_says_how_to_raise_the_limit() -> None:
    parser = Parser(max_event_size=20)
    with pytest.raises(ProtocolError) as info:
        parser.feed(b"data: 12345678\n" * 3)
    assert str(info.value) == f"an event's data exceeded max_event_size (20 characters): {HINT}"


def test_each_client_raises_the_hint_and_a_larger_limit_lets_the_event_through(
    client: Client,
) -> None:
    with SSEServer() as server:
        server.script(Event("x" * 100))
        server.script(Event("x" * 100))
        small = client.collect(server.url, 1, max_event_size=64, reconnect=False)
        large = client.collect(server.url, 1, max_event_size=128, reconnect=False)
    assert isinstance(small.error, ProtocolError)
    assert str(small.error) == f"a line exceeded max_event_size (64 bytes): {HINT}"
    assert large.data == ["x" * 100]


#: An event, then a line over a limit of 100 bytes, then the end of the body.
EVENT_THEN_LONG_LINE = b"data: a\n\ndata: " + b"x" * 200


def test_a_line_over_the_limit_at_the_end_of_the_body_still_raises(client: Client) -> None:
    with SSEServer() as server:
        server.script(Raw(EVENT_THEN_LONG_LINE))
        outcome = client.collect(server.url, 2, max_event_size=100, reconnect=False)
    assert outcome.data == ["a"]
    assert isinstance(outcome.error, ProtocolError)


@pytest.mark.asyncio
@pytest.mark.parametrize("library", ["aiohttp", "httpx"])
async def test_aiter_events_raises_a_limit_broken_in_the_bodys_last_read(library: str) -> None:
    # The parser holds the error behind the event the same read completed, until
    # the next read: at the end of the body there is none, and aiter_events ended
    # as if the stream were whole.
    got: list[str] = []

    async def read(response: aiohttp.ClientResponse | httpx.Response) -> None:
        async for event in aiter_events(response, max_event_size=100):
            got.append(event.data)

    async with SSEServer() as server:
        server.script(Raw(EVENT_THEN_LONG_LINE))
        with pytest.raises(ProtocolError, match="a line exceeded max_event_size"):
            if library == "aiohttp":
                async with aiohttp.ClientSession() as session, session.get(server.url) as r:
                    await read(r)
            else:
                async with httpx.AsyncClient() as http, http.stream("GET", server.url) as r:
                    await read(r)
    assert got == ["a"]


@pytest.fixture(scope="module")
def server() -> SSEServer:
    with SSEServer() as server:
        yield server  # type: ignore[misc]


def test_the_command_line_names_its_option_in_the_hint(
    server: SSEServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.script(Event("x" * 100))
    code = main([server.url, "--max-event-size", "64"])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "eventsource: a line exceeded --max-event-size (64 bytes): "
        "pass a larger --max-event-size to allow it"
    ]


def test_the_command_line_passes_max_event_size_to_the_stream(
    server: SSEServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # Its line (`data: ` and 16 MiB) is over the default bound; the option lets it through.
    big = "x" * (16 * 1024 * 1024)
    server.script(Event(big))
    code = main([server.url, "--no-reconnect", "--max-event-size", str(len(big) + 64)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out == f"message\n  {big}\n"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "argument --max-event-size: must be at least 1: '0'"),
        ("-5", "argument --max-event-size: must be at least 1: '-5'"),
        ("1.5", "argument --max-event-size: not a whole number: '1.5'"),
        ("lots", "argument --max-event-size: not a whole number: 'lots'"),
    ],
)
def test_a_bad_max_event_size_is_a_usage_error(
    value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["http://127.0.0.1:9/stream", "--max-event-size", value])
    assert info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"eventsource: error: {message}"
