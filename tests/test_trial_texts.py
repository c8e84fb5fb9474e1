"""What a new user's trial read: texts that name the real problem, on every client.

A wrong argument's message names the argument and the type it got; both
EventSource classes (async and blocking) say the same.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp import web

from eventsource import ConnectAttempt, ConnectError, ErrorEvent, EventSource, RetryPolicy
from eventsource.stores import StoreError
from eventsource.sync import EventSource as SyncEventSource

from ._clients import Client
from ._clients import client as client
from ._fixtures import server as server
from ._servers import HOST, LoopbackServer, refused_port, sse, stalled_port

URL = f"http://{HOST}:9/stream"
CLASSES = [EventSource, SyncEventSource]


@pytest.mark.parametrize("cls", CLASSES, ids=["async", "sync"])
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"headers": {"X-N": 5}}, "header 'X-N': values must be str, got int (5)"),
        ({"headers": [("X-N", None)]}, "header 'X-N': values must be str, got NoneType (None)"),
        ({"headers": {"X-K": b"secret"}}, "header 'X-K': values must be str, got bytes"),
        ({"headers": {5: "v"}}, "header names must be str, got int (5)"),
        ({"last_event_id": 5}, "last_event_id must be a str, got int (5)"),
        ({"last_event_id": 0}, "last_event_id must be a str, got int (0)"),
        ({"last_event_id": None}, "last_event_id must be a str, got NoneType (None)"),
        ({"last_event_id": b"7"}, "last_event_id must be a str, got bytes (b'7')"),
    ],
)
def test_a_value_that_is_not_a_str_is_named_with_its_type(
    cls: Any, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(TypeError) as info:
        cls(URL, **options)
    assert str(info.value) == message
    assert "secret" not in str(info.value)  # a bytes header value may be a credential


def test_a_hook_header_that_is_not_a_str_is_named_with_its_type(client: Client) -> None:
    def hook(attempt: ConnectAttempt) -> None:
        attempt.headers["X-N"] = 5  # type: ignore[assignment]

    with refused_port() as port, pytest.raises(TypeError) as info:
        client.collect(f"http://{HOST}:{port}/", 1, prepare_request=hook)
    assert str(info.value) == "prepare_request: header 'X-N': values must be str, got int (5)"


def test_a_blocking_store_that_loads_no_str_is_a_store_error() -> None:
    class Store:
        def load(self) -> object:
            return 5

        def save(self, last_event_id: str) -> None:
            pass

    with pytest.raises(StoreError, match=re.escape("loaded a int, not a str")):
        SyncEventSource(URL, last_event_id_store=Store())  # type: ignore[arg-type]


def test_a_blocking_store_that_fails_to_load_is_a_store_error_as_on_the_async_client() -> None:
    class Store:
        def load(self) -> str | None:
            raise OSError(5, "Input/output error")

        def save(self, last_event_id: str) -> None:
            pass

    with pytest.raises(StoreError, match=r"failed to load: .*Input/output error") as info:
        SyncEventSource(URL, last_event_id_store=Store())
    assert isinstance(info.value.__cause__, OSError)


@pytest.mark.parametrize("budget", [0, 2])
def test_max_reconnects_is_the_reconnections_after_the_first_failure(
    client: Client, budget: int
) -> None:
    errors: list[ErrorEvent] = []

    def setup(es: Any) -> None:
        es.onerror = errors.append

    policy = RetryPolicy(backoff_factor=1.0, jitter=0.0, max_reconnects=budget)
    with refused_port() as port:
        outcome = client.run(f"http://{HOST}:{port}/", setup, retry=0.001, retry_policy=policy)
    assert isinstance(outcome.error, ConnectError)
    # the first connection, then `budget` reconnections: all fail, the last one for good
    assert [(e.attempt, e.reconnecting) for e in errors] == [
        *((n, True) for n in range(1, budget + 1)),
        (budget + 1, False),
    ]


def test_a_refused_connection_reads_the_same_on_every_client(client: Client) -> None:
    policy = RetryPolicy(max_reconnects=0)
    with refused_port() as port:
        url = f"http://{HOST}:{port}/stream"
        outcome = client.collect(url + "?token=s3cret", 1, retry_policy=policy)
    assert isinstance(outcome.error, ConnectError)
    assert str(outcome.error) == f"could not connect to {url}: connection refused"
    assert isinstance(outcome.error.__cause__, Exception)  # the library's own, kept


def test_a_connect_timeout_reads_the_same_on_every_client(client: Client) -> None:
    policy = RetryPolicy(max_reconnects=0)
    with stalled_port() as port:
        url = f"http://{HOST}:{port}/stream"
        outcome = client.collect(url, 1, connect_timeout=0.1, retry_policy=policy)
    assert isinstance(outcome.error, ConnectError)
    assert str(outcome.error) == f"could not connect to {url}: timed out"


@pytest.mark.parametrize("cls", CLASSES, ids=["async", "sync"])
def test_the_repr_names_the_url_without_secrets_and_the_state(cls: Any) -> None:
    es = cls("http://user:pw@127.0.0.1:9/stream?token=s3cret")
    assert repr(es) == "<EventSource url='http://127.0.0.1:9/stream' readyState=CONNECTING>"
    es.close()
    assert repr(es) == "<EventSource url='http://127.0.0.1:9/stream' readyState=CLOSED>"


def test_the_repr_of_an_open_stream_says_open(client: Client, server: LoopbackServer) -> None:
    async def stream(request: web.Request) -> web.StreamResponse:
        return await sse(request, b"data: a\n\n")

    server.handle("/", stream)
    seen: list[str] = []

    def setup(es: Any) -> None:
        es.onopen = lambda event: seen.append(repr(es))

    outcome = client.collect(server.url("/"), 1, setup)
    assert outcome.data == ["a"]
    assert seen == [f"<EventSource url='{server.url('/')}' readyState=OPEN>"]
