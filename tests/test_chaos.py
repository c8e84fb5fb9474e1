"""Chaos soak: every event exactly once, in order, through seeded random faults.

A client with ``Last-Event-ID`` resume reads a stream from the fault-injecting
server of ``_chaos`` (cuts mid-event, mid-line and mid-character, resets,
stalls past ``read_timeout``, 500/502/503, ``retry:`` changes, trickled
bytes). The short version runs in ``make test``; ``make soak`` runs the long
one (``-m soak --soak-long``). Each prints one line: events, faults by kind,
lost and duplicated.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import anyio
import pytest

from eventsource import EventSource, RetryPolicy, retry_transient

from ._chaos import FAULT_KINDS, ChaosServer, event_data

pytestmark = pytest.mark.asyncio

SHORT_EVENTS, SHORT_MIN_FAULTS = 5_000, 100
LONG_EVENTS, LONG_MIN_FAULTS = 100_000, 2_000


@dataclass
class SoakResult:
    events: int
    received: int = 0
    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    corrupted: int = 0
    connections: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total_faults(self) -> int:
        return sum(self.faults.values())

    def line(self, name: str) -> str:
        kinds = ", ".join(f"{kind}={self.faults.get(kind, 0)}" for kind in FAULT_KINDS)
        return (
            f"{name}: events={self.events} received={self.received} "
            f"faults={self.total_faults} ({kinds}) connections={self.connections} "
            f"lost={self.lost} duplicated={self.duplicated} out_of_order={self.out_of_order} "
            f"corrupted={self.corrupted} seconds={self.seconds:.1f}"
        )


async def soak(total: int, *, seed: int, transport: str = "aiohttp") -> SoakResult:
    """Read ``total`` events through the chaos server and account for every one."""
    result = SoakResult(total)
    seen: set[int] = set()
    last = 0
    began = time.perf_counter()
    async with ChaosServer(total, seed=seed) as server:
        es = EventSource(
            server.url,
            retry=0.001,
            retry_policy=RetryPolicy(backoff_factor=1.0, min_retry=0.0),  # the soak changes retry:
            read_timeout=0.05,
            status_policy=retry_transient({500, 502, 503}),  # the faults it injects
            transport=transport,  # type: ignore[arg-type]
        )
        # A guard against a hang only; the loop ends when the last id arrives.
        with anyio.fail_after(max(120.0, total / 50)):
            async with es:
                async for event in es:
                    n = int(event.last_event_id)
                    result.received += 1
                    if n in seen:
                        result.duplicated += 1
                    seen.add(n)
                    if n <= last:
                        result.out_of_order += 1
                    last = max(last, n)
                    if event.data != event_data(n):
                        result.corrupted += 1
                    if n == total:
                        break
        result.faults = dict(server.faults)
        result.connections = server.connections
    result.lost = total - len(seen)
    result.seconds = time.perf_counter() - began
    return result


def check(result: SoakResult, min_faults: int, *, every_kind: bool = True) -> None:
    assert result.lost == 0
    assert result.duplicated == 0
    assert result.out_of_order == 0
    assert result.corrupted == 0
    assert result.total_faults >= min_faults
    if every_kind:
        assert all(result.faults.get(kind, 0) > 0 for kind in FAULT_KINDS), result.faults


async def test_short_soak_delivers_every_event_exactly_once_in_order_through_faults(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = await soak(SHORT_EVENTS, seed=20240501)
    with capsys.disabled():
        print("\n" + result.line("chaos soak (short)"))
    check(result, SHORT_MIN_FAULTS)


async def test_short_soak_over_httpx_delivers_every_event_exactly_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = await soak(1_000, seed=7, transport="httpx")
    with capsys.disabled():
        print("\n" + result.line("chaos soak (short, httpx)"))
    check(result, 20, every_kind=False)


@pytest.mark.soak
@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_long_soak_delivers_every_event_exactly_once_in_order_through_faults(
    soak_long: bool, transport: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if not soak_long:
        pytest.skip("the long soak runs with --soak-long (make soak)")
    result = await soak(LONG_EVENTS, seed=1, transport=transport)
    with capsys.disabled():
        print("\n" + result.line(f"chaos soak (long, {transport})"))
    check(result, LONG_MIN_FAULTS)
