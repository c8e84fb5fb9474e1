"""The ``eventsource`` command's arguments: its options, their checks and its help.

:func:`build_parser` is the grammar of ``eventsource URL [options]``; each
option's type refuses a bad value with a usage error (exit status 2) before
anything connects, with the library's own checks (a header, a last event ID).
``_cli`` turns the parsed arguments into a run.
"""

from __future__ import annotations

import argparse
import math

from ._cli_format import FORMATS
from ._sendable import check_headers

__all__ = ["EXAMPLES", "build_parser"]

EXAMPLES = """\
examples:
  eventsource http://127.0.0.1:8000/stream
  eventsource localhost:8000/stream --event message -n 10
  eventsource https://api.example/v1/stream -H "Authorization: Bearer $TOKEN" -v
  eventsource https://llm.internal/v1/chat/completions --no-reconnect \\
      --until-data '[DONE]' --json '{"model": "m", "stream": true, "messages": []}'
  eventsource URL --format jsonl | jq -r .data
  eventsource URL --last-event-id 41 --format raw > events.txt

subcommands:
  eventsource demo-server [--port N] [--interval S]   a chat room on 127.0.0.1 to try it on
  eventsource demo                                    the `make demo` scenario

exit status: 0 done (-n, --until-data or --until-event reached, the server
answered 204, or a one-shot stream ended), 1 the stream failed (the reason is
printed on stderr), 2 bad usage, 130 interrupted (Ctrl-C), 143 stopped by
SIGTERM (each event printed before it was flushed).
"""


def _version() -> str:
    from . import __version__

    return __version__


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):  # float() reads "nan" and "inf" too
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def _positive_float(text: str) -> float:
    value = _finite_float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0: {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    value = _finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def _header(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    if not colon or not name.strip():
        raise argparse.ArgumentTypeError(f'expected "Name: value", got {text!r}')
    try:
        [(name, value)] = check_headers({name.strip(): value}).items()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return name, value


def _header_name(text: str) -> str:
    try:
        check_headers({text: ""})
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _last_event_id(text: str) -> str:
    try:
        check_headers({"Last-Event-ID": text})
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``eventsource URL [options]``."""
    parser = argparse.ArgumentParser(
        prog="eventsource",
        description=(
            "Print the events of a Server-Sent Events stream as they arrive; "
            "reconnect and resume with Last-Event-ID like a browser."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("url", help="the stream URL (http:// is assumed without a scheme)")
    parser.add_argument("--version", action="version", version=f"eventsource {_version()}")

    request = parser.add_argument_group("request")
    request.add_argument(
        "-H",
        "--header",
        action="append",
        type=_header,
        default=[],
        metavar='"NAME: VALUE"',
        help="send this header (repeatable)",
    )
    request.add_argument(
        "--secret-header",
        action="append",
        type=_header_name,
        default=[],
        metavar="NAME",
        help="never send this -H header after a redirect to another origin, as Authorization "
        "and Cookie (repeatable; x-api-key, api-key, x-goog-api-key and x-auth-token "
        "are secret already)",
    )
    request.add_argument(
        "-X", "--method", help="the HTTP method (default: GET, or POST with a body)"
    )
    body = request.add_mutually_exclusive_group()
    body.add_argument(
        "-d", "--data", metavar="DATA", help="request body: a string, @FILE, or @- for stdin"
    )
    body.add_argument(
        "--json",
        metavar="JSON",
        dest="json_body",
        help="a JSON request body, sent with Content-Type: application/json",
    )
    request.add_argument(
        "--last-event-id",
        type=_last_event_id,
        default="",
        metavar="ID",
        help="resume after this id",
    )
    request.add_argument(
        "--insecure", action="store_true", help="do not verify the server's TLS certificate"
    )
    request.add_argument(
        "--transport",
        choices=("aiohttp", "httpx"),
        default="aiohttp",
        help="the HTTP library (httpx needs the httpx extra)",
    )

    stream = parser.add_argument_group("stream")
    stream.add_argument(
        "--event",
        action="append",
        default=[],
        metavar="TYPE",
        dest="events",
        help="print only events of this type (repeatable)",
    )
    stream.add_argument(
        "-n", "--max-events", type=_positive_int, metavar="N", help="exit after N events"
    )
    stream.add_argument(
        "--until-data",
        action="append",
        default=[],
        metavar="DATA",
        help="exit at the first event whose data is exactly DATA, without printing it "
        "(e.g. '[DONE]'; repeatable)",
    )
    stream.add_argument(
        "--until-event",
        action="append",
        default=[],
        metavar="TYPE",
        help="exit after the first event of this type, printed (e.g. message_stop; repeatable)",
    )
    stream.add_argument(
        "--timeout",
        type=_positive_float,
        metavar="SECONDS",
        help="reconnect when no byte (heartbeats included) arrives for this long",
    )
    stream.add_argument(
        "--connect-timeout",
        type=_positive_float,
        metavar="SECONDS",
        help="give up a connection attempt that has no response by then, and retry (default: 30)",
    )
    stream.add_argument(
        "--retry",
        type=_non_negative_float,
        default=3.0,
        metavar="SECONDS",
        help="initial reconnection time (0: at once, then backing off); the server's retry: "
        "replaces it (default: 3)",
    )
    stream.add_argument(
        "--max-event-size",
        type=_positive_int,
        metavar="BYTES",
        help="the longest line (bytes) or event data (characters) accepted; "
        "a longer one fails the stream (default: 16777216, 16 MiB)",
    )
    stream.add_argument(
        "--no-reconnect",
        action="store_true",
        help="one-shot: end at the end of the body, fail on a network error",
    )

    output = parser.add_argument_group("output")
    output.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text (default), jsonl (one JSON object per event), raw (the wire form)",
    )
    output.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="color text output (auto: on a terminal, unless NO_COLOR is set)",
    )
    chatter = output.add_mutually_exclusive_group()
    chatter.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="also report connects and the end on stderr (-vv: debug logging)",
    )
    chatter.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="do not report failed attempts that will be retried, nor that a body is sent "
        "again on each reconnect (a final failure still is reported)",
    )
    return parser
