"""The ``eventsource`` command: tail any SSE stream, like curl but reconnecting and resuming.

Turns the arguments (``_cli_args`` parses them) into one :class:`EventSource`,
and writes each event with a formatter from ``_cli_format`` (errors worded by
``_cli_errors``; stdout and stderr in ``_cli_output``). The top layer: imports
the public API, never the other way round.
"""

from __future__ import annotations

import argparse
import codecs
import io
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TextIO
from urllib.parse import urlsplit

import anyio

from ._cli_args import build_parser
from ._cli_errors import describe_error
from ._cli_format import Formatter, is_terminal, make_formatter, use_color
from ._cli_output import StdoutError, discard_stdout, library_logging, note, write
from ._errors import EventSourceError
from ._event import ErrorEvent, Event, MessageEvent
from ._sendable_url import check_url
from ._source import EventSource
from .transports import AiohttpTransport, Transport

__all__ = ["main", "make_command"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


@dataclass
class Command:
    """What one run of the command does: the EventSource options and the output."""

    url: str
    options: dict[str, Any]
    formatter: Formatter
    types: frozenset[str]
    max_events: int | None
    verbose: int
    quiet: bool = False


def _read_data(value: str) -> bytes:
    if value == "@-":
        return sys.stdin.buffer.read()
    if value.startswith("@"):
        with open(value[1:], "rb") as file:
            return file.read()
    return value.encode()


def make_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Command:
    """Turn parsed arguments into a :class:`Command`; bad values exit through ``parser``."""
    url = args.url.strip()
    if url and "://" not in url:
        url = f"http://{url}"
    try:
        url = check_url(url)  # the library's own check: refused now, not retried
    except ValueError as exc:
        parser.error(str(exc))
    headers = dict(args.header)
    body: bytes | None = None
    if args.data is not None:
        try:
            body = _read_data(args.data)
        except OSError as exc:
            parser.error(f"--data: cannot read {args.data[1:]!r}: {exc.strerror}")
    if args.json_body is not None:
        try:
            json.loads(args.json_body)
        except ValueError as exc:
            parser.error(f"--json: not valid JSON: {exc}")
        body = args.json_body.encode()
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
    method = args.method or ("POST" if body is not None else "GET")
    options: dict[str, Any] = {
        "headers": headers,
        "secret_headers": args.secret_header,  # more than the library's own
        "method": method.upper(),
        "body": body,
        "last_event_id": args.last_event_id,
        "retry": args.retry,
        "read_timeout": args.timeout,
        "reconnect": not args.no_reconnect,
        "transport": args.transport,
    }
    if args.connect_timeout is not None:  # else the library's default
        options["connect_timeout"] = args.connect_timeout
    if args.max_event_size is not None:
        options["max_event_size"] = args.max_event_size
    if args.until_data:
        options["stop_when"] = _data_in(frozenset(args.until_data))
    if args.until_event:
        options["stop_after"] = _type_in(frozenset(args.until_event))
    if args.insecure:
        options["transport"] = _insecure_transport(args.transport)
    color = use_color(args.color, sys.stdout, os.environ)
    return Command(
        url=url,
        options=options,
        formatter=make_formatter(
            args.format,
            color=color,
            escape=is_terminal(sys.stdout),
            ascii_only=not _writes_utf8(sys.stdout),
        ),
        types=frozenset(args.events),
        max_events=args.max_events,
        verbose=args.verbose,
        quiet=args.quiet,
    )


def _data_in(sentinels: frozenset[str]) -> Callable[[MessageEvent], bool]:
    return lambda event: event.data in sentinels


def _type_in(types: frozenset[str]) -> Callable[[MessageEvent], bool]:
    return lambda event: event.type in types


def _insecure_transport(name: str | None) -> Transport:
    # --insecure: the named transport, without TLS verification.
    if name == "httpx":
        from .transports import HttpxTransport

        return HttpxTransport(verify=False)
    return AiohttpTransport(verify=False)


def _writes_utf8(stream: TextIO | None) -> bool:
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:  # an encoding Python does not know: take no chances
        return False


def _endpoint(url: str) -> str:
    # Lifecycle lines name the endpoint without its query (it may hold a token).
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


def _seconds(delay: float | None) -> str:
    delay = delay or 0.0
    return f"{delay:.1f}" if delay >= 1 else f"{delay:.2f}"


def _report_listeners(es: EventSource, command: Command) -> None:
    """Report ``open`` and ``error`` events on stderr (they fire during ``async for`` too).

    By default each failure that will be retried is one line, so that a
    refused port or an unknown host is not a silent loop; so is a stream
    that ends again with no event since the attempt before. ``-q`` drops
    those lines, ``-v`` adds the connects, the attempt numbers and a clean
    end of stream after events.
    """
    verbose = command.verbose > 0
    connected = False

    def on_open(event: Event) -> None:
        nonlocal connected
        connected = True
        if verbose:
            resume = f" (Last-Event-ID: {es.last_event_id})" if es.last_event_id else ""
            note(f"connected to {_endpoint(es.url)}{resume}")

    def on_error(event: ErrorEvent) -> None:
        nonlocal connected
        lost, connected = connected, False
        wait = _seconds(event.delay)
        attempt = f" (attempt {event.attempt})" if verbose else ""
        if event.reconnecting and event.error is not None:
            if command.quiet:
                return
            why = describe_error(event.error)
            if lost:
                note(f"connection lost ({why}); reconnecting in {wait} s{attempt}")
            else:
                note(f"{why}; retrying in {wait} s{attempt}")
        elif event.reconnecting:
            if event.attempt > 1 and not command.quiet:
                # No event since the last attempt either: a server that answers and
                # hangs up at once would otherwise be a silent, backing-off loop.
                note(f"stream ended without an event; reconnecting in {wait} s{attempt}")
            elif verbose:
                note(f"stream ended; reconnecting in {wait} s{attempt}")
        elif event.error is None and verbose:
            note(f"server answered {event.status}: not reconnecting")
        # A fatal error is reported once, by main(), as the last line.

    es.onopen = on_open
    es.onerror = on_error


async def tail(command: Command, out: TextIO) -> int:
    """Connect and write every matching event to ``out`` until done; the exit status.

    Raises:
        EventSourceError: the stream failed for good.
        StdoutError: ``out`` refused an event.
    """
    count = 0
    if command.options["body"] is not None and command.options["reconnect"] and not command.quiet:
        # A POST that starts a job (an LLM's completion) would run once per reconnect.
        note("the request body is sent again on every reconnect; --no-reconnect sends it once")
    async with EventSource(command.url, **command.options) as es:
        if command.verbose:
            note(f"connecting to {_endpoint(es.url)}")
        _report_listeners(es, command)
        async for event in es:
            if command.types and event.type not in command.types:
                continue
            write(out, command.formatter.format(event, datetime.now(timezone.utc)))
            count += 1
            if command.max_events is not None and count >= command.max_events:
                break
    if command.verbose:
        note(f"done after {count} event{'s' * (count != 1)}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``eventsource URL [options]``, ``eventsource demo-server`` or ``eventsource demo``.

    Args:
        argv: The command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 done, 1 the stream failed, 2 bad usage, 130 interrupted.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "demo-server":
        from .testing import main as serve

        return serve(argv[1:], prog="eventsource demo-server")
    if argv and argv[0] == "demo":
        from ._demo import main as demo

        return demo(argv[1:], prog="eventsource demo")
    parser = build_parser()
    command = make_command(parser.parse_args(argv), parser)
    with library_logging(command.verbose > 1):
        return _run(command)


def _run(command: Command) -> int:
    if sys.stdout is None:  # started with stdout closed (`>&-`): no event could be shown
        note("cannot write to stdout: it is closed")
        return EXIT_FAILED
    if isinstance(sys.stdout, io.TextIOWrapper):
        # A character the output's encoding lacks (an ASCII locale) is shown as \xNN:
        # an event is not lost to the terminal's settings.
        sys.stdout.reconfigure(errors="backslashreplace")
    try:
        return anyio.run(tail, command, sys.stdout)
    except EventSourceError as exc:
        note(describe_error(exc))
        return EXIT_FAILED
    except StdoutError as exc:
        note(f"cannot write to stdout: {exc}")
        discard_stdout()
        return EXIT_FAILED
    except (ValueError, TypeError, ImportError) as exc:  # refused before connecting
        note(str(exc))
        return EXIT_USAGE
    except BrokenPipeError:  # pragma: no cover - tested through a subprocess (a closed pipe)
        # The reader went away (`| head`): stop quietly.
        discard_stdout()
        return EXIT_OK
    except KeyboardInterrupt:  # pragma: no cover - tested through a subprocess (SIGINT)
        return EXIT_INTERRUPTED
