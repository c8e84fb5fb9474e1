"""Run one driver once and print one JSON line (used by bench/e2e.py).

python -m drivers --driver raw_lines --url http://127.0.0.1:PORT/small \\
    --events 200000 --crc 123 --data-bytes 456 --body-bytes 789 --body-crc 12

Throughput and latency modes first read /warmup (10 events, then EOF) with
the same driver in the same event loop, before the clock starts.
Throughput mode: the sink keeps every event's data; after the clock stops,
the count, a crc32 over all data and the byte total are checked against the
workload (``ok``). Fan-out mode uses a running crc32 instead, so the memory
it measures is the clients' own.
Fan-out mode (``--fanout N``, async drivers only): N concurrent connections
from this one process, each verified; the result carries events/s over all,
KiB per connection (peak RSS minus RSS before) and fds left open after close.
With ``--held`` the streams (bench/server.py's /held) send a few events and
stay open: once every connection has had them, RSS minus RSS before is what
N open, idle streams hold; then the tasks are cancelled and fds counted.
Latency mode (``--latency``): data is "<seq> <time_ns>"; the sink records
the delivery delay of every event and the result carries p50/p99/max.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import json
import os
import sys
import time
import traceback
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zlib import crc32

from . import Driver, Skip, registry

#: Events of bench/server.py's /warmup, the stream each driver reads before the clock.
WARMUP_EVENTS = 10


class Tally:
    """What the sink saw: count, crc32 of the data in order, bytes."""

    def __init__(self) -> None:
        self.events = 0
        self.crc = 0
        self.size = 0
        self.delays_ns: list[int] = []
        self.in_order = True


def throughput_sink(driver: Driver, expect: int, tally: Tally) -> Any:
    """A crc32-as-you-go sink: what fan-out uses, where memory is measured."""
    if driver.feeds == "wire":

        def wire(n: int) -> bool:
            tally.size += n
            return False

        return wire
    if driver.feeds == "body":

        def body(chunk: bytes) -> bool:
            tally.crc = crc32(chunk, tally.crc)
            tally.size += len(chunk)
            return False

        return body
    # Locals in a closure: the per-event cost is the same small constant for all.
    events = 0
    crc = 0
    size = 0

    def on_bytes(data: bytes) -> bool:
        nonlocal events, crc, size
        crc = crc32(data, crc)
        size += len(data)
        events += 1
        if events >= expect:
            tally.events, tally.crc, tally.size = events, crc, size
            return True
        return False

    def on_str(data: str) -> bool:
        return on_bytes(data.encode())

    def flush() -> None:
        if tally.events != events:  # the stream ended early: keep what was seen
            tally.events, tally.crc, tally.size = events, crc, size

    sink = on_bytes if driver.feeds == "bytes" else on_str
    sink.flush = flush  # type: ignore[attr-defined]
    return sink


def keeping_sink(driver: Driver, expect: int, tally: Tally) -> Any:
    """The timed sink: keep every event's data, check count, crc32 and bytes after the clock.

    Each event costs one list append, the same for every driver, so the table
    compares clients rather than the checksum (a crc32 per event, with the
    encode of ``str`` data, cost 0.3-0.5 us: more than some clients' own work).
    Nothing can be skipped: ``flush()`` checks every kept value.
    """
    if driver.feeds in ("wire", "body"):
        return throughput_sink(driver, expect, tally)
    kept: list[Any] = []
    keep = kept.append

    def on_data(data: Any) -> bool:
        keep(data)
        return len(kept) >= expect

    def flush() -> None:
        crc = size = 0
        for data in kept:
            raw = data.encode() if isinstance(data, str) else data
            crc = crc32(raw, crc)
            size += len(raw)
        tally.events, tally.crc, tally.size = len(kept), crc, size
        kept.clear()

    on_data.flush = flush  # type: ignore[attr-defined]
    return on_data


def latency_sink(driver: Driver, expect: int, tally: Tally) -> Any:
    def on_data(data: str | bytes) -> bool:
        now = time.time_ns()
        seq, _, stamp = data.partition(" " if isinstance(data, str) else b" ")
        if int(seq) != tally.events:
            tally.in_order = False
        tally.delays_ns.append(now - int(stamp))
        tally.events += 1
        return tally.events >= expect

    return on_data


def percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])


def _proc_status(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])  # kB
    return 0


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def held(driver: Driver, args: argparse.Namespace) -> dict[str, Any]:
    """N streams open at once, each past its first events and idle: RSS held per connection."""
    tallies = [Tally() for _ in range(args.fanout)]
    body = driver.feeds == "body"

    def sink_for(tally: Tally) -> Any:
        def on_chunk(chunk: bytes) -> bool:
            tally.size += len(chunk)
            return False

        def on_data(data: Any) -> bool:
            tally.events += 1
            return False

        return on_chunk if body else on_data

    def arrived() -> int:
        if body:
            return sum(t.size >= args.body_bytes for t in tallies)
        return sum(t.events >= args.events for t in tallies)

    async def main() -> tuple[float, int, int, int, int, int]:
        gc.collect()
        rss0, fds0 = _proc_status("VmRSS"), _fds()
        t0 = time.perf_counter()
        tasks = [asyncio.ensure_future(driver.func(args.url, sink_for(t))) for t in tallies]
        deadline = t0 + args.held_timeout
        while arrived() < len(tallies) and time.perf_counter() < deadline:
            if any(t.done() for t in tasks):
                break  # a stream that ended or failed: it cannot be held
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - t0
        ready = arrived()
        await asyncio.sleep(0.2)  # let the last reads settle
        gc.collect()
        rss1 = _proc_status("VmRSS")
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if driver.cleanup is not None:
            await driver.cleanup()
        await asyncio.sleep(0.5)  # let closed transports go
        gc.collect()
        return elapsed, rss0, rss1, fds0, _fds(), ready

    elapsed, rss0, rss1, fds0, fds1, ready = asyncio.run(main())
    out: dict[str, Any] = {
        "driver": driver.name,
        "elapsed": elapsed,
        "ok": ready == args.fanout,
        "events": ready * args.events,
        "connections": args.fanout,
        "kib_per_conn": (rss1 - rss0) / args.fanout,
        "fds_before": fds0,
        "fds_after": fds1,
    }
    if ready != args.fanout:
        out["error"] = f"{args.fanout - ready} connections did not get their events"
    return out


def fanout(driver: Driver, args: argparse.Namespace) -> dict[str, Any]:
    if not driver.is_async or driver.feeds == "wire":
        raise Skip("fan-out needs an async driver that reads the response")
    tallies = [Tally() for _ in range(args.fanout)]

    async def main() -> tuple[float, int, int, int]:
        gc.collect()
        rss0, fds0 = _proc_status("VmRSS"), _fds()
        sinks = [throughput_sink(driver, args.events, t) for t in tallies]
        t0 = time.perf_counter()
        try:
            await asyncio.gather(*(driver.func(args.url, s) for s in sinks))
            elapsed = time.perf_counter() - t0
        finally:
            if driver.cleanup is not None:
                await driver.cleanup()
        for s in sinks:
            if hasattr(s, "flush"):
                s.flush()
        del sinks
        await asyncio.sleep(0.5)  # let closed transports go
        gc.collect()
        return elapsed, rss0, fds0, _fds()

    elapsed, rss0, fds0, fds1 = asyncio.run(main())
    peak = _proc_status("VmHWM")
    if driver.feeds == "body":  # raw_aiohttp: the body's bytes, no events to count
        want = (args.body_bytes, args.body_crc)
        bad = sum((t.size, t.crc) != want for t in tallies)
        total = args.events * (args.fanout - bad)
    else:
        want = (args.events, args.crc, args.data_bytes)
        bad = sum((t.events, t.crc, t.size) != want for t in tallies)
        total = sum(t.events for t in tallies)
    out: dict[str, Any] = {
        "driver": driver.name,
        "elapsed": elapsed,
        "ok": bad == 0,
        "events": total,
        "connections": args.fanout,
        "kib_per_conn": (peak - rss0) / args.fanout,
        "fds_before": fds0,
        "fds_after": fds1,
    }
    if bad:
        out["error"] = f"{bad} connections failed verification"
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    driver = registry()[args.driver]
    for module in driver.imports:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise Skip(str(exc)) from exc
    if args.fanout and args.held:
        if not driver.is_async or driver.feeds == "wire":
            raise Skip("fan-out needs an async driver that reads the response")
        return held(driver, args)
    if args.fanout:
        return fanout(driver, args)
    tally = Tally()
    make = latency_sink if args.latency else keeping_sink
    sink = make(driver, args.events, tally)

    # One short stream first, in the same process and loop, for every driver:
    # what a process pays once (imports done on first use, such as anyio's
    # backend, 11 ms) is not what a stream costs, and a service pays it once.
    warm_url = urlunsplit(urlsplit(args.url)._replace(path="/warmup", query=""))

    async def timed() -> float:
        await driver.func(warm_url, throughput_sink(driver, WARMUP_EVENTS, Tally()))
        t0 = time.perf_counter()
        try:
            await driver.func(args.url, sink)
            return time.perf_counter() - t0
        finally:
            if driver.cleanup is not None:
                await driver.cleanup()  # after the clock

    if driver.is_async:
        elapsed = asyncio.run(timed())
    else:
        driver.func(warm_url, throughput_sink(driver, WARMUP_EVENTS, Tally()))
        t0 = time.perf_counter()
        driver.func(args.url, sink)
        elapsed = time.perf_counter() - t0
    if hasattr(sink, "flush"):
        sink.flush()

    out: dict[str, Any] = {"driver": driver.name, "elapsed": elapsed}
    if args.latency:
        ok = tally.events == args.events and tally.in_order
        out |= {"ok": ok, "events": tally.events}
        if tally.delays_ns:
            out |= {
                "p50_us": percentile(tally.delays_ns, 0.50) / 1e3,
                "p99_us": percentile(tally.delays_ns, 0.99) / 1e3,
                "max_us": max(tally.delays_ns) / 1e3,
            }
    elif driver.feeds == "wire":
        out |= {"ok": tally.size >= args.body_bytes, "events": args.events, "bytes": tally.size}
    elif driver.feeds == "body":
        ok = tally.size == args.body_bytes and tally.crc == args.body_crc
        out |= {"ok": ok, "events": args.events, "bytes": tally.size}
    else:
        ok = (tally.events, tally.crc, tally.size) == (args.events, args.crc, args.data_bytes)
        out |= {"ok": ok, "events": tally.events, "bytes": tally.size}
    if not out["ok"]:
        out["error"] = "verification failed (count, crc32 or bytes differ from the workload)"
    return out


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m drivers", description=__doc__.split("\n")[0])
    p.add_argument("--driver", required=True)
    p.add_argument("--url", required=True)
    p.add_argument("--events", type=int, required=True)
    p.add_argument("--crc", type=int, default=0)
    p.add_argument("--data-bytes", type=int, default=0)
    p.add_argument("--body-bytes", type=int, default=0)
    p.add_argument("--body-crc", type=int, default=0)
    p.add_argument("--latency", action="store_true")
    p.add_argument("--fanout", type=int, default=0, help="concurrent connections")
    p.add_argument("--held", action="store_true", help="fan-out: idle open streams' memory")
    p.add_argument("--held-timeout", type=float, default=120, help="s to get every stream open")
    args = p.parse_args()
    try:
        out = run(args)
    except Skip as exc:
        out = {"driver": args.driver, "skip": str(exc)}
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        out = {"driver": args.driver, "ok": False, "error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
