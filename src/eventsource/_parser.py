"""The WHATWG "parse an event stream" and "interpret" algorithms, incremental and sans-IO.

Bytes in, :class:`MessageEvent` values out. No I/O, no asyncio: this module
imports only ``_event`` and ``_errors`` from the package. Any chunking of the
same bytes gives the same events, retry value and last event ID.

Spec: https://html.spec.whatwg.org/multipage/server-sent-events.html
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ._errors import ProtocolError
from ._event import MessageEvent, MessageEventDraft

__all__ = ["DEFAULT_MAX_EVENT_SIZE", "Parser"]

#: Default bound on one line (in bytes) and on one event's data (in characters).
DEFAULT_MAX_EVENT_SIZE = 16 * 1024 * 1024
#: An open event's data lines from one ``feed`` are kept as one string past this many.
COMPACT_LINES = 32

#: Reads longer than this are decoded in windows of this many bytes.
WINDOW = 16 * 1024

#: One whole common event: up to four "id: " and "event: " lines in any order
#: (the last of each counts, as in the line loop; an empty value, or an id with
#: NUL, is left to the line loop, so a captured value is never empty), then one
#: "data: " line and a blank line. Anything else: one line, with its LF. The
#: bound matters: unbounded, a run of id lines with no data line after it was
#: rescanned from each of its lines (quadratic: 0.2 s for 24 KB).
#: (`.` is any character but LF, and the fastest way to say so to `re`.)
_EVENT = re.compile(r"(?:id: ([^\n\0]+)\n|event: (.+)\n){0,4}data: (.*)\n\n|(.*\n)")

#: A CR that is not the first half of a CRLF (but for one at the end).
_LONE_CR = re.compile(rb"\r[^\n]")

#: What ends a line: CRLF, CR or LF.
_LINE_BREAK = re.compile("\r\n|\r|\n")


def _split_lines(text: str, crs: bool) -> list[str]:
    """The lines of ``text`` (ending in a line break: the last piece is empty)."""
    if crs:
        lf_text = text.replace("\r\n", "\n")
        if "\r" in lf_text:  # a lone CR (the replace may have joined two into CRLF)
            return _LINE_BREAK.split(text)
        text = lf_text
    return text.split("\n")


def _crlf(text: str) -> int:
    """How many CRs and LFs ``text`` holds."""
    return text.count("\r") + text.count("\n")


def _lf(text: str) -> str:
    """``text`` with every line break an LF."""
    return "\n".join(_LINE_BREAK.split(text))


LINE_TOO_LONG = "a line exceeded max_event_size ({} bytes)"


def _first_long_line(block: bytes, limit: int) -> int:
    """The index of the first line of ``block`` (LF-separated) longer than ``limit``, or -1."""
    lines = block.split(b"\n")
    lines.pop()  # block ends with a line break: the last piece is empty
    if max(map(len, lines)) <= limit:
        return -1
    return next(index for index, line in enumerate(lines) if len(line) > limit)


class Parser:
    """An incremental decoder for one ``text/event-stream`` at a time.

    Feed it the bytes of a response as they arrive; call :meth:`reset` when the
    connection ends (the next bytes are then a new stream). The last event ID
    and the reconnection time survive :meth:`reset`, as they do in a browser.

    Attributes:
        last_event_id: The spec's "last event ID string": updated when an event
            (or an id-only block) is dispatched.
        retry: The reconnection time in seconds set by the last valid ``retry:``
            field, or ``None`` if the stream never sent one.
        origin: Copied into every event's ``origin``.
    """

    __slots__ = (
        "_at_start",
        "_cut",
        "_data",
        "_data_size",
        "_error",
        "_event_type",
        "_id_buffer",
        "_max",
        "_on_comment",
        "_pending",
        "_pending_size",
        "_skip_lf",
        "last_event_id",
        "origin",
        "retry",
    )

    def __init__(
        self,
        *,
        origin: str = "",
        last_event_id: str = "",
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        on_comment: Callable[[str], object] | None = None,
    ) -> None:
        if max_event_size <= 0:
            raise ValueError("max_event_size must be a positive number of bytes")
        self.origin = origin
        self.last_event_id = last_event_id
        self.retry: float | None = None
        self._max = max_event_size
        self._on_comment = on_comment
        self._id_buffer = last_event_id
        self._error: ProtocolError | None = None
        self._cut = False  # cut the next text at blank lines first (see _interpret)
        self._start_stream()

    def _start_stream(self) -> None:
        self._pending: list[bytes] = []  # bytes after the last line break seen
        self._pending_size = 0
        self._at_start = True  # a BOM is stripped only here
        self._skip_lf = False  # the previous block ended in CR: a leading LF is its pair
        self._data: list[str] = []
        self._data_size = 0
        self._event_type = ""

    @property
    def error(self) -> ProtocolError | None:
        """The broken limit held back behind events already returned, until :meth:`reset`."""
        return self._error

    @property
    def mid_event(self) -> bool:
        """Whether part of an event is buffered: its fields, or a partial line not a comment.

        A ``retry:`` field and comments do not count: they are not an event.
        """
        if self._data or self._event_type or self._id_buffer != self.last_event_id:
            return True
        if not self._pending:
            return False
        line = self._pending[0]
        if self._at_start:
            line = line.removeprefix(b"\xef\xbb\xbf")  # [spec] a leading BOM is no content
        return line[:1] not in (b"", b":")

    def reset(self) -> None:
        """End the current stream: discard a partial line and a partial event.

        [spec] "Once the end of the file is reached, any pending data must be
        discarded." The ID of a discarded event is discarded with it: the next
        stream starts from the last *dispatched* ID, as browsers do.
        """
        self._start_stream()
        self._id_buffer = self.last_event_id
        self._error = None

    def feed(self, data: bytes) -> list[MessageEvent]:
        """Decode ``data`` and return the events it completes, in stream order.

        Raises:
            ProtocolError: a line or an event's data grew past ``max_event_size``.
                Events completed before the violation are returned first; the
                error is raised by the next call.
        """
        if len(data) <= WINDOW:
            return self._feed(data)
        # A big read is decoded a window at a time: the same events (any chunking
        # gives the same result) from working sets that stay in the CPU's caches.
        events: list[MessageEvent] = []
        for start in range(0, len(data), WINDOW):
            try:
                events += self._feed(data[start : start + WINDOW])
            except ProtocolError:
                if not events:
                    raise
                break  # held in self._error: raised by the next call
        return events

    def _feed(self, data: bytes) -> list[MessageEvent]:
        if self._error is not None:
            raise self._error
        limit = self._max
        end = data.rfind(b"\n")
        last_cr = data.rfind(b"\r", end + 1)  # only a CR after the last LF can end later
        if last_cr > end:
            end = last_cr
        if end < 0:
            if data:
                self._pending.append(data)
                self._pending_size += len(data)
                if self._pending_size > limit:
                    self._fail(LINE_TOO_LONG.format(limit))
            return []
        if self._pending:
            self._pending.append(data[: end + 1])
            block = b"".join(self._pending)
        else:
            block = data if end == len(data) - 1 else data[: end + 1]
        rest = data[end + 1 :]
        self._pending = [rest] if rest else []
        self._pending_size = len(rest)
        if self._skip_lf and block[:1] == b"\n":
            block = block[1:]
        self._skip_lf = block[-1:] == b"\r"
        crlf = -1  # else the text keeps its CRs, and this counts its CRs and LFs
        if b"\r" in block:
            # [spec] CRLF, LF and CR each end a line. CR and LF never sit inside a
            # UTF-8 sequence, so the text decodes the same. Events taken whole
            # are read with their CRs (see _interpret). Otherwise, with no lone
            # CR, the CRs just go (a one-byte replace: a CRLF one costs four
            # times as much); else bytes.splitlines() splits at exactly the
            # three line breaks (str.splitlines() knows more).
            if self._cut and len(block) <= limit:
                crlf = len(block) - len(block.translate(None, b"\r\n"))  # one pass for both
            elif not self._skip_lf and _LONE_CR.search(block) is None:
                block = block.replace(b"\r", b"")
            else:
                lines = block.splitlines()
                lines.append(b"")  # block ends with a line break
                block = b"\n".join(lines)
        # Only a block longer than the limit can hold a line longer than it.
        long_line = _first_long_line(block, limit) if len(block) > limit else -1
        # Line breaks are ASCII, so no UTF-8 sequence straddles `end`: decoding up
        # to a line break never splits a valid character. [spec] decode with
        # replacement (U+FFFD for each maximal invalid subpart).
        text = block.decode("utf-8", "replace")
        if self._at_start:
            self._at_start = False
            if text[:1] == "\ufeff":  # [spec] one leading BOM, at the start only
                text = text[1:]
        if long_line >= 0:
            # The limit applies in stream order, whatever the chunking: the lines
            # before the long one count, the long one and all after it do not.
            text = "".join(line + "\n" for line in text.split("\n")[:long_line])
        elif len(rest) <= limit:
            return self._interpret(text, crlf)
        events = self._interpret(text, crlf)
        if self._error is None:
            self._fail(LINE_TOO_LONG.format(limit), events)
        return events

    def _interpret(self, text: str, crlf: int = -1) -> list[MessageEvent]:
        # `text` is whole lines, each ending in LF; or, when `crlf` counts its
        # CRs and LFs, in CRLF, CR or LF (only when events are taken whole,
        # below). While events are small (the last read held several) and the
        # text is shorter than the limit (so no event taken whole can break
        # it), the events between its first and its last blank line are taken
        # whole: by splitting (see _uniform) when they all have one common
        # shape, else by a regular expression (see _EVENT). The lines around
        # them, and all lines of large events, go through the spec's line loop.
        events: list[MessageEvent] = []
        crs = crlf >= 0
        if self._cut and len(text) <= self._max:
            blank = "\r\n\r\n" if crs else "\n\n"  # a line break, then an empty line
            start = text.find(blank) + len(blank)
            end = text.rfind(blank) + len(blank)
            if start < end:
                # The lines up to the first blank line end an event begun before
                # (if they break the limit, no event came first: that raises).
                head, body, tail = text[:start], text[start:end], text[end:]
                self._lines(_split_lines(head, crs), events)
                # The body's line-break characters: with CRLF, the text's CRs and
                # LFs less those around the body; else its LFs.
                breaks = crlf - _crlf(head) - _crlf(tail) if crs else body.count("\n")
                if not self._uniform(body, events, blank, breaks):
                    self._lines(_EVENT.findall(_lf(body) if crs else body), events)
                self._lines(_split_lines(tail, crs), events)
                self._cut = len(events) > 1
                return events
            self._lines(_EVENT.findall(_lf(text) if crs else text), events)
        else:
            self._lines(text.split("\n"), events)
        self._cut = len(events) > 1
        return events

    def _uniform(self, body: str, events: list[MessageEvent], blank: str, breaks: int) -> bool:
        """Take the events of ``body`` if all have one of three common shapes.

        ``body`` starts just after a blank line and ends with one (``blank``:
        its line break twice); ``breaks`` counts its line-break characters (LFs;
        with CRLF, CRs and LFs). The shapes: "data: " lines; "id: " then "data: "
        lines; "event: " then "data: " lines; each event one such line or pair,
        then a blank line. A split at the start of each event and the count
        (each event holds exactly its own line breaks: with CRLF, its separators
        hold as many CRs as LFs, so a total of twice that count leaves no lone
        CR or LF) prove the shape, with no per-line work; returns ``False``,
        having taken nothing, for any other body.
        """
        width = len(blank) // 2  # characters per line break: LF, or CR and LF
        data_line = blank[width:] + "data: "  # the line break, then the field
        origin = self.origin
        event_id = self._id_buffer
        draft = MessageEventDraft  # events are built as drafts: see MessageEventDraft
        append: Callable[[Any], None] = events.append
        taken = len(events)
        if body[:6] == "data: ":
            values = body[6 : -len(blank)].split(blank + "data: ")
            if breaks != 2 * width * len(values):  # a value holds a line break: another shape
                return False
            for value in values:
                event = draft()
                event.type = "message"
                event.data = value
                event.last_event_id = event_id
                event.origin = origin
                event.__class__ = MessageEvent  # type: ignore[assignment]
                append(event)
        elif body[:4] == "id: " or body[:7] == "event: ":
            by_id = body[:4] == "id: "  # else by type
            field = "id: " if by_id else "event: "
            pairs = body[len(field) : -len(blank)].split(blank + field)
            # Exactly one line break inside each pair, which the partition finds.
            if breaks != 3 * width * len(pairs) or (by_id and "\0" in body):  # [spec] NUL: no id
                return False
            event_type = "message"
            for pair in pairs:
                first, found, value = pair.partition(data_line)
                if not found:
                    del events[taken:]
                    return False
                if by_id:
                    event_id = first
                else:
                    event_type = first or "message"
                event = draft()
                event.type = event_type
                event.data = value
                event.last_event_id = event_id
                event.origin = origin
                event.__class__ = MessageEvent  # type: ignore[assignment]
                append(event)
        else:
            return False
        self._id_buffer = self.last_event_id = event_id  # [spec] dispatch sets it
        return True

    def _lines(
        self, items: list[str] | list[tuple[str, str, str, str]], events: list[MessageEvent]
    ) -> list[MessageEvent]:
        """The spec's line loop over ``items``: add the events it completes to ``events``.

        An item is a line (from a split at LF: the piece after the last LF is
        empty, and dropped) or one match of _EVENT.
        """
        if items and items[-1] == "":
            items.pop()
        append: Callable[[Any], None] = events.append  # takes drafts turned into events
        data = self._data
        data_size = self._data_size
        event_type = self._event_type
        id_buffer = self._id_buffer
        dispatched_id = self.last_event_id
        limit = self._max
        origin = self.origin
        draft = MessageEventDraft  # events are built as drafts: see MessageEventDraft
        first = len(data)  # the data lines this call adds start here
        for item in items:
            if isinstance(item, tuple):
                id_field, type_field, value, line = item
                if line:  # any other line, with its LF
                    line = line[:-1]
                else:  # [spec] data, then a blank line: dispatch
                    if id_field:
                        id_buffer = id_field
                    if type_field:
                        event_type = type_field
                    if data:  # the last line of an event that began on other lines
                        data.append(value)
                        data_size += len(value) + 1
                        if data_size > limit:
                            return self._data_too_big(events, dispatched_id, id_buffer)
                        value = "\n".join(data)
                        data = []
                        data_size = 0
                        first = 0
                    dispatched_id = id_buffer
                    event = draft()
                    event.type = event_type or "message"
                    event.data = value
                    event.last_event_id = id_buffer
                    event.origin = origin
                    event.__class__ = MessageEvent  # type: ignore[assignment]
                    append(event)
                    event_type = ""
                    continue
            else:
                line = item
            if line[:6] == "data: ":  # the common case, first: no partition needed
                value = line[6:]
            elif not line:  # [spec] empty line: dispatch the event
                dispatched_id = id_buffer
                if data:
                    event = draft()
                    event.type = event_type or "message"
                    event.data = "\n".join(data)
                    event.last_event_id = id_buffer
                    event.origin = origin
                    event.__class__ = MessageEvent  # type: ignore[assignment]
                    append(event)
                    data = []
                    data_size = 0
                first = 0
                event_type = ""
                continue
            else:
                field, _, value = line.partition(":")
                if value[:1] == " ":  # [spec] remove exactly one leading space
                    value = value[1:]
                if field != "data":
                    if not field:  # [spec] a line starting with ':' is a comment
                        if self._on_comment is not None:
                            self._on_comment(value)
                    elif field == "event":
                        event_type = value
                    elif field == "id":
                        if "\0" not in value:  # [spec] an id containing NULL is ignored
                            id_buffer = value
                    elif field == "retry" and value.isascii() and value.isdigit():
                        # [spec] ASCII digits, milliseconds. Through float: an int of
                        # 309 digits overflows the division, one of 4,301 int().
                        self.retry = float(value) / 1000
                    # [spec] any other field is ignored
                    continue
            data.append(value)  # [spec] data: append the value and a LF (joined at dispatch)
            data_size += len(value) + 1
            if data_size > limit:
                return self._data_too_big(events, dispatched_id, id_buffer)
        if len(data) - first > COMPACT_LINES:
            # An event still open after many data lines: keep this call's lines as one
            # string (joined as the dispatch will join them). A string per line costs
            # ~50 bytes more than its text, so a million tiny lines would otherwise
            # hold many times max_event_size.
            data[first:] = ["\n".join(data[first:])]
        self.last_event_id = dispatched_id
        self._data = data
        self._data_size = data_size
        self._event_type = event_type
        self._id_buffer = id_buffer
        return events

    def _data_too_big(
        self, events: list[MessageEvent], dispatched_id: str, id_buffer: str
    ) -> list[MessageEvent]:
        # State as the spec leaves it at the line that broke the limit.
        self.last_event_id = dispatched_id
        self._data, self._data_size = [], 0
        self._event_type, self._id_buffer = "", id_buffer
        self._fail(f"an event's data exceeded max_event_size ({self._max} characters)", events)
        return events

    def _fail(self, message: str, events: list[MessageEvent] | None = None) -> None:
        error = ProtocolError(message, limit=self._max)
        self._pending = []
        self._pending_size = 0
        self._error = error  # the stream is unusable until reset()
        if not events:
            raise error
