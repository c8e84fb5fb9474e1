"""Hostile streams hit ``max_event_size``: a typed error, bounded memory, bounded time.

Each server generates its stream lazily (a 1 GiB line is never held in
memory) and records how much it sent and whether it saw the client leave.
Memory is measured with tracemalloc's peak in this process, and once as the
peak RSS of a fresh subprocess (``ru_maxrss`` is a high-water mark).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import anyio
import pytest
from aiohttp import web

from eventsource import EventSource, ProtocolError
from eventsource.testing import SSEServer

pytestmark = pytest.mark.asyncio

MiB = 1024 * 1024
GiB = 1024 * MiB
LIMIT = 1 * MiB
CHUNK = 64 * 1024
# Parser, transport buffers and the server's own chunks: the fixed allowance.
ALLOWANCE = 8 * MiB
MEMORY_BOUND = 8 * LIMIT + ALLOWANCE
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def no_newline_ever() -> Iterator[bytes]:
    """Bytes that never end a line: a line of 1 GiB, and no line break at all."""
    block = b"z" * CHUNK
    for _ in range(GiB // CHUNK):
        yield block


def one_gib_data_line() -> Iterator[bytes]:
    """``data: `` then 1 GiB of multibyte text, then the blank line (never reached)."""
    yield b"id: 1\ndata: "
    block = ("é" * (CHUNK // 2)).encode()
    for _ in range(GiB // CHUNK):
        yield block
    yield b"\n\n"


def a_million_tiny_data_lines() -> Iterator[bytes]:
    """One event of a million two-character ``data:`` lines (not interned by CPython)."""
    lines_per_chunk = 4096
    for start in range(0, 1_000_000, lines_per_chunk):
        yield b"".join(b"data: %02d\n" % (n % 100) for n in range(start, start + lines_per_chunk))
    yield b"\n"


@dataclass
class Sent:
    bytes: int = 0
    disconnected: asyncio.Event | None = None


def lazy_handler(
    stream: Callable[[], Iterator[bytes]], sent: Sent
) -> Callable[[web.Request], object]:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        try:
            for chunk in stream():
                await response.write(chunk)
                sent.bytes += len(chunk)
            for _ in range(1000):  # then comments until the client leaves (bounded)
                await asyncio.sleep(0.01)
                await response.write(b":\n")
        except (ConnectionError, asyncio.CancelledError):
            assert sent.disconnected is not None
            sent.disconnected.set()
            raise
        return response

    return handler


async def hit_the_limit(stream: Callable[[], Iterator[bytes]]) -> tuple[ProtocolError, Sent]:
    """Read ``stream`` with ``max_event_size=LIMIT``; return the error and what was sent."""
    sent = Sent(disconnected=asyncio.Event())
    async with SSEServer() as server:
        server.handle("/", lazy_handler(stream, sent))  # type: ignore[arg-type]
        es = EventSource(server.url_for("/"), max_event_size=LIMIT, retry=0.001)
        with anyio.fail_after(60):
            async with es:
                with pytest.raises(ProtocolError) as caught:
                    async for _ in es:
                        pass  # pragma: no cover - no event is ever complete
            assert sent.disconnected is not None
            await sent.disconnected.wait()  # the server stops streaming when we leave
    assert len(server.requests) == 1  # a broken limit is fatal: no reconnect
    return caught.value, sent


STREAMS = {
    "no newline ever": no_newline_ever,
    "a 1 GiB data line": one_gib_data_line,
    "a million tiny data lines": a_million_tiny_data_lines,
}


async def peak_growth(stream: Callable[[], Iterator[bytes]]) -> tuple[int, ProtocolError, Sent]:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        error, sent = await hit_the_limit(stream)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - before, error, sent


@pytest.mark.parametrize("name", list(STREAMS))
async def test_a_hostile_stream_fails_with_protocol_error_naming_the_limit_in_bounded_time(
    name: str,
) -> None:
    growth, error, sent = await peak_growth(STREAMS[name])
    print(f"{name}: peak growth {growth / MiB:.1f} MiB, sent {sent.bytes / MiB:.1f} MiB")
    assert "max_event_size" in str(error)
    assert error.limit == LIMIT
    # Bounded time: the client stopped reading soon after the limit; the server
    # stopped streaming when it left (never a GiB).
    assert sent.bytes < 64 * MiB


@pytest.mark.parametrize("name", ["no newline ever", "a 1 GiB data line"])
async def test_one_huge_line_keeps_peak_memory_within_8x_max_event_size(name: str) -> None:
    growth, _, _ = await peak_growth(STREAMS[name])
    assert growth < MEMORY_BOUND, f"peak growth {growth / MiB:.1f} MiB"


async def test_a_million_tiny_data_lines_keep_peak_memory_within_8x_max_event_size() -> None:
    growth, _, _ = await peak_growth(a_million_tiny_data_lines)
    assert growth < MEMORY_BOUND, f"peak growth {growth / MiB:.1f} MiB"


def _measure_in_fresh_process() -> None:  # pragma: no cover - runs in a subprocess
    import resource

    async def main() -> None:
        await hit_the_limit(one_gib_data_line)

    async def warm_up() -> None:
        # Import and set up everything once, so the baseline includes it.
        await hit_the_limit(lambda: iter([b"data: " + b"w" * (LIMIT + 1)]))

    anyio.run(warm_up)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    anyio.run(main)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"before": before, "after": after}))


async def test_peak_rss_of_a_fresh_process_stays_bounded_on_a_1_gib_line() -> None:
    code = "import tests.test_limits as t; t._measure_in_fresh_process()"
    result = await anyio.run_process(
        [sys.executable, "-c", code], cwd=ROOT, check=False, stderr=subprocess.STDOUT
    )
    assert result.returncode == 0, result.stdout.decode()
    figures = json.loads(result.stdout.decode().strip().splitlines()[-1])
    growth = figures["after"] - figures["before"]
    print(f"1 GiB line: peak RSS growth {growth / MiB:.1f} MiB")
    assert growth < MEMORY_BOUND, f"peak RSS grew {growth / MiB:.1f} MiB"
