"""Last-event-id stores: throughput with each store against the same run without one.

Starts bench/server.py (the ``small`` workload: every event has an ``id:``, so
every event changes the ID to save) and, when ``redis-server`` is installed,
a Redis on a free 127.0.0.1 port in a temporary folder. Then, in interleaved
rounds, one ``async for`` over the whole stream per store, in this process:
no store, ``FileLastEventIdStore``, ``SQLiteLastEventIdStore``,
``RedisLastEventIdStore`` and, for scale, ``StrictStore(FileLastEventIdStore)``.
A ticker task sleeps 1 ms in a loop meanwhile: how late it wakes is how long
the event loop was held up (by parsing and handing out events, as without a
store, and by saves, if they blocked it).

Prints, per store: median events/s, the ratio to no store (issue 16's target:
>= 0.8x), the number of saves, and the ticker's worst and p99 lateness.

    python bench/stores.py --quick     # ~20 s
    python bench/stores.py             # 200,000 events a run, 5 rounds
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from e2e import fmt_rate, start_server, table  # noqa: E402

from eventsource import EventSource  # noqa: E402
from eventsource.stores import (  # noqa: E402
    FileLastEventIdStore,
    RedisLastEventIdStore,
    SQLiteLastEventIdStore,
    StrictStore,
)

#: Issue 16's target: throughput with a store over the same run without one.
TARGET_OVER_NONE = 0.8


class Counting:
    """Counts the saves that reach the store it wraps (blocking or async)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.saves = 0
        if inspect.iscoroutinefunction(store.save):
            self.load, self.save = self._aload, self._asave  # type: ignore[method-assign]

    def load(self) -> str | None:
        return None  # every run starts from the beginning

    def save(self, last_event_id: str) -> None:
        self.saves += 1
        self.store.save(last_event_id)

    async def _aload(self) -> str | None:
        return None

    async def _asave(self, last_event_id: str) -> None:
        self.saves += 1
        await self.store.save(last_event_id)


@contextmanager
def redis_server(folder: Path) -> Iterator[str | None]:
    executable = shutil.which("redis-server")
    if executable is None:
        yield None
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = [executable, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)]
    args += ["--save", "", "--appendonly", "no", "--logfile", ""]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("redis-server did not start") from None
                time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


async def one_run(
    url: str, expect: int, make: Callable[[], Any] | None, strict: bool
) -> dict[str, float]:
    counting = None if make is None else Counting(make())
    store: Any = StrictStore(counting) if strict else counting
    lags: list[float] = []

    async def ticker() -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append(time.perf_counter() - start - 0.001)

    tick = asyncio.ensure_future(ticker())
    count = 0
    start = time.perf_counter()
    async with EventSource(url, last_event_id_store=store) as es:
        async for _event in es:
            count += 1
            if count == expect:
                break
    elapsed = time.perf_counter() - start  # aclose() waited for the last save
    tick.cancel()
    if count != expect:
        raise SystemExit(f"expected {expect} events, got {count}")
    lags.sort()
    return {
        "rate": count / elapsed,
        "saves": 0 if counting is None else counting.saves,
        "max_lag": lags[-1] if lags else 0.0,
        "p99_lag": lags[int(len(lags) * 0.99)] if lags else 0.0,
    }


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="50,000 events a run, 3 rounds")
    p.add_argument("--rounds", type=int, default=0)
    args = p.parse_args()
    rounds = args.rounds or (3 if args.quick else 5)
    server, info = start_server(args.quick, ["small"])
    folder = Path(tempfile.mkdtemp(prefix="bench-stores-"))
    try:
        url = f"http://127.0.0.1:{info['port']}/small"
        expect = int(info["workloads"]["small"]["events"])
        with redis_server(folder) as redis_url:
            stores: dict[str, tuple[Callable[[], Any] | None, bool]] = {
                "none": (None, False),
                "file": (lambda: FileLastEventIdStore(folder / "last-id"), False),
                "sqlite": (
                    lambda: SQLiteLastEventIdStore(folder / "ids.sqlite", key="bench"),
                    False,
                ),
            }
            if redis_url is not None:
                stores["redis"] = (lambda: RedisLastEventIdStore(redis_url, key="bench"), False)
            stores["strict file"] = (lambda: FileLastEventIdStore(folder / "strict-id"), True)
            results: dict[str, list[dict[str, float]]] = {name: [] for name in stores}
            for _ in range(rounds):
                for name, (make, strict) in stores.items():
                    results[name].append(await one_run(url, expect, make, strict))
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(folder, ignore_errors=True)

    none_rate = statistics.median(r["rate"] for r in results["none"])
    rows = []
    for name, runs in results.items():
        rate = statistics.median(r["rate"] for r in runs)
        ratio = rate / none_rate
        met = "yes" if ratio >= TARGET_OVER_NONE else "no"
        if name in ("none", "strict file"):
            met = "-"  # the baseline; strict pays a save per event, by design
        rows.append(
            [
                name,
                fmt_rate(rate),
                f"{ratio:.2f}x",
                met,
                f"{statistics.median(r['saves'] for r in runs):.0f}",
                f"{max(r['max_lag'] for r in runs) * 1e3:.1f}",
                f"{statistics.median(r['p99_lag'] for r in runs) * 1e3:.2f}",
            ]
        )
    missing = "" if "redis" in results else " (no redis-server: no redis row)"
    print(f"{expect:,} small events a run, {rounds} rounds, medians{missing}")
    header = ["store", "events/s", "vs none", ">= 0.8x", "saves", "max lag ms", "p99 lag ms"]
    print(table(rows, header))


if __name__ == "__main__":
    asyncio.run(main())
