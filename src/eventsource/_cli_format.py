"""How the command line shows events: text (colored on a terminal), JSON lines, raw wire form.

Pure functions and small stateful formatters over :class:`MessageEvent`; no
I/O here beyond asking a stream whether it is a terminal.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, Protocol, TextIO

from ._errors import (
    ConnectError,
    ContentTypeError,
    ProtocolError,
    ReadTimeout,
    RedirectError,
    ResponseError,
)
from ._event import MessageEvent

__all__ = [
    "FORMATS",
    "Formatter",
    "JsonLinesFormatter",
    "RawFormatter",
    "TextFormatter",
    "describe_error",
    "is_terminal",
    "make_formatter",
    "show_controls",
    "use_color",
]

FORMATS = ("text", "jsonl", "raw")

# Plain SGR codes: every terminal that matters understands them.
RESET = "\x1b[0m"
BOLD_CYAN = "\x1b[1;36m"
DIM = "\x1b[2m"
YELLOW = "\x1b[33m"
BLUE = "\x1b[34m"
GREEN = "\x1b[32m"
MAGENTA = "\x1b[35m"

BODY_EXCERPT = 200

# The control characters (C0, DEL, C1) but tab and line feed, shown as \xNN: a
# server's ESC or BEL written to a terminal would clear it, set its title, ...
_SHOWN_CONTROLS = {
    code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0)) if code not in (9, 10)
}
# In JSON text: json.dumps escapes C0 itself, DEL and C1 pass (ensure_ascii=False).
_JSON_CONTROLS = {code: f"\\u{code:04x}" for code in range(0x7F, 0xA0)}


def show_controls(text: str) -> str:
    r"""``text`` with each control character but tab and line feed shown as ``\xNN``."""
    return text.translate(_SHOWN_CONTROLS)


def is_terminal(stream: TextIO | None) -> bool:
    """Whether ``stream`` is a terminal (``None``, a closed stdout, is not)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


def use_color(choice: str, stream: TextIO, environ: Mapping[str, str]) -> bool:
    """Whether to color output: ``always``, ``never``, or ``auto`` (a terminal, no ``NO_COLOR``).

    ``NO_COLOR`` counts when set to a non-empty value (https://no-color.org);
    an explicit ``--color always`` wins over it.
    """
    if choice == "always":
        return True
    if choice == "never":
        return False
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    return is_terminal(stream)


def _causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and what lies behind it, outermost first (bounded: chains may loop)."""
    seen: BaseException | None = error
    for _ in range(16):
        if seen is None:
            return
        yield seen
        seen = seen.__cause__ or seen.__context__


# asyncio.TimeoutError is its own class before Python 3.11.
_TIMEOUTS = (TimeoutError, asyncio.TimeoutError)


def _ssl_words(error: ssl.SSLError) -> str:
    """OpenSSL's reason: why a certificate was refused, or the handshake's error code in words."""
    verify_message = getattr(error, "verify_message", None)
    if verify_message:
        return str(verify_message)
    reason = getattr(error, "reason", None)
    return str(reason).replace("_", " ").lower() if reason else ""


def _network_reason(error: BaseException) -> str | None:
    """What the network did, in words, from the OS or TLS error behind ``error``.

    The transports wrap the same OS errors in different exceptions with
    different texts; the cause they keep is the common ground.
    """
    if isinstance(error, ReadTimeout):
        return "timed out waiting for the server"
    causes = list(_causes(error))
    for cause in causes:
        if isinstance(cause, ssl.SSLError):
            # aiohttp's wrapper is an SSLError too, without OpenSSL's words: look deeper.
            reasons = [_ssl_words(c) for c in causes if isinstance(c, ssl.SSLError)]
            detail = next((f": {text}" for text in reasons if text), "")
            if isinstance(cause, ssl.SSLCertVerificationError):
                return f"TLS certificate verification failed{detail}"
            return f"TLS handshake failed{detail}"
        if isinstance(cause, socket.gaierror):
            return "name resolution failed"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError):
            return "connection reset"
        if isinstance(cause, _TIMEOUTS):
            return "timed out connecting" if isinstance(error, ConnectError) else "timed out"
    for cause in causes:  # another OS error: its own words (no route to host, ...)
        if isinstance(cause, OSError) and cause.errno is not None and cause.strerror:
            text = cause.strerror[:1].lower() + cause.strerror[1:]
            return f"could not connect: {text}" if isinstance(error, ConnectError) else text
    return None


def describe_error(error: BaseException) -> str:
    """One line saying what the server or the network did, for stderr.

    A response: its status, content type and the start of its body. A network
    failure: its kind in words (``connection refused``, ``name resolution
    failed``, ``TLS certificate verification failed: ...``, ``timed out ...``),
    the same on every transport. A limit exceeded: the error's text, naming
    ``--max-event-size``. Anything else: the error's own text.
    """
    if isinstance(error, ResponseError) and not isinstance(error, RedirectError):
        kind = error.content_type or "no content type"
        line = f"server answered {error.status} ({kind})"
        if isinstance(error, ContentTypeError):  # a 200: "answered 200" alone reads as success
            line = f"server answered {error.status}, not with text/event-stream ({kind})"
        body = " ".join(error.body.split())[:BODY_EXCERPT]
        return f"{line}: {body}" if body else line
    reason = _network_reason(error)
    if reason is not None:
        return reason
    text = " ".join(str(error).split())
    if isinstance(error, ProtocolError):  # the library's hint names the keyword: name the option
        text = text.replace("max_event_size=", "max_event_size")
        text = text.replace("max_event_size", "--max-event-size")
    return text or type(error).__name__


class Formatter(Protocol):
    """Turns one event into the text written to stdout for it."""

    def format(self, event: MessageEvent, received_at: datetime) -> str:
        """The text for ``event``, ending with a line break."""
        ...


def _paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{RESET}" if color else text


def _json_document(data: str) -> Any:
    """The decoded data when it is a JSON object or array, else ``None``."""
    stripped = data.strip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        return None


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False).translate(_JSON_CONTROLS)


def render_json(value: Any, color: bool, indent: int = 0) -> str:
    r"""``value`` as indented JSON, keys and scalars colored when ``color`` is true.

    Control characters in strings are JSON escapes (``\u009b``), C1 and DEL too.
    """
    pad = "  " * (indent + 1)
    end = "  " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [
            f"{pad}{_paint(_json_text(key), BLUE, color)}: {render_json(item, color, indent + 1)}"
            for key, item in value.items()
        ]
        return "{\n" + ",\n".join(items) + f"\n{end}}}"
    if isinstance(value, list):
        if not value:
            return "[]"
        items = [f"{pad}{render_json(item, color, indent + 1)}" for item in value]
        return "[\n" + ",\n".join(items) + f"\n{end}]"
    text = _json_text(value)
    if isinstance(value, str):
        return _paint(text, GREEN, color)
    if value is None or isinstance(value, bool):
        return _paint(text, MAGENTA, color)
    return _paint(text, YELLOW, color)


class TextFormatter:
    r"""A header line (type, id) and the data indented below it.

    With ``color`` (a terminal), the header also shows the local time of
    arrival and JSON objects or arrays are pretty-printed and colored; without
    it (a pipe), the data lines are written as they came. With ``escape`` (a
    terminal), control characters from the server are shown as ``\xNN``.
    """

    def __init__(self, *, color: bool, escape: bool = False) -> None:
        self.color = color
        self.escape = escape

    def format(self, event: MessageEvent, received_at: datetime) -> str:
        """The header line and the data lines, each data line indented by two spaces."""
        shown = show_controls if self.escape else str
        header = [_paint(shown(event.type), BOLD_CYAN, self.color)]
        if event.last_event_id:
            ident = _paint(shown(event.last_event_id), YELLOW, self.color)
            header.append(_paint("id=", DIM, self.color) + ident)
        if self.color:
            clock = received_at.astimezone().strftime("%H:%M:%S.%f")[:-3]
            header.insert(0, _paint(clock, DIM, True))
        lines = [" ".join(header)]
        document = _json_document(event.data) if self.color else None
        body = render_json(document, True) if document is not None else shown(event.data)
        if event.data:
            lines.extend(f"  {line}" for line in body.split("\n"))
        return "\n".join(lines) + "\n"


class JsonLinesFormatter:
    """One JSON object per event: ``type``, ``data``, ``id``, ``received_at`` (ISO-8601 UTC).

    With ``escape`` (a terminal), DEL and C1 characters are JSON escapes too
    (``json.dumps`` escapes C0): the same JSON, nothing a terminal acts on.
    """

    def __init__(self, *, escape: bool = False) -> None:
        self.escape = escape

    def format(self, event: MessageEvent, received_at: datetime) -> str:
        """The event as one line of JSON."""
        stamp = received_at.isoformat(timespec="microseconds").replace("+00:00", "Z")
        record = {
            "type": event.type,
            "data": event.data,
            "id": event.last_event_id,
            "received_at": stamp,
        }
        line = json.dumps(record, ensure_ascii=False)
        return (line.translate(_JSON_CONTROLS) if self.escape else line) + "\n"


class RawFormatter:
    r"""The event re-encoded as ``text/event-stream``: reading it back gives the same events.

    ``event:`` is written unless the type is the default ``message``; ``id:``
    whenever the last event ID changed (so an empty ``id:`` resets it, as on
    the wire); one ``data:`` line per line of data; then a blank line. With
    ``escape`` (a terminal), control characters are shown as ``\xNN``.
    """

    def __init__(self, *, escape: bool = False) -> None:
        self._last_id = ""
        self.escape = escape

    def format(self, event: MessageEvent, received_at: datetime) -> str:
        """The wire form of ``event``."""
        lines = []
        if event.type != "message":
            lines.append(f"event: {event.type}")
        if event.last_event_id != self._last_id:
            self._last_id = event.last_event_id
            lines.append(f"id: {event.last_event_id}" if event.last_event_id else "id:")
        lines.extend(f"data: {line}" if line else "data:" for line in event.data.split("\n"))
        text = "\n".join(lines) + "\n\n"
        return show_controls(text) if self.escape else text


def make_formatter(name: str, *, color: bool, escape: bool = False) -> Formatter:
    """The formatter for ``--format name``; ``escape`` (for a terminal) shows control characters.

    Raises:
        ValueError: an unknown format name.
    """
    if name == "text":
        return TextFormatter(color=color, escape=escape)
    if name == "jsonl":
        return JsonLinesFormatter(escape=escape)
    if name == "raw":
        return RawFormatter(escape=escape)
    raise ValueError(f"unknown format {name!r}: use one of {', '.join(FORMATS)}")
