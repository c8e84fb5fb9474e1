"""Loopback HTTP/1.1 SSE server for the end-to-end benchmark.

Plain asyncio, no framework: every workload is encoded once at start-up,
already framed with chunked transfer encoding in 64 KiB chunks, and written
from memory, so the server is never the bottleneck (``--selftest`` proves it
with a raw socket reader that discards bytes).

Paths:
    /small /llm /crlf /large /huge /fanout   pre-encoded streams, then EOF
    /held                                    10 small events, then the stream stays
                                             open (no EOF) until the client leaves
    /warmup                                  the same 10 events, then EOF
    /latency?n=400&ms=5                      one event every ``ms`` milliseconds,
                                             data = "<seq> <time.time_ns()>"

On start it prints one JSON line: the port and, for each workload, what a
client must see (events, crc32 over the UTF-8 data of every event in order,
data bytes, body bytes).

Usage: python bench/server.py [--quick] [--port 0] [--selftest]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import sys
import time
import zlib
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

CHUNK = 64 * 1024
WRITE_BATCH = 16  # chunks written before each drain(): 1 MiB

HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: text/event-stream\r\n"
    b"Cache-Control: no-cache\r\n"
    b"Transfer-Encoding: chunked\r\n"
    b"Connection: close\r\n"
    b"\r\n"
)
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@dataclass
class Workload:
    name: str
    events: int
    crc: int
    data_bytes: int
    body: bytes
    frames: list[bytes]

    def expect(self) -> dict[str, int]:
        return {
            "events": self.events,
            "crc": self.crc,
            "data_bytes": self.data_bytes,
            "body_bytes": len(self.body),
            "body_crc": zlib.crc32(self.body),
        }


def frame(body: bytes, size: int = CHUNK) -> list[bytes]:
    """Chunked transfer encoding: one frame per ``size`` bytes, then the last chunk."""
    out = []
    for start in range(0, len(body), size):
        piece = body[start : start + size]
        out.append(b"%x\r\n%b\r\n" % (len(piece), piece))
    out.append(b"0\r\n\r\n")
    return out


def _small_data(i: int) -> str:
    # about 60 bytes of JSON, different for every event
    return f'{{"seq":{i},"user":"user-{i % 9973:04d}","text":"hello, world","ok":true}}'


def _block_lines(i: int, lines: int, width: int) -> list[str]:
    # printable ASCII lines that differ per event and per line
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    out = []
    for j in range(lines):
        k = (i * 31 + j * 7) % len(alphabet)
        row = (alphabet[k:] + alphabet[:k]) * (width // len(alphabet) + 1)
        out.append(row[:width])
    return out


# events per workload: full runs, and --quick runs. `large` and `huge` carry about
# the same megabytes (132 and 136 MB; 33 and 34 quick), so their MB/s compare event
# sizes and not run lengths: with 16 `huge` events (17 MB) a run's fixed cost
# (connecting, the first reads) made even the raw socket read `huge` at 0.54-0.69x
# its `large` MB/s (bench/README.md, "Linear: the same megabytes").
SIZES = {"small": 200_000, "llm": 200_000, "crlf": 200_000, "large": 2_000, "huge": 128}
QUICK = {"small": 50_000, "llm": 50_000, "crlf": 50_000, "large": 500, "huge": 32}
WORKLOADS = tuple(SIZES)
#: Events of /held before it goes quiet (fan-out's held memory: streams open, idle).
HELD = 10


def build(name: str, quick: bool = False) -> Workload:
    """Encode one workload (fewer events with ``quick``)."""
    n = {"fanout": 1_000, "held": HELD}.get(name) or (QUICK if quick else SIZES)[name]
    parts: list[str] = []
    crc = 0
    data_bytes = 0
    eol = "\n"
    if name in ("small", "crlf", "fanout", "held"):
        eol = "\r\n" if name == "crlf" else "\n"
        datas = [_small_data(i) for i in range(n)]
        parts = [f"id: {i}{eol}data: {d}{eol}{eol}" for i, d in enumerate(datas)]
    elif name == "llm":
        datas = ['{"choices":[{"delta":{"content":"tok"}}]}'] * n
        parts = [f"data: {d}\n\n" for d in datas]
    elif name in ("large", "huge"):
        lines, width = (64, 1023) if name == "large" else (2_048, 511)
        datas = []
        for i in range(n):
            rows = _block_lines(i, lines, width)
            datas.append("\n".join(rows))
            parts.append("".join(f"data: {r}\n" for r in rows) + "\n")
    else:
        raise ValueError(f"unknown workload {name!r}")
    for d in datas:
        b = d.encode()
        crc = zlib.crc32(b, crc)
        data_bytes += len(b)
    body = "".join(parts).encode()
    return Workload(name, len(datas), crc, data_bytes, body, frame(body))


async def _serve_latency(writer: asyncio.StreamWriter, query: str) -> None:
    q = parse_qs(query)
    n = int(q.get("n", ["400"])[0])
    interval = float(q.get("ms", ["5"])[0]) / 1000
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i in range(n):
        payload = f"id: {i}\ndata: {i} {time.time_ns()}\n\n".encode()
        writer.write(b"%x\r\n%b\r\n" % (len(payload), payload))
        await writer.drain()
        # absolute schedule: no drift from the time spent writing
        delay = start + (i + 1) * interval - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
    writer.write(b"0\r\n\r\n")


def make_handler(workloads: dict[str, Workload]):  # type: ignore[no-untyped-def]
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            target = head.split(b" ", 2)[1].decode()
            parts = urlsplit(target)
            name = parts.path.strip("/")
            if name == "latency":
                writer.write(HEAD)
                await _serve_latency(writer, parts.query)
            elif name == "warmup":  # /held's events, then EOF: a short whole stream
                writer.write(HEAD)
                writer.writelines(workloads["held"].frames)
            elif name == "held":
                writer.write(HEAD)
                writer.writelines(workloads[name].frames[:-1])  # not the last chunk
                await writer.drain()
                await reader.read()  # quiet until the client closes
            elif name in workloads:
                writer.write(HEAD)
                frames = workloads[name].frames
                for start in range(0, len(frames), WRITE_BATCH):
                    writer.writelines(frames[start : start + WRITE_BATCH])
                    await writer.drain()
            else:
                writer.write(NOT_FOUND)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away (drivers may stop before EOF)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    return handle


def raw_read(port: int, path: str, timeout: float = 60.0) -> tuple[int, float]:
    """Read a whole response with a blocking socket, discarding bytes: (bytes, seconds)."""
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        buf = bytearray(1 << 20)
        view = memoryview(buf)
        total = 0
        while True:
            got = sock.recv_into(view)
            if not got:
                break
            total += got
    return total, time.perf_counter() - t0


async def main_async(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    names = args.workloads.split(",")
    workloads = {name: build(name, args.quick) for name in [*names, "fanout", "held"]}
    build_s = time.perf_counter() - t0
    server = await asyncio.start_server(
        make_handler(workloads), "127.0.0.1", args.port, backlog=4096
    )
    port = server.sockets[0].getsockname()[1]
    info = {
        "port": port,
        "build_s": round(build_s, 3),
        "workloads": {k: w.expect() for k, w in workloads.items()},
    }
    print(json.dumps(info), flush=True)
    async with server:
        if args.selftest:
            for name in names:
                best = 0.0
                for _ in range(3):
                    total, secs = await asyncio.to_thread(raw_read, port, f"/{name}")
                    best = max(best, total / secs / 1e6)
                print(f"server {name:6} {total / 1e6:8.1f} MB  best of 3: {best:8.0f} MB/s")
            return
        await server.serve_forever()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="fewer events per workload")
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--selftest", action="store_true", help="print the server's own rate, exit")
    args = p.parse_args()
    try:
        asyncio.run(main_async(args))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
