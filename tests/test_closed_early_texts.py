"""A server that closes the connection early is told in the same words on every client.

Each HTTP library has its own exception for a body cut short (aiohttp's
``ClientPayloadError``, httpx's ``RemoteProtocolError``) and for a server that
hangs up before answering; a ``TransportError`` says what happened, not which
class noticed it, on aiohttp, httpx (asyncio and trio) and the blocking client.
The command line prints the same words as its last line.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from eventsource import EventSource, EventSourceError, TransportError
from eventsource._cli import main
from eventsource.sync import EventSource as SyncEventSource
from eventsource.testing import Drop, Event, SSEServer

from ._fixtures import LIMIT
from ._servers import HOST

READERS = ["aiohttp-asyncio", "httpx-asyncio", "httpx-trio", "sync"]
CUT_SHORT = "reading the stream failed: the server closed the connection in the middle of the body"
RESET = "reading the stream failed: connection reset by peer"
NO_ANSWER = "request failed: the server closed the connection without answering"


async def _read_async(url: str, transport: str) -> tuple[list[str], EventSourceError | None]:
    data: list[str] = []
    try:
        with anyio.fail_after(LIMIT):
            async with EventSource(url, transport=transport, reconnect=False) as es:
                async for event in es:
                    data.append(event.data)
    except EventSourceError as exc:
        return data, exc
    return data, None


def read_all(reader: str, url: str) -> tuple[list[str], EventSourceError | None]:
    """The data of each event, and the error that ended a one-shot stream."""
    if reader == "sync":
        data: list[str] = []
        try:
            with SyncEventSource(url, reconnect=False, read_timeout=LIMIT) as es:
                for event in es:
                    data.append(event.data)
        except EventSourceError as exc:
            return data, exc
        return data, None
    transport, backend = reader.split("-")
    return anyio.run(_read_async, url, transport, backend=backend)


@pytest.fixture(scope="module")
def sse_server() -> Iterator[SSEServer]:
    with SSEServer() as server:
        yield server


@contextlib.contextmanager
def raw_server(answer: bytes) -> Iterator[tuple[str, list[int]]]:
    """A server that reads each request, sends ``answer`` and closes the connection.

    Yields its URL and a list that counts the connections it took.
    """
    listener = socket.socket()
    listener.bind((HOST, 0))
    listener.listen(8)
    listener.settimeout(0.05)
    stop = threading.Event()
    taken: list[int] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            taken.append(1)
            with connection:
                connection.settimeout(LIMIT)
                connection.recv(65536)
                connection.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{listener.getsockname()[1]}/stream", taken
    finally:
        stop.set()
        thread.join(LIMIT)
        listener.close()


def _said(error: Any) -> str:
    assert isinstance(error, TransportError), repr(error)
    return str(error)


@pytest.mark.parametrize("reader", READERS)
def test_a_chunked_body_cut_short_says_the_server_closed_it_mid_body(
    reader: str, sse_server: SSEServer
) -> None:
    sse_server.script(Event("tok1"), Drop())
    data, error = read_all(reader, sse_server.url)
    assert data == ["tok1"]
    assert _said(error) == CUT_SHORT


@pytest.mark.parametrize("reader", READERS)
def test_a_body_shorter_than_its_content_length_says_the_same(reader: str) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 100\r\n\r\n"
    with raw_server(head + b"data: tok1\n\n") as (url, taken):
        data, error = read_all(reader, url)
    assert len(taken) == 1
    assert data == ["tok1"]
    assert _said(error) == CUT_SHORT


@pytest.mark.parametrize("reader", READERS)
def test_a_reset_in_the_middle_of_the_body_says_connection_reset(
    reader: str, sse_server: SSEServer
) -> None:
    sse_server.script(Event("tok1"), Drop(reset=True))
    data, error = read_all(reader, sse_server.url)
    assert data == ["tok1"]
    assert _said(error) == RESET


@pytest.mark.parametrize("reader", READERS)
def test_a_server_that_hangs_up_before_answering_says_so(reader: str) -> None:
    # (aiohttp sends an idempotent request once more on a new connection itself.)
    with raw_server(b"") as (url, _):
        data, error = read_all(reader, url)
    assert data == []
    assert _said(error) == NO_ANSWER


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
def test_the_command_line_ends_with_the_same_words(
    transport: str, sse_server: SSEServer, capsys: pytest.CaptureFixture[str]
) -> None:
    sse_server.script(Event("tok1"), Drop())
    code = main([sse_server.url, "--no-reconnect", "--transport", transport])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == "message\n  tok1\n"
    assert captured.err.splitlines() == [f"eventsource: {CUT_SHORT}"]


def test_a_malformed_chunk_is_not_called_a_body_cut_short() -> None:
    # aiohttp's pure-Python parser (PyPy, builds without its C extension)
    # raises the same class for a bad chunk as for a connection closed too
    # early; the connection is open here: the words must not say it closed.
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    listener = socket.socket()
    listener.bind((HOST, 0))
    listener.listen(1)
    url = f"http://{HOST}:{listener.getsockname()[1]}/stream"
    done = threading.Event()

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(head + b"3\r\ndata: x\n\n\r\n")  # 3 announced, 9 sent
            done.wait(LIMIT)  # held open

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    script = (
        "import asyncio, sys\n"
        "from eventsource import EventSource, EventSourceError\n"
        "async def main():\n"
        "    try:\n"
        "        async with EventSource(sys.argv[1], reconnect=False) as es:\n"
        "            async for _ in es: pass\n"
        "    except EventSourceError as exc:\n"
        "        print(type(exc).__name__, exc)\n"
        "asyncio.run(asyncio.wait_for(main(), 10))\n"
    )
    env = {**os.environ, "AIOHTTP_NO_EXTENSIONS": "1"}
    try:
        ran = subprocess.run(
            [sys.executable, "-c", script, url],
            env=env,
            capture_output=True,
            text=True,
            timeout=2 * LIMIT,
            check=True,
        )
    finally:
        done.set()
        thread.join(LIMIT)
        listener.close()
    said = ran.stdout.strip()
    assert said.startswith("TransportError ")
    assert "closed the connection" not in said


@pytest.mark.parametrize("reader", READERS)
def test_a_malformed_status_line_is_told_without_the_query(reader: str) -> None:
    # aiohttp's text for it ended with the URL, query and all, over two lines.
    with raw_server(b"HTTP/1.1 2x0 OK\r\n\r\n") as (url, _):
        data, error = read_all(reader, url + "?token=SECRET")
    assert data == []
    said = _said(error)
    assert "SECRET" not in said
    assert "\n" not in said
