"""Ours: the eventsource client. Each driver skips until the client lands.

Only the announced API is used: ``async for event in EventSource(url)``,
``async for batch in es.batches()``, ``es.onmessage = cb; await es.run()``,
``es.close()`` / ``await es.aclose()``, ``EventSource(url, transport="httpx")``,
``EventSource(url, transport=AiohttpTransport(session=...))``.
"""

from __future__ import annotations

from typing import Any

from . import Driver, Sink, Skip

try:
    from eventsource import EventSource
except ImportError:  # the client is not written yet: these drivers skip
    EventSource = None

try:
    from eventsource import MessageEvent
    from eventsource.decode import Parser
except ImportError:
    MessageEvent = Parser = None


def _need(thing: Any, name: str) -> Any:
    if thing is None:
        raise Skip(f"eventsource.{name} is not available yet")
    return thing


async def _async_for(url: str, sink: Sink, **options: Any) -> None:
    try:
        es = _need(EventSource, "EventSource")(url, **options)
    except ValueError as exc:  # e.g. transport="httpx" before that transport exists
        raise Skip(str(exc)) from exc
    try:
        async for event in es:
            if sink(event.data):
                return
    finally:
        await es.aclose()


async def ours_async_for(url: str, sink: Sink) -> None:
    await _async_for(url, sink)


async def ours_batches(url: str, sink: Sink) -> None:
    es = _need(EventSource, "EventSource")(url)
    if not hasattr(es, "batches"):
        await es.aclose()
        raise Skip("EventSource.batches() is not available yet")
    try:
        async for batch in es.batches():
            for event in batch:
                if sink(event.data):
                    return
    finally:
        await es.aclose()


# One aiohttp session for every EventSource of the process (fan-out only).
_shared: dict[str, Any] = {}


async def ours_shared_session(url: str, sink: Sink) -> None:
    """``async for`` with one session passed to every EventSource: what sharing saves."""
    import aiohttp

    session = _shared.get("session")
    if session is None:
        # limit=0, as raw_aiohttp's: no stream waits for a pool slot
        connector = aiohttp.TCPConnector(limit=0)
        session = aiohttp.ClientSession(connector=connector)
        _shared["session"] = session
    from eventsource.transports import AiohttpTransport

    await _async_for(url, sink, transport=AiohttpTransport(session=session))


async def _close_session() -> None:
    session = _shared.pop("session", None)
    if session is not None:
        await session.close()


async def ours_httpx(url: str, sink: Sink) -> None:
    await _async_for(url, sink, transport="httpx")


async def ours_callbacks(url: str, sink: Sink) -> None:
    es = _need(EventSource, "EventSource")(url)

    def on_message(event: Any) -> None:
        if sink(event.data):
            es.close()

    es.onmessage = on_message
    try:
        await es.run()  # returns once close() was called
    finally:
        await es.aclose()


def ours_sync(url: str, sink: Sink) -> None:
    """The blocking client (``eventsource.sync``, over httpx.Client): ``for event in es``."""
    try:
        from eventsource.sync import EventSource as SyncEventSource
    except ImportError as exc:
        raise Skip(str(exc)) from exc
    with SyncEventSource(url) as es:
        for event in es:
            if sink(event.data):
                return


async def ours_parser(url: str, sink: Sink) -> None:
    """aiohttp chunks fed to our sans-IO Parser: the parser's cost without the client."""
    parser_cls = _need(Parser, "Parser")
    import aiohttp

    parser = parser_cls()
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as resp:
        async for chunk in resp.content.iter_any():
            for item in parser.feed(chunk):  # events, and comments (none here)
                if isinstance(item, MessageEvent) and sink(item.data):
                    return


# The slots: these start working the moment eventsource.EventSource exists.
# (eventsource itself is imported above, before any clock starts.)
DRIVERS = [
    Driver("ours_parser", ours_parser, is_async=True, group="ours", imports=("aiohttp",)),
    Driver("ours_async_for", ours_async_for, is_async=True, group="ours"),
    Driver("ours_batches", ours_batches, is_async=True, group="ours"),
    Driver("ours_callbacks", ours_callbacks, is_async=True, group="ours"),
    Driver("ours_httpx", ours_httpx, is_async=True, group="ours", imports=("httpx",)),
    Driver(
        "ours_sync",
        ours_sync,
        is_async=False,
        group="ours",
        imports=("httpx", "eventsource.sync"),
    ),
    Driver(
        "ours_shared_session",
        ours_shared_session,
        is_async=True,
        group="ours",
        imports=("aiohttp",),
        throughput=False,
        cleanup=_close_session,
    ),
]
