"""The WHATWG "parse an event stream" and "interpret" algorithms, incremental and sans-IO.

Bytes in; out, what the stream said: its events and comments, in wire order
(``retry`` and the last event ID are state). No I/O and no callbacks; imports
only ``_event``, ``_errors``, its fast path (``_parser_fast_path``) and its
line helpers (``_parser_lines``) from the package. Any chunking of the same
bytes gives the same items, retry value and last event ID.

Spec: https://html.spec.whatwg.org/multipage/server-sent-events.html
"""

from __future__ import annotations

from ._errors import ProtocolError
from ._event import Comment, MessageEvent, MessageEvents, message_events
from ._parser_fast_path import whole_events
from ._parser_lines import long_line_start, split_lines

__all__ = ["DEFAULT_MAX_EVENT_SIZE", "Parser"]

#: Default bound on one line (in bytes) and on one event's data (in characters).
DEFAULT_MAX_EVENT_SIZE = 16 * 1024 * 1024
#: Reads longer than this are decoded in windows of this many bytes.
WINDOW = 64 * 1024
#: An open event's data lines not yet joined are joined into one string past this many.
COMPACT_LINES = 32

LINE_TOO_LONG = (
    "a line exceeded max_event_size ({} bytes): pass a larger max_event_size= to allow it"
)
DATA_TOO_BIG = (
    "an event's data exceeded max_event_size ({} characters): "
    "pass a larger max_event_size= to allow it"
)


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
        "_data",
        "_data_size",
        "_datas",
        "_error",
        "_event_type",
        "_id_buffer",
        "_ids",
        "_items",
        "_joined",
        "_max",
        "_pending",
        "_pending_size",
        "_several",
        "_skip_lf",
        "_types",
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
    ) -> None:
        if max_event_size <= 0:
            raise ValueError("max_event_size must be a positive number of bytes")
        self.origin = origin
        self.last_event_id = last_event_id
        self.retry: float | None = None
        self._max = max_event_size
        self._several = False  # the last window held several items (see _interpret)
        # What feed() found: items, then the fields of the events after them.
        self._items: list[MessageEvent | Comment] = []
        self._types: list[str] = []
        self._datas: list[str] = []
        self._ids: list[str] = []
        self.reset()

    @property
    def error(self) -> ProtocolError | None:
        """The broken limit held back behind items already returned, until :meth:`reset`."""
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
        self._pending: list[bytes] = []  # bytes after the last line break seen
        self._pending_size = 0
        self._at_start = True  # a BOM is stripped only here
        self._skip_lf = False  # the last block ended in CR: a leading LF is its pair
        self._data: list[str] = []  # the data buffer, as lines joined at dispatch
        self._data_size = 0
        self._joined = 0  # the data buffer's pieces from here on are single lines
        self._event_type = ""
        self._id_buffer = self.last_event_id
        self._error: ProtocolError | None = None

    def feed(self, data: bytes) -> list[MessageEvent | Comment]:
        """Decode ``data``; return the events and comments it completes, in wire order.

        Raises:
            ProtocolError: a line or an event's data grew past ``max_event_size``.
                Items completed before the violation are returned first (the
                error is then in :attr:`error`); the next call raises it.
        """
        if self._error is not None:
            raise self._error
        try:
            # A big read, a window at a time: the same items (as from any chunking)
            # from working sets that stay in the CPU's caches.
            for start in range(0, len(data), WINDOW):
                self._decode(data[start : start + WINDOW])
        except ProtocolError:
            if not (self._items or self._datas):
                raise
            # else held in self._error: raised by the next call
        if not self._items:  # no comment: the events alone, typed as such
            return self._events()  # type: ignore[return-value]
        self._build()
        items, self._items = self._items, []
        return items

    def _build(self) -> None:
        # The events so far go out before what follows them (a comment).
        if self._datas:
            self._items += self._events()

    def _events(self) -> MessageEvents:
        # The one place that makes events: from the columns.
        events = message_events(self._types, self._datas, self._ids, self.origin)
        self._types.clear()
        self._datas.clear()
        self._ids.clear()
        return events

    def _decode(self, chunk: bytes) -> None:
        """Interpret the lines ``chunk`` completes; keep what follows its last line break."""
        limit = self._max
        end = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
        if end < 0:
            self._pending.append(chunk)
            self._pending_size += len(chunk)
            if self._pending_size > limit:
                self._fail(LINE_TOO_LONG.format(limit))
            return
        self._pending.append(chunk[: end + 1])
        block = b"".join(self._pending)
        rest = chunk[end + 1 :]
        self._pending = [rest] if rest else []
        self._pending_size = len(rest)
        if self._skip_lf and block[:1] == b"\n":
            block = block[1:]
        self._skip_lf = block[-1:] == b"\r"
        if b"\r" in block and not (self._several and len(block) <= limit):
            # [spec] CRLF, LF, CR (bytes.splitlines' three) end a line. Kept where
            # events may be taken whole: _interpret finds them at CRLF.
            block = b"\n".join(block.splitlines()) + b"\n"
        long_line = long_line_start(block, limit) if len(block) > limit else -1
        if long_line >= 0:
            # The limit applies in stream order, whatever the chunking: the lines
            # before the long one count, the long one and all after it do not.
            block = block[:long_line]
        # Line breaks are ASCII, so no UTF-8 sequence straddles a cut after one.
        # [spec] decode with replacement (U+FFFD for each maximal invalid subpart).
        text = block.decode("utf-8", "replace")
        if self._at_start:
            self._at_start = False
            if text[:1] == "\ufeff":  # [spec] one leading BOM, at the start only
                text = text[1:]
        self._interpret(text)
        if long_line >= 0 or len(rest) > limit:
            self._fail(LINE_TOO_LONG.format(limit))

    def _interpret(self, text: str) -> None:
        """Interpret ``text``: whole lines, each ending in LF.

        Or in CRLF, LF or CR, when events may be taken whole (see ``_decode``).
        """
        found = len(self._items) + len(self._datas)
        start = end = 0
        eol = "\n"
        if self._several and len(text) <= self._max:
            # The last window held several events: those between this one's first
            # and last blank line may be taken whole (_parser_fast_path). The text
            # is no longer than the limit, so no event taken whole can break it.
            if "\r" in text:
                eol = "\r\n"  # a lone CR or LF makes whole_events decline
            blank = eol + eol
            start = text.find(blank) + len(blank)
            end = text.rfind(blank) + len(blank)
        if start < end:
            self._lines(split_lines(text[:start]))  # ends an event begun before
            events = whole_events(text[start:end], self._id_buffer, eol)
            if events is None:
                self._lines(split_lines(text[start:end]))
            else:
                self._take(events)
            self._lines(split_lines(text[end:]))
        else:
            self._lines(split_lines(text))
        self._several = len(self._items) + len(self._datas) - found > 1

    def _take(self, events: tuple[list[str], list[str], list[str]]) -> None:
        types, datas, ids = events
        self._types += types
        self._datas += datas
        self._ids += ids
        self._id_buffer = ids[-1]
        self.last_event_id = self._id_buffer  # [spec] dispatch sets the last event ID

    def _lines(self, lines: list[str]) -> None:
        """The spec's line loop over ``lines`` (the piece after the last LF: empty, dropped)."""
        lines.pop()
        data, data_size, event_type = self._data, self._data_size, self._event_type
        id_buffer, limit, first = self._id_buffer, self._max, self._joined
        types, datas, ids = self._types, self._datas, self._ids
        for line in lines:
            if line[:6] == "data: ":  # the common case first: no partition needed
                value = line[6:]
            elif not line:  # [spec] a blank line: dispatch the event
                self.last_event_id = id_buffer
                if data:
                    types.append(event_type or "message")
                    datas.append("\n".join(data))
                    ids.append(id_buffer)
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
                        self._build()  # the events before it go first
                        self._items.append(Comment(value))
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
                self._fail(DATA_TOO_BIG.format(limit))
        if len(data) - first > COMPACT_LINES:
            # Many lines of an open event, as one string joined as the dispatch will
            # join them: a string costs ~50 bytes more than its text (a million tiny
            # lines would hold many times max_event_size), and a big event joins
            # about twice as fast from a few big pieces as from a piece per line.
            data[first:] = ["\n".join(data[first:])]
            first = len(data)
        self._data, self._data_size, self._joined = data, data_size, first
        self._event_type, self._id_buffer = event_type, id_buffer

    def _fail(self, message: str) -> None:
        # The stream is unusable until reset(): drop what it holds.
        self._pending, self._pending_size, self._data, self._data_size = [], 0, [], 0
        self._error = ProtocolError(message, limit=self._max)
        raise self._error
