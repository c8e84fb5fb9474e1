"""Shared fixtures for tests run on every transport and backend.

A test module opts in by importing the fixtures it uses (``from ._fixtures
import combo as combo``, ...) and marking its tests ``pytest.mark.anyio``: the
``combo`` fixture then runs each test three times, as aiohttp on asyncio,
httpx on asyncio and httpx on trio, and ``anyio_backend`` follows it. The
servers run in their own threads (``_servers``), so they work under trio too.
"""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import pytest

import eventsource
from eventsource import EventSource, MessageEvent, RetryPolicy
from eventsource.transports import AiohttpTransport

from ._servers import LoopbackServer, running_server, sse

#: Upper bound on every wait of a test, so that a hang fails fast.
LIMIT = 10.0
#: Reconnect at once, without backoff: no test waits real seconds (nor the
#: half-second floor of a server's ``retry:``).
FAST: dict[str, Any] = {
    "retry": 0.001,
    "retry_policy": RetryPolicy(backoff_factor=1.0, jitter=0.0, min_retry=0.0),
}


@dataclass(frozen=True)
class Combo:
    """One transport on one anyio backend."""

    transport: str
    backend: str

    def __str__(self) -> str:
        return f"{self.transport}-{self.backend}"

    def source(self, url: str, **options: Any) -> EventSource:
        """An EventSource for ``url`` on this combo's transport.

        Transport settings among ``options`` (``verify``, ``proxy``, ``session``,
        ...) go to this combo's transport object.
        """
        settings = {name: options.pop(name) for name in TRANSPORT_SETTINGS if name in options}
        settings = {name: value for name, value in settings.items() if value is not None}
        return EventSource(url, transport=self.make_transport(**settings), **options)

    def make_transport(self, **settings: Any) -> Any:
        """This combo's transport object with ``settings``, or its name when there are none."""
        if not settings:
            return self.transport
        if self.transport == "aiohttp":
            return AiohttpTransport(**settings)
        from eventsource.transports import HttpxTransport

        return HttpxTransport(**settings)


#: Keywords of the transport objects that ``Combo.source`` accepts among its options.
TRANSPORT_SETTINGS = ("session", "client", "proxy", "verify", "cert", "http2", "trust_env")

COMBOS = [Combo("aiohttp", "asyncio"), Combo("httpx", "asyncio"), Combo("httpx", "trio")]


@pytest.fixture(params=COMBOS, ids=str)
def combo(request: pytest.FixtureRequest) -> Combo:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def anyio_backend(combo: Combo) -> str:
    return combo.backend


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with running_server() as server:
        yield server


@pytest.fixture
def other_server() -> Iterator[LoopbackServer]:
    """A second server: another port, so another origin."""
    with running_server() as server:
        yield server


async def collect(es: EventSource, n: int, limit: float = LIMIT) -> list[MessageEvent]:
    """The next ``n`` message events (fewer if iteration ends first)."""
    got: list[MessageEvent] = []
    with anyio.fail_after(limit):
        async for event in es:
            got.append(event)
            if len(got) == n:
                break
    return got


async def eventually(condition: Callable[[], bool], limit: float = LIMIT) -> None:
    """Poll ``condition`` (set by another thread, say) until it holds; fail after ``limit``."""
    with anyio.fail_after(limit):
        while not condition():
            await anyio.sleep(0.005)


@pytest.fixture(params=["asyncio", "trio"], name="anyio_backend")
def both_backends(request: pytest.FixtureRequest) -> str:
    """``anyio_backend`` for tests that run on both backends with the default transport."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(name="server")
def hello_server() -> Iterator[LoopbackServer]:
    """``server`` with ``/feed``: one event, ``hello``, then the end of the stream."""

    async def hello(request: Any) -> Any:
        return await sse(request, b"data: hello\n\n")

    with running_server() as server:
        server.handle("/feed", hello)
        yield server


def traced_in_package(snapshot: tracemalloc.Snapshot) -> int:
    """Bytes still allocated by the client's code in ``snapshot`` (not its test server's)."""
    package = os.path.dirname(eventsource.__file__)
    keep = [
        tracemalloc.Filter(True, os.path.join(package, "*")),
        tracemalloc.Filter(False, os.path.join(package, "*testing*")),
    ]
    return sum(stat.size for stat in snapshot.filter_traces(keep).statistics("filename"))
