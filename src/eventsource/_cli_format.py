"""How the command line shows events: text (colored on a terminal), JSON lines, raw wire form.

Pure functions and small stateful formatters over :class:`MessageEvent`; no
I/O here beyond asking a stream whether it is a terminal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol, TextIO

from ._event import MessageEvent

__all__ = [
    "FORMATS",
    "Formatter",
    "JsonLinesFormatter",
    "RawFormatter",
    "TextFormatter",
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

    def __init__(self, *, escape: bool = False, ascii_only: bool = False) -> None:
        self.escape = escape
        self.ascii_only = ascii_only  # an output that cannot encode all of Unicode

    def format(self, event: MessageEvent, received_at: datetime) -> str:
        """The event as one line of JSON (with ``ascii_only``, non-ASCII as JSON escapes)."""
        stamp = received_at.isoformat(timespec="microseconds").replace("+00:00", "Z")
        record = {
            "type": event.type,
            "data": event.data,
            "id": event.last_event_id,
            "received_at": stamp,
        }
        line = json.dumps(record, ensure_ascii=self.ascii_only)
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


def make_formatter(
    name: str, *, color: bool, escape: bool = False, ascii_only: bool = False
) -> Formatter:
    """The formatter for ``--format name``; ``escape`` (for a terminal) shows control characters.

    ``ascii_only``: the output's encoding is not UTF-8, so JSON lines use JSON's
    own escapes (the other forms show what it lacks as backslash escapes).

    Raises:
        ValueError: an unknown format name.
    """
    if name == "text":
        return TextFormatter(color=color, escape=escape)
    if name == "jsonl":
        return JsonLinesFormatter(escape=escape, ascii_only=ascii_only)
    if name == "raw":
        return RawFormatter(escape=escape)
    raise ValueError(f"unknown format {name!r}: use one of {', '.join(FORMATS)}")
