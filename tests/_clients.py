"""One set of scenarios, two clients: the async EventSource and the blocking one.

A scenario asks a :class:`Client` to collect events or to run listeners, and
looks at the :class:`Outcome`; each client does it its own way (the async one
inside ``asyncio.run``, the blocking one in the test's thread). Both read the
same servers (``_servers.LoopbackServer``, in its own thread). Listeners and
hooks given to them are plain functions, which both clients accept.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest

from eventsource import EventSource, EventSourceError, MessageEvent, ReadyState
from eventsource.sync import EventSource as SyncEventSource

from ._fixtures import LIMIT


@dataclass
class Outcome:
    """What a client saw: its events, the error it raised, its state at the end."""

    events: list[MessageEvent] = field(default_factory=list)
    error: EventSourceError | None = None
    ready_state: ReadyState | None = None
    last_event_id: str = ""
    reconnection_time: float = 0.0

    @property
    def data(self) -> list[str]:
        return [event.data for event in self.events]


Setup = Callable[[Any], None]


def _noop(es: Any) -> None:
    pass


class AsyncClient:
    """``eventsource.EventSource`` on ``transport``, each scenario in its own ``asyncio.run``."""

    def __init__(self, transport: str) -> None:
        self.transport = transport

    def __str__(self) -> str:
        return f"async-{self.transport}"

    def collect(self, url: str, n: int, setup: Setup = _noop, **options: Any) -> Outcome:
        """The first ``n`` message events (fewer if the stream ends), then close."""
        return asyncio.run(self._collect(url, n, setup, options))

    def run(self, url: str, setup: Setup, **options: Any) -> Outcome:
        """``run()`` with the listeners ``setup`` adds, until it returns or raises."""
        return asyncio.run(self._run(url, setup, options))

    async def _collect(self, url: str, n: int, setup: Setup, options: Any) -> Outcome:
        es = EventSource(url, transport=self.transport, **options)
        setup(es)
        outcome = Outcome()
        try:
            async with es:
                with anyio.fail_after(LIMIT):
                    async for event in es:
                        outcome.events.append(event)
                        if len(outcome.events) == n:
                            break
        except EventSourceError as exc:
            outcome.error = exc
        return _ended(es, outcome)

    async def _run(self, url: str, setup: Setup, options: Any) -> Outcome:
        es = EventSource(url, transport=self.transport, **options)
        setup(es)
        outcome = Outcome()
        try:
            with anyio.fail_after(LIMIT):
                await es.run()
        except EventSourceError as exc:
            outcome.error = exc
        return _ended(es, outcome)


class SyncClient:
    """``eventsource.sync.EventSource``, in the test's thread (a timer closes a hang)."""

    def __str__(self) -> str:
        return "sync"

    def collect(self, url: str, n: int, setup: Setup = _noop, **options: Any) -> Outcome:
        es = SyncEventSource(url, **options)
        setup(es)
        outcome = Outcome()
        with _watchdog(es):
            try:
                with es:
                    for event in es:
                        outcome.events.append(event)
                        if len(outcome.events) == n:
                            break
            except EventSourceError as exc:
                outcome.error = exc
        return _ended(es, outcome)

    def run(self, url: str, setup: Setup, **options: Any) -> Outcome:
        es = SyncEventSource(url, **options)
        setup(es)
        outcome = Outcome()
        with _watchdog(es):
            try:
                es.run()
            except EventSourceError as exc:
                outcome.error = exc
        return _ended(es, outcome)


class _watchdog:
    """Close ``es`` from a timer thread after ``LIMIT`` seconds, and fail the test."""

    def __init__(self, es: SyncEventSource) -> None:
        self.fired = False

        def fire() -> None:
            self.fired = True
            es.close()

        self.timer = threading.Timer(LIMIT, fire)

    def __enter__(self) -> None:
        self.timer.start()

    def __exit__(self, *exc_info: object) -> None:
        self.timer.cancel()
        self.timer.join()
        if self.fired:
            pytest.fail(f"the blocking client did not finish within {LIMIT} s")


def _ended(es: Any, outcome: Outcome) -> Outcome:
    outcome.ready_state = es.readyState
    outcome.last_event_id = es.lastEventId
    outcome.reconnection_time = es.reconnection_time
    return outcome


Client = AsyncClient | SyncClient
CLIENTS: list[Client] = [AsyncClient("aiohttp"), AsyncClient("httpx"), SyncClient()]


@pytest.fixture(params=CLIENTS, ids=str)
def client(request: pytest.FixtureRequest) -> Client:
    """Each scenario once per client: async on aiohttp, async on httpx, blocking."""
    return request.param  # type: ignore[no-any-return]
