"""Hypothesis drives the whole client against a scripted server saying anything at all.

Arbitrary bytes, statuses, headers, content types, redirects, drops and stalls,
on either transport. Whatever the server does, the client never hangs (every
example runs under ``anyio.fail_after``), raises nothing but
``EventSourceError`` subclasses (or simply ends), and leaving ``async with``
leaves it CLOSED with nothing behind: no task of ours, no client socket, and
the server sees every connection closed.

``make test`` runs a modest number of examples; a Hypothesis profile with more
(``--hypothesis-profile=...``) runs more.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from eventsource import EventSource, EventSourceError, MessageEvent, ReadyState, retry_transient
from eventsource.testing import (
    Comment,
    Drop,
    Event,
    Headers,
    Raw,
    Redirect,
    Respond,
    Retry,
    Sleep,
    SSEServer,
    Stall,
    Step,
)

from ._servers import client_sockets_to

# 50 in `make test`; the `fuzz` profile (`make fuzz`, 20,000 parser examples) runs
# the whole client 1,000 times, each a real connection.
EXAMPLES = 50 if settings.default.max_examples < 10_000 else 1_000

CONTENT_TYPES = [
    "text/event-stream",
    "text/event-stream; charset=utf-8",
    "TEXT/Event-Stream",
    " text/event-stream ;x=y",
    "text/event-stream;;;",
    "text/plain",
    "application/json",
    "text/html; charset=latin-1",
    "application/octet-stream",
    "",
]
FIELDS = ["data", "id", "event", "retry", "", "dat", "data ", "DATA", "\ufeffdata", "id\x00"]
LINE_ENDS = ["\n", "\r", "\r\n", ""]


@st.composite
def sse_lines(draw: st.DrawFn) -> bytes:
    """Text that looks like an event stream, with hostile values and line ends."""
    pieces = []
    for _ in range(draw(st.integers(0, 8))):
        name = draw(st.sampled_from(FIELDS))
        value = draw(st.text(max_size=20))
        colon = draw(st.sampled_from([": ", ":", "", "::"]))
        pieces.append(f"{name}{colon}{value}{draw(st.sampled_from(LINE_ENDS))}")
    encoding = draw(st.sampled_from(["utf-8", "utf-16", "latin-1"]))
    return "".join(pieces).encode(encoding, "replace")


steps: st.SearchStrategy[Step] = st.one_of(
    st.builds(Raw, st.binary(max_size=200)),
    st.builds(Raw, sse_lines()),
    *[st.builds(Event, st.text(max_size=50), id=st.sampled_from([None, "", "1", "é"]))] * 4,
    st.builds(Comment, st.text(max_size=20)),
    st.builds(Retry, st.integers(0, 5)),
    st.builds(Drop, reset=st.booleans()),
    st.builds(Sleep, st.floats(0, 0.02)),
    st.builds(Stall, st.just(0.2)),
)

headers = st.dictionaries(
    st.sampled_from(["Content-Type", "Retry-After", "X-Anything", "Location", "Cache-Control"]),
    st.one_of(st.sampled_from(CONTENT_TYPES), st.sampled_from(["0", "1", "soon", "-1"])),
    max_size=3,
)

# Mostly what a stream should be, sometimes anything else.
STREAM_TYPES = ["text/event-stream"] * len(CONTENT_TYPES) + CONTENT_TYPES
STREAM_STATUSES = [200] * 8 + [201, 400, 401, 404, 429, 500, 503]

streams = st.tuples(
    st.builds(
        Headers,
        st.fixed_dictionaries({"Content-Type": st.sampled_from(STREAM_TYPES)}),
        status=st.sampled_from(STREAM_STATUSES),
    )
).flatmap(lambda head: st.lists(steps, min_size=1, max_size=10).map(lambda rest: (*head, *rest)))
responses = st.tuples(
    st.builds(
        Respond,
        st.sampled_from([200, 204, 301, 302, 303, 307, 308, 400, 401, 403, 429, 500, 503]),
        headers,
        st.binary(max_size=300),
    )
)
redirects = st.tuples(
    st.builds(
        Redirect,
        st.sampled_from(
            ["/next"] * 4 + ["next", "//127.0.0.1:1/x", "ftp://x/", "?q", "http://[::1"]
        ),
        status=st.sampled_from([301, 302, 303, 307, 308]),
    )
)
scripts: st.SearchStrategy[tuple[Step, ...]] = st.one_of(streams, streams, responses, redirects)


def accept_all(response: object) -> str:
    return "accept"  # read any body as an event stream


options = st.fixed_dictionaries(
    {
        "transport": st.sampled_from(["aiohttp", "httpx"]),
        "max_event_size": st.sampled_from([16, 4096, 1 << 20, 1 << 20]),
        # The default is retry_transient() with a 300 s bound on Retry-After:
        # here with a bound that keeps each example short.
        "status_policy": st.sampled_from(
            ["strict", retry_transient(max_retry_after=0.01), accept_all]
        ),
        "method": st.sampled_from(["GET", "POST"]),
    }
)


def _is_server_task(task: asyncio.Task[Any]) -> bool:
    code = getattr(task.get_coro(), "cr_code", None)
    return code is not None and "aiohttp/web_" in code.co_filename


def our_tasks() -> set[asyncio.Task[Any]]:
    current = asyncio.current_task()
    return {
        task for task in asyncio.all_tasks() if task is not current and not _is_server_task(task)
    }


async def run_client(
    queued: list[tuple[Step, ...]], chosen: dict[str, Any], close_after: int | None
) -> str:
    async with SSEServer() as server:
        for script in queued:
            server.script(*script)
        server.script(Respond(204))  # after the fuzzed scripts: the end
        es = EventSource(server.url, retry=0.001, read_timeout=0.05, max_reconnects=3, **chosen)
        received = 0
        outcome = "ended"
        with anyio.fail_after(20):  # never hangs
            try:
                async with es:
                    async for event in es:
                        assert type(event) is MessageEvent
                        received += 1
                        if received == close_after:
                            es.close()  # sync, as in the browser: iteration ends next
                            assert es.readyState == ReadyState.CLOSED
                        if received >= 30:
                            break
            except EventSourceError as exc:
                outcome = type(exc).__name__  # anything but these fails the example
            assert es.readyState == ReadyState.CLOSED
            if close_after is not None and received >= close_after:
                assert received == close_after  # nothing after close()
                outcome = "closed"
            await server.wait_for_idle(timeout=5)  # the server saw every connection closed
        assert client_sockets_to(server.port) == 0
        assert our_tasks() == set()
    return f"{outcome} after {min(received, 3)}{'+' if received > 3 else ''} events"


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    queued=st.tuples(streams, st.lists(scripts, max_size=3)).map(lambda t: [t[0], *t[1]]),
    chosen=options,
    close_after=st.sampled_from([None, None, 1, 2]),
)
def test_any_server_behaviour_ends_in_events_a_typed_error_or_the_end_and_leaks_nothing(
    queued: list[tuple[Step, ...]], chosen: dict[str, Any], close_after: int | None
) -> None:
    outcome = anyio.run(run_client, queued, chosen, close_after, backend="asyncio")
    event(outcome)  # see them with --hypothesis-show-statistics


# -- what the fuzzer found, kept as examples ------------------------------------------


async def resume_after_a_non_ascii_id(transport: str) -> tuple[list[str], str | None]:
    async with SSEServer() as server:
        server.script(Event("one", id="é🎉"), Drop())
        server.script(Event("two"))
        got = []
        with anyio.fail_after(10):
            async with EventSource(server.url, retry=0.001, transport=transport) as es:  # type: ignore[arg-type]
                async for message in es:
                    got.append(message.data)
                    if len(got) == 2:
                        break
        return got, server.requests[1].last_event_id


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
def test_a_non_ascii_last_event_id_is_sent_back_as_utf_8(transport: str) -> None:
    # [spec] the Last-Event-ID header value is the last event ID string, encoded as UTF-8
    got, sent = anyio.run(resume_after_a_non_ascii_id, transport, backend="asyncio")
    assert got == ["one", "two"]
    assert sent == "é🎉"
