"""Parser throughput: eventsource.Parser against httpx-sse's decode path, in one run.

Usage: python bench/parser.py [--quick] [--rounds N] [--only NAME] [--no-gc] [--base SRC]

Each workload is one byte string, fed whole, as 64 KiB chunks (a transport's
read) and as 4 KiB chunks. httpx-sse is run end to end without a network: an
``httpx.Response`` whose body yields the same chunks, read with
``httpx_sse.EventSource(response).iter_sse()`` (its text decoder, its SSE line
splitter and its field decoder). ``raw-lines`` is the floor, not a peer: a
``bytes.split`` loop that keeps ``data:`` values as bytes and knows nothing
else of the spec (the ``raw_lines`` driver of bench/e2e.py without aiohttp).
``--base SRC`` adds the parser of another checkout (its ``src`` directory,
e.g. main's) as ``base``: a before/after in one run, on the same machine state.
All must agree on the event count and a CRC of every event's data. Rounds
interleave the implementations; the table shows medians of process CPU time
and the spread of rounds.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import platform
import statistics
import sys
import time
import timeit
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

try:
    import httpx_sse
except ImportError:  # not a dependency of the package: the peer we compare with
    sys.exit("bench/parser.py compares with httpx-sse: .venv/bin/pip install httpx-sse")

from eventsource import MessageEvent
from eventsource.decode import Parser

CHUNK = 4096


@dataclass
class Workload:
    name: str
    stream: bytes
    events: int


def chat(count: int) -> Workload:
    # ~60 bytes of JSON data, an id on every event: a chat or notification feed.
    parts = []
    for i in range(count):
        data = json.dumps({"user": f"u{i % 997}", "text": "see you at 10?", "seq": i})
        parts.append(f"id: {i}\ndata: {data}\n\n")
    return Workload("a. chat, 60 B JSON + id", "".join(parts).encode(), count)


def large(count: int, size: int = 64 * 1024, line: int = 1024) -> Workload:
    # Events of `size` bytes of data, split over `line`-sized data: lines.
    body = "".join(f"data: {'x' * (line - 1)}{i % 10}\n" for i in range(size // line))
    block = (body + "\n").encode()
    return Workload(f"b. {count} x 64 KiB events, 1 KiB lines", block * count, count)


def tokens(count: int) -> Workload:
    # The shape of an LLM token stream (OpenAI-style chat completion chunks).
    block = b'data: {"choices":[{"delta":{"content":"tok"}}]}\n\n'
    return Workload("c. LLM tokens", block * count, count)


def crlf(count: int) -> Workload:
    # The chat feed with CRLF line breaks, as some servers (and proxies) send it.
    workload = chat(count)
    return Workload("e. chat, CRLF", workload.stream.replace(b"\n", b"\r\n"), count)


def typed(count: int) -> Workload:
    # Typed events: an event: line, then data (the shape of Anthropic-style LLM streams).
    block = b'event: content_block_delta\ndata: {"type":"text_delta","text":"tok"}\n\n'
    return Workload("f. typed events (event: + data:)", block * count, count)


def feed(count: int) -> Workload:
    # An id, a type and data on every event: a change feed (or a recent-changes firehose).
    parts = []
    for i in range(count):
        data = json.dumps({"op": "update", "table": "orders", "row": i % 9973, "v": i})
        parts.append(f"id: {i}\nevent: change\ndata: {data}\n\n")
    return Workload("g. change feed (id: + event: + data:)", "".join(parts).encode(), count)


def single(mib: int) -> Workload:
    line = b"data: " + b"y" * 1017 + b"\n"  # 1 KiB lines
    stream = line * (mib * 1024) + b"\n"
    return Workload(f"d. one {mib} MiB event", stream, 1)


def chunks_of(stream: bytes, size: int | None) -> list[bytes]:
    if size is None:
        return [stream]
    return [stream[i : i + size] for i in range(0, len(stream), size)]


def run_ours(chunks: list[bytes]) -> list[str]:
    parser = Parser(max_event_size=1 << 30)
    datas: list[str] = []
    for chunk in chunks:
        # feed() returns comments too (none here): a consumer tells them apart.
        datas += [item.data for item in parser.feed(chunk) if isinstance(item, MessageEvent)]
    return datas


def load_base(src: str) -> Callable[[list[bytes]], list[str]]:
    """``run_ours`` for the parser of the package in ``src``, imported as eventsource_base."""
    init = Path(src) / "eventsource" / "__init__.py"
    spec = importlib.util.spec_from_file_location(
        "eventsource_base", init, submodule_search_locations=[str(init.parent)]
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    # Parser lives in the public module eventsource.decode (older checkouts: at the top).
    decode = (
        module if hasattr(module, "Parser") else importlib.import_module(f"{spec.name}.decode")
    )
    parser_class, event_class = decode.Parser, module.MessageEvent

    def run_base(chunks: list[bytes]) -> list[str]:
        parser = parser_class(max_event_size=1 << 30)
        datas: list[str] = []
        for chunk in chunks:
            datas += [item.data for item in parser.feed(chunk) if isinstance(item, event_class)]
        return datas

    return run_base


def run_httpx_sse(chunks: list[bytes]) -> list[str]:
    def body() -> Iterator[bytes]:
        yield from chunks

    response = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body())
    return [sse.data for sse in httpx_sse.EventSource(response).iter_sse()]


def run_raw_lines(chunks: list[bytes]) -> list[bytes]:
    pending = b""
    data: list[bytes] = []
    datas: list[bytes] = []
    for chunk in chunks:
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        for line in lines:
            if line[-1:] == b"\r":
                line = line[:-1]
            if not line:
                if data:
                    datas.append(b"\n".join(data))
                    data = []
            elif line[:5] == b"data:":
                data.append(line[6:] if line[5:6] == b" " else line[5:])
    return datas


IMPLEMENTATIONS: dict[str, Callable[[list[bytes]], list[str] | list[bytes]]] = {
    "eventsource": run_ours,
    "httpx-sse": run_httpx_sse,
    "raw-lines": run_raw_lines,
}


def checksum(datas: list[str] | list[bytes]) -> tuple[int, int]:
    crc = 0
    for data in datas:
        crc = zlib.crc32(data if isinstance(data, bytes) else data.encode(), crc)
    return len(datas), crc


GC_DURING_RUNS = True


def timed(
    run: Callable[[list[bytes]], list[str] | list[bytes]], chunks: list[bytes]
) -> tuple[float, list[str] | list[bytes]]:
    # CPU time of this process: on a shared two-core box, time spent descheduled
    # behind other processes is noise, not parsing.
    gc.collect()
    if not GC_DURING_RUNS:
        gc.disable()
    start = time.process_time()
    datas = run(chunks)
    elapsed = time.process_time() - start
    gc.enable()
    return elapsed, datas


def spread(samples: list[float]) -> float:
    return (max(samples) - min(samples)) / statistics.median(samples)


def bench(workloads: list[Workload], rounds: int) -> None:
    modes: list[tuple[str, int | None]] = [("whole", None), ("64 KiB", 65536), ("4 KiB", CHUNK)]
    print(
        f"{'workload':37} {'feed':6} {'impl':12} {'events/s':>12} {'MB/s':>8}"
        f" {'spread':>7} {'ours/impl':>10}"
    )
    for workload in workloads:
        mb = len(workload.stream) / 1e6
        for mode, size in modes:
            chunks = chunks_of(workload.stream, size)
            times: dict[str, list[float]] = {name: [] for name in IMPLEMENTATIONS}
            for _ in range(rounds):
                sums = set()
                for name, run in IMPLEMENTATIONS.items():
                    seconds, datas = timed(run, chunks)
                    times[name].append(seconds)
                    sums.add(checksum(datas))
                    del datas
                if len(sums) != 1 or next(iter(sums))[0] != workload.events:
                    sys.exit(f"MISMATCH on {workload.name} ({mode}): {sums}")
            ours = statistics.median(times["eventsource"])
            for name in IMPLEMENTATIONS:
                median = statistics.median(times[name])
                ratio = f"{median / ours:9.2f}x" if name != "eventsource" else ""
                print(
                    f"{workload.name:37} {mode:6} {name:12} {workload.events / median:12,.0f}"
                    f" {mb / median:8.1f} {spread(times[name]):6.0%} {ratio:>10}".rstrip()
                )


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--quick", action="store_true", help="small workloads, 3 rounds")
    options.add_argument("--rounds", type=int, default=None)
    options.add_argument("--only", default="", help="comma-separated parts of workload names")
    options.add_argument("--no-gc", action="store_true", help="disable gc during timed runs")
    options.add_argument("--base", help="the src directory of another checkout, run as 'base'")
    args = options.parse_args()
    if args.base:
        IMPLEMENTATIONS["base"] = load_base(args.base)
    global GC_DURING_RUNS
    GC_DURING_RUNS = not args.no_gc
    scale = 10 if args.quick else 1
    rounds = args.rounds or (3 if args.quick else 5)
    workloads = [
        chat(200_000 // scale),
        large(2_000 // scale),
        tokens(200_000 // scale),
        crlf(200_000 // scale),
        typed(200_000 // scale),
        feed(200_000 // scale),
        *(single(mib) for mib in ((2, 4, 8) if args.quick else (16, 32, 64))),
    ]
    wanted = args.only.split(",")
    workloads = [w for w in workloads if any(part in w.name for part in wanted)]
    print(
        f"python {platform.python_version()} on {platform.machine()},"
        f" httpx {httpx.__version__}, httpx-sse {_version('httpx-sse')};"
        f" {rounds} interleaved rounds, median CPU time; spread = (max - min) / median"
    )
    bench(workloads, rounds)
    construction_costs()


def construction_costs() -> None:
    # Where the time of a small event goes: building the event object alone.
    from eventsource import MessageEvent
    from eventsource._event import message_events

    def cost(make: Callable[[], object], per: int = 1) -> float:
        return min(timeit.repeat(make, number=100_000 // per, repeat=5)) / 100_000 * 1e9

    ours = cost(lambda: MessageEvent("message", "tok", "", ""))
    columns = (["message"] * 1000, ["tok"] * 1000, [""] * 1000)
    batch = cost(lambda: message_events(*columns, ""), per=1000)
    theirs = cost(lambda: httpx_sse.ServerSentEvent("", "tok", "", None))
    print(
        f"constructing one event: MessageEvent(...) {ours:.0f} ns, the parser's"
        f" message_events() {batch:.0f} ns (in 1,000s), httpx_sse.ServerSentEvent {theirs:.0f} ns"
    )


def _version(distribution: str) -> str:
    from importlib.metadata import version

    return version(distribution)


if __name__ == "__main__":
    main()
