"""End-to-end benchmark drivers: one small function per client library.

A driver connects to ``url``, reads the stream, and hands the data of every
event to ``sink(data)`` in order; it stops as soon as ``sink`` returns True
(the expected count is reached, so clients that reconnect after EOF never
reconnect). ``sink`` keeps every event's data and, once the clock has
stopped, checks the count and a crc32 of all of it, so a driver cannot skip
work. Each run happens in its own process: ``python -m drivers`` (see
``__main__.py``), started by ``bench/e2e.py``.

Signatures:
    async def name(url: str, sink: Callable[[str], bool]) -> None   (is_async)
    def name(url: str, sink: Callable[[str], bool]) -> None

``feeds`` says what the sink gets: "str" (event data), "bytes" (event data as
bytes), "body" (response body chunks, no parsing), "wire" (raw socket bytes).
A driver whose library is missing raises ``Skip``. Modules named in
``imports`` are imported before the clock starts (an import of aiohttp alone
costs ~80 ms), so the time covers connect + read + parse only. ``cleanup``,
if set, is awaited once after the last connection of a process and after the
clock (drivers whose connections share one session close it there), before
open fds are counted.

Adding a driver: write the function in raw.py, peers.py or ours.py and add a
``Driver(...)`` line to that module's ``DRIVERS`` list.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

Sink = Callable[[Any], bool]


class Skip(Exception):
    """The driver cannot run here (a library is missing)."""


@dataclass(frozen=True)
class Driver:
    name: str
    func: Callable[[str, Sink], Any]
    is_async: bool
    feeds: str = "str"  # "str" | "bytes" | "body" | "wire"
    group: str = "peer"  # "floor" | "peer" | "ours"
    latency: bool = True  # can run the latency mode (needs events)
    imports: tuple[str, ...] = ()  # imported before the clock starts
    throughput: bool = True  # runs in throughput mode (False: fan-out only)
    cleanup: Callable[[], Awaitable[None]] | None = None  # after the clock, before fds count


def registry() -> dict[str, Driver]:
    """All drivers by name, in table order: floors, peers, ours."""
    from . import ours, peers, raw

    return {d.name: d for mod in (raw, peers, ours) for d in mod.DRIVERS}
