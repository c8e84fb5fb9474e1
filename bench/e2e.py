"""End-to-end benchmark: SSE clients against one loopback server, in one run.

Starts bench/server.py in its own process, then runs every driver in its own
process, interleaved (A B C ... A B C ...) for several rounds per workload,
each run verified (event count + crc32 of all data, or body crc for the raw
readers). Prints, per workload, median events/s and MB/s (wire bytes of the
response body), the min-max spread, ratios to the raw_aiohttp and raw_lines
floors, and, once our client exists, our ratio to the best peer and the best
async peer. Then a latency table (1,000 events, one every 2 ms; delivery delay of
each event, p50/p99) and, on request, a fan-out table (1,000 concurrent
connections from one process: events/s and peak KiB per connection of a
burst, KiB per connection of as many open, idle streams, fds after close).
Last, issue 14's targets (the TARGET_* constants) against this run's medians.

    python bench/e2e.py --quick                 # < 60 s
    python bench/e2e.py                         # ~10 minutes
    python bench/e2e.py --workloads small,llm --drivers raw_lines,httpx_sse --rounds 3
    python bench/e2e.py --modes fanout          # fan-out: 1,000 connections, one process

Raw results also go to bench/results/e2e-<time>.json (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from drivers import Driver, registry  # noqa: E402

WORKLOADS = ("small", "llm", "crlf", "large", "huge")
MB = 1e6

# Issue 14's targets, checked against this run's medians (print_targets).
#: `async for` over the fastest peer of any kind (sync or async), events/s.
TARGET_OVER_PEER = 2.0
TARGET_OVER_PEER_WORKLOADS = ("small", "llm", "crlf")
#: batches() over raw_lines, events/s, on every workload.
TARGET_BATCHES_OVER_RAW_LINES = 0.5
#: Large events over raw_lines, MB/s; and huge within 20% of large (linear time).
TARGET_BIG_OVER_RAW_LINES = 0.7
TARGET_HUGE_OVER_LARGE = 0.8
#: Latency: p99 at most this times raw_lines' p99.
TARGET_P99_OVER_RAW_LINES = 1.5
#: Fan-out: KiB per connection at most the best peer's and this times the lean raw reader's.
TARGET_FANOUT_OVER_RAW = 1.5
#: The client's own paths: what the targets are checked for.
OURS = ("ours_async_for", "ours_batches")


@dataclass
class Cell:
    """All runs of one driver on one workload."""

    rates: list[float] = field(default_factory=list)  # events/s
    mbps: list[float] = field(default_factory=list)  # wire MB/s
    error: str = ""


def run_driver(
    driver: Driver,
    url: str,
    expect: dict[str, int],
    timeout: float,
    latency: bool = False,
    fanout: int = 0,
    held: bool = False,
) -> dict[str, Any]:
    cmd = [
        sys.executable,
        "-m",
        "drivers",
        "--driver",
        driver.name,
        "--url",
        url,
        "--events",
        str(expect["events"]),
        "--crc",
        str(expect.get("crc", 0)),
        "--data-bytes",
        str(expect.get("data_bytes", 0)),
        "--body-bytes",
        str(expect.get("body_bytes", 0)),
        "--body-crc",
        str(expect.get("body_crc", 0)),
    ]
    if latency:
        cmd.append("--latency")
    if fanout:
        cmd += ["--fanout", str(fanout)]
    if held:
        cmd.append("--held")
    try:
        proc = subprocess.run(cmd, cwd=BENCH, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timeout after {timeout:.0f} s"}
    lines = proc.stdout.strip().splitlines()
    if not lines:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"ok": False, "error": f"exit {proc.returncode}: {tail[0]}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def start_server(
    quick: bool, workloads: list[str]
) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    cmd = [sys.executable, str(BENCH / "server.py"), "--workloads", ",".join(workloads)]
    if quick:
        cmd.append("--quick")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the server prints its port once the workloads are built
    if not line:
        proc.kill()
        raise SystemExit("the benchmark server did not start")
    info: dict[str, Any] = json.loads(line)
    return proc, info


def fmt_rate(v: float) -> str:
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    if v >= 1e3:
        return f"{v / 1e3:.1f}k"
    return f"{v:.1f}"


def fmt_ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def table(rows: list[list[str]], header: list[str], left: int = 1) -> str:
    """Columns padded to their widest cell; the first ``left`` flush left, the rest right."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        cells = [c.ljust(w) for c, w in zip(r[:left], widths[:left], strict=True)] + [
            c.rjust(w) for c, w in zip(r[left:], widths[left:], strict=True)
        ]
        lines.append("  ".join(cells))
    return "\n".join(lines)


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else 0.0


def throughput(
    args: argparse.Namespace, drivers: list[Driver], info: dict[str, Any], log: dict[str, Any]
) -> None:
    port = info["port"]
    skipped: dict[str, str] = {}
    drivers = [d for d in drivers if d.throughput]
    summary = log["summary"].setdefault("throughput", {})
    for name in args.workloads:
        expect = info["workloads"][name]
        url = f"http://127.0.0.1:{port}/{name}"
        cells = {d.name: Cell() for d in drivers}
        t0 = time.perf_counter()
        for _ in range(args.rounds):
            for d in drivers:
                cell = cells[d.name]
                if d.name in skipped or cell.error:
                    continue  # a failure is not retried: it would fail again, slowly
                r = run_driver(d, url, expect, args.timeout)
                log["runs"].append({"workload": name, **r})
                if "skip" in r:
                    skipped[d.name] = r["skip"]
                elif not r.get("ok"):
                    cell.error = r.get("error", "failed")
                else:
                    cell.rates.append(expect["events"] / r["elapsed"])
                    cell.mbps.append(expect["body_bytes"] / r["elapsed"] / MB)
        wall = time.perf_counter() - t0
        print_workload(name, expect, drivers, cells, skipped, args.rounds, wall)
        summary[name] = {
            n: {"rate": median(c.rates), "mbps": median(c.mbps)}
            for n, c in cells.items()
            if c.rates and not c.error
        }
    for name, why in skipped.items():
        print(f"skipped {name}: {why}")


def print_workload(
    name: str,
    expect: dict[str, int],
    drivers: list[Driver],
    cells: dict[str, Cell],
    skipped: dict[str, str],
    rounds: int,
    wall: float,
) -> None:
    med = {n: median(c.rates) for n, c in cells.items()}
    rows = []
    for d in drivers:
        if d.name in skipped:
            continue
        c = cells[d.name]
        if c.error or not c.rates:
            rows.append([d.name, "FAIL", "", c.error[:60], "", ""])
            continue
        spread = f"{fmt_rate(min(c.rates))}-{fmt_rate(max(c.rates))}"
        rows.append(
            [
                d.name,
                fmt_rate(med[d.name]),
                f"{median(c.mbps):.0f}",
                spread,
                fmt_ratio(med[d.name], med.get("raw_aiohttp", 0)),
                fmt_ratio(med[d.name], med.get("raw_lines", 0)),
            ]
        )
    print(
        f"\n## {name}: {expect['events']:,} events, {expect['body_bytes'] / MB:.1f} MB, "
        f"{rounds} rounds, {wall:.0f} s"
    )
    header = ["driver", "events/s", "MB/s", "spread (min-max ev/s)", "/raw_aiohttp", "/raw_lines"]
    print(table(rows, header))
    mbps = {n: median(c.mbps) for n, c in cells.items()}
    # the server must outrun every parsing client (raw_aiohttp only reads bytes)
    clients = [d.name for d in drivers if d.feeds in ("str", "bytes") and mbps.get(d.name)]
    if mbps.get("raw_socket") and clients:
        fastest = max(clients, key=lambda n: mbps[n])
        factor = mbps["raw_socket"] / mbps[fastest]
        verdict = "not the bottleneck" if factor >= 2 else "CLOSE TO THE BOTTLENECK"
        print(
            f"server check: raw_socket {mbps['raw_socket']:.0f} MB/s = {factor:.1f}x "
            f"the fastest parsing client ({fastest}): server {verdict}"
        )
    peers = [d for d in drivers if d.group == "peer" and med.get(d.name)]
    if not peers:
        return
    best = max(peers, key=lambda d: med[d.name])
    async_peers = [d for d in peers if d.is_async]
    best_async = max(async_peers, key=lambda d: med[d.name]) if async_peers else None
    for d in drivers:
        if d.group != "ours" or not med.get(d.name):
            continue
        line = f"{d.name}: {fmt_ratio(med[d.name], med[best.name])} best peer ({best.name})"
        if best_async is not None:
            line += (
                f", {fmt_ratio(med[d.name], med[best_async.name])} "
                f"best async peer ({best_async.name})"
            )
        print(line)


def latency(
    args: argparse.Namespace, drivers: list[Driver], info: dict[str, Any], log: dict[str, Any]
) -> None:
    n, ms = args.latency_events, args.latency_ms
    url = f"http://127.0.0.1:{info['port']}/latency?n={n}&ms={ms:g}"
    # Interleaved rounds (A B C ... A B C ...), as for throughput: the p99 of a
    # few hundred events is a handful of deliveries, and machine noise moves it.
    p50s: dict[str, list[float]] = {}
    p99s: dict[str, list[float]] = {}
    errors: dict[str, str] = {}
    todo = [d for d in drivers if d.latency and d.throughput]
    for _ in range(args.latency_rounds):
        for d in todo:
            if d.name in errors:
                continue
            r = run_driver(d, url, {"events": n}, timeout=n * ms / 1000 + 30, latency=True)
            log["runs"].append({"workload": "latency", **r})
            if "skip" in r:
                errors[d.name] = "skip"
            elif not r.get("ok"):
                errors[d.name] = r.get("error", "failed")
            else:
                p50s.setdefault(d.name, []).append(r["p50_us"])
                p99s.setdefault(d.name, []).append(r["p99_us"])
    rows = []
    for d in todo:
        if errors.get(d.name) == "skip":
            continue
        if d.name in errors:
            rows.append([d.name, "FAIL", errors[d.name][:60], ""])
            continue
        p99 = p99s[d.name]
        rows.append(
            [
                d.name,
                f"{median(p50s[d.name]) / 1e3:.3f}",
                f"{median(p99) / 1e3:.3f}",
                f"{min(p99) / 1e3:.3f}-{max(p99) / 1e3:.3f}",
            ]
        )
    print(
        f"\n## latency: {n} events, one every {ms:g} ms, median of {args.latency_rounds} "
        "interleaved runs"
    )
    print(table(rows, ["driver", "p50 ms", "p99 ms", "p99 spread"]))
    log["summary"]["latency"] = {n: median(v) for n, v in p99s.items() if n not in errors}


def fan_out(
    args: argparse.Namespace, drivers: list[Driver], info: dict[str, Any], log: dict[str, Any]
) -> None:
    """Interleaved rounds of N concurrent connections per driver; medians per driver.

    Two runs per driver and round, each in a fresh process: a burst (N streams
    of 1,000 events at once: peak RSS) and, unless ``--no-held``, N held
    streams (10 events each, then idle and open: RSS at that moment). Peak RSS
    moves by 10-15% from run to run (aiohttp alone measured 83-97 KiB per
    connection at 10,000): the median of a few rounds, and the ratio of
    medians, say more than one run does.
    """
    n = args.connections
    port = info["port"]
    kinds = {"burst": ("fanout", False)}
    if args.held:
        kinds["held"] = ("held", True)
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    failed: dict[tuple[str, str], str] = {}
    todo = [d for d in drivers if d.is_async and d.feeds != "wire"]
    for _ in range(args.fanout_rounds):
        for d in todo:
            for kind, (path, held) in kinds.items():
                key = (d.name, kind)
                if key in failed:
                    continue  # one failure (a timeout, say) is enough: do not wait for it again
                expect = info["workloads"][path]
                url = f"http://127.0.0.1:{port}/{path}"
                r = run_driver(d, url, expect, args.timeout * 2, fanout=n, held=held)
                log["runs"].append({"workload": path, **r})
                if "skip" in r:
                    failed[key] = ""
                elif not r.get("ok"):
                    failed[key] = r.get("error", "failed")[:60]
                else:
                    runs.setdefault(key, []).append(r)
    rows = []
    kib: dict[str, float] = {}
    held_kib: dict[str, float] = {}
    for d in todo:
        if failed.get((d.name, "burst")):
            rows.append([d.name, "FAIL", failed[d.name, "burst"], "", "", "", "", ""])
            continue
        rs = runs.get((d.name, "burst"))
        if not rs:
            continue
        kibs = [r["kib_per_conn"] for r in rs]
        kib[d.name] = median(kibs)
        hs = runs.get((d.name, "held"), [])
        held_cells = ["", ""]
        if failed.get((d.name, "held")):
            held_cells = ["FAIL", failed[d.name, "held"][:30]]
        elif hs:
            hkibs = [r["kib_per_conn"] for r in hs]
            held_kib[d.name] = median(hkibs)
            held_cells = [f"{held_kib[d.name]:.0f}", f"{min(hkibs):.0f}-{max(hkibs):.0f}"]
        fds = sorted({f"{r['fds_before']} -> {r['fds_after']}" for r in rs + hs})
        rows.append(
            [
                d.name,
                fmt_rate(median([r["events"] / r["elapsed"] for r in rs])),
                f"{median([r['elapsed'] for r in rs]):.2f}",
                f"{kib[d.name]:.0f}",
                f"{min(kibs):.0f}-{max(kibs):.0f}",
                *held_cells,
                ", ".join(fds),
            ]
        )
    events = info["workloads"]["fanout"]["events"]
    print(
        f"\n## fan-out: {n} connections x {events:,} events from one process, "
        f"median of {args.fanout_rounds} rounds"
    )
    header = ["driver", "events/s", "seconds", "KiB/conn", "spread"]
    header += ["held KiB/conn", "spread", "fds before -> after"]
    print(table(rows, header))
    peers = [d.name for d in todo if d.group == "peer"]
    for label, figures in (("", kib), ("held: ", held_kib)):
        base = figures.get("raw_aiohttp")
        mine = [p for p in peers if p in figures]
        best = min(mine, key=figures.__getitem__) if mine else ""
        for name in figures:
            if not name.startswith("ours_"):
                continue
            ratios = []
            if base:
                ratios.append(f"{figures[name] / base:.2f}x raw_aiohttp (lean)")
            if best:
                ratios.append(f"{figures[name] / figures[best]:.2f}x the leanest peer ({best})")
            print(f"{label}{name}: {', '.join(ratios)}")
    log["summary"]["fanout"] = {"connections": n, "kib": kib, "held_kib": held_kib}


def print_targets(summary: dict[str, Any]) -> None:
    """Issue 14's targets against this run's medians: one row per check."""
    rows: list[list[str]] = []

    def check(target: str, driver: str, ratio: float, goal: float, detail: str, low: bool) -> None:
        met = ratio <= goal if low else ratio >= goal
        rows.append([target, driver, f"{ratio:.2f}x{detail}", "yes" if met else "NO"])

    known = registry()
    tput: dict[str, dict[str, dict[str, float]]] = summary.get("throughput", {})
    for workload in TARGET_OVER_PEER_WORKLOADS:
        med = tput.get(workload, {})
        peers = [n for n in med if known[n].group == "peer"]
        if "ours_async_for" in med and peers:
            best = max(peers, key=lambda n: med[n]["rate"])
            ratio = med["ours_async_for"]["rate"] / med[best]["rate"]
            goal = f"{workload}: >= {TARGET_OVER_PEER}x fastest peer"
            check(goal, "ours_async_for", ratio, TARGET_OVER_PEER, f" ({best})", low=False)
    for workload, med in tput.items():
        if "ours_batches" in med and "raw_lines" in med:
            ratio = med["ours_batches"]["rate"] / med["raw_lines"]["rate"]
            goal = f"{workload}: >= {TARGET_BATCHES_OVER_RAW_LINES}x raw_lines"
            check(goal, "ours_batches", ratio, TARGET_BATCHES_OVER_RAW_LINES, "", low=False)
    for workload in ("large", "huge"):
        med = tput.get(workload, {})
        for name in OURS:
            if name in med and "raw_lines" in med:
                ratio = med[name]["mbps"] / med["raw_lines"]["mbps"]
                goal = f"{workload}: >= {TARGET_BIG_OVER_RAW_LINES}x raw_lines MB/s"
                check(goal, name, ratio, TARGET_BIG_OVER_RAW_LINES, "", low=False)
    large, huge = tput.get("large", {}), tput.get("huge", {})
    for name in OURS:
        if name in large and name in huge:
            a, b = huge[name]["mbps"], large[name]["mbps"]
            goal = f"linear: huge MB/s >= {TARGET_HUGE_OVER_LARGE}x large"
            check(goal, name, a / b, TARGET_HUGE_OVER_LARGE, f" ({a:.0f} vs {b:.0f})", low=False)
    p99 = summary.get("latency", {})
    for name in OURS:
        if name in p99 and p99.get("raw_lines"):
            ratio = p99[name] / p99["raw_lines"]
            goal = f"latency: p99 <= {TARGET_P99_OVER_RAW_LINES}x raw_lines"
            detail = f" ({p99[name] / 1e3:.3f} vs {p99['raw_lines'] / 1e3:.3f} ms)"
            check(goal, name, ratio, TARGET_P99_OVER_RAW_LINES, detail, low=True)
    fan = summary.get("fanout", {})
    kib: dict[str, float] = fan.get("kib", {})
    peers = [n for n in kib if known[n].group == "peer"]
    for name in ("ours_async_for", "ours_batches"):
        if name not in kib:
            continue
        if peers:
            best = min(peers, key=kib.__getitem__)
            goal = f"fan-out {fan['connections']}: KiB/conn <= the leanest peer"
            detail = f" ({kib[name]:.0f} vs {kib[best]:.0f}, {best})"
            check(goal, name, kib[name] / kib[best], 1.0, detail, low=True)
        if kib.get("raw_aiohttp"):
            goal = f"fan-out {fan['connections']}: KiB/conn <= {TARGET_FANOUT_OVER_RAW}x raw"
            detail = f" ({kib[name]:.0f} vs {kib['raw_aiohttp']:.0f}, raw_aiohttp lean)"
            check(goal, name, kib[name] / kib["raw_aiohttp"], TARGET_FANOUT_OVER_RAW, detail, True)
    if rows:
        print("\n## targets (issue 14), from this run's medians")
        print(table(rows, ["target", "driver", "measured", "met"], left=4))


def open_files_for(connections: int) -> None:
    """Raise this process's open-file limit (the server's and the drivers' too) for a fan-out.

    Each connection is a socket on each side: a default limit of 1,024 stops a
    fan-out of 10,000 at its first connections. The soft limit goes up to the
    hard one; past that, the run is refused with what to change.
    """
    want = 2 * connections + 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < want:
        top = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (top, hard))
        if top < want:
            raise SystemExit(
                f"fan-out at {connections} connections needs {want} open files; the hard "
                f"limit is {hard}: raise it (ulimit -Hn) or pass fewer --connections"
            )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small workloads, 2 rounds: < 60 s")
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--drivers", default="", help="comma-separated; default: all")
    p.add_argument("--rounds", type=int, default=0, help="default 5 (quick: 2)")
    p.add_argument("--timeout", type=float, default=0, help="per run, s (default 120; quick 20)")
    p.add_argument(
        "--modes", default="throughput,latency", help="any of throughput,latency,fanout"
    )
    p.add_argument(
        "--latency-events", type=int, default=None, help="latency: events a run (default 1000)"
    )
    p.add_argument(
        "--latency-ms", type=float, default=2.0, help="latency: ms between events (default 2)"
    )
    p.add_argument("--connections", type=int, default=0, help="fan-out (default 1000)")
    p.add_argument("--fanout-rounds", type=int, default=3, help="fan-out rounds (default 3)")
    p.add_argument(
        "--no-held", dest="held", action="store_false", help="fan-out: skip the held-streams runs"
    )
    args = p.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    args.rounds = args.rounds or (2 if args.quick else 5)
    args.timeout = args.timeout or (20 if args.quick else 120)
    args.workloads = [w for w in args.workloads.split(",") if w]
    args.connections = args.connections or (200 if args.quick else 1000)
    if args.latency_events is None:
        args.latency_events = 100 if args.quick else 1000
    args.latency_rounds = 1 if args.quick else 5

    known = registry()
    names = [n for n in args.drivers.split(",") if n] or list(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown drivers: {', '.join(unknown)}; known: {', '.join(known)}")
    drivers = [known[n] for n in names]
    if "fanout" in args.modes.split(","):
        open_files_for(args.connections)

    load0 = os.getloadavg()
    print(
        f"# e2e {time.strftime('%Y-%m-%d %H:%M:%S %Z')}  python {platform.python_version()}  "
        f"{os.cpu_count()} cpus  load {load0[0]:.2f}  quick {args.quick}  rounds {args.rounds}"
    )
    t0 = time.perf_counter()
    server, info = start_server(args.quick, args.workloads)
    log: dict[str, Any] = {"args": vars(args), "info": info, "runs": [], "summary": {}}
    try:
        modes = args.modes.split(",")
        if "throughput" in modes:
            throughput(args, drivers, info, log)
        if "latency" in modes:
            latency(args, drivers, info, log)
        if "fanout" in modes:
            fan_out(args, drivers, info, log)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print_targets(log["summary"])
    load1 = os.getloadavg()
    print(
        f"\nload average {load0[0]:.2f} -> {load1[0]:.2f}; total {time.perf_counter() - t0:.0f} s"
    )
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    path = out / f"e2e-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(log, indent=1))
    print(f"raw results: {path.relative_to(BENCH.parent)}")


if __name__ == "__main__":
    main()
