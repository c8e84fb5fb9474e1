"""The parser's one fast path: a run of events of one common shape, taken whole.

Pure: text in, the events' columns out. ``_parser`` calls it for the text
between a window's first and last blank line, once the last window held
several events; anything it declines goes through the spec's line loop.
"""

from __future__ import annotations

__all__ = ["whole_events"]


def whole_events(
    body: str, id_buffer: str, eol: str = "\n"
) -> tuple[list[str], list[str], list[str]] | None:
    """The types, data and IDs of the events of ``body`` if all have one shape; else ``None``.

    1.5-1.7x the line loop alone on chat, CRLF chat, LLM token and typed events
    (bench/parser.py, 4 and 64 KiB reads). ``body`` starts after a blank line (no
    data or type pending) and ends with one; ``id_buffer`` is the spec's last
    event ID buffer before it. Each event is a ``data: `` line, or an ``id: `` or
    ``event: `` line then a ``data: `` line, then a blank line: a split at each
    event's start and a partition at its data line give the values, with no work
    per line. No value may hold a CR or LF: that proves the shape (a body of
    another shape leaves a line break in some value), and leaves no lone CR or LF
    of a CRLF stream in one. ``eol`` is the line break, LF or CRLF. The three
    lists have one entry per event (at least one); the last ID is the ID buffer
    after ``body``.
    """
    blank = eol + eol
    if body[:6] == "data: ":
        datas = body[6 : -len(blank)].split(blank + "data: ")
        if _breaks_in(datas):
            return None
        return ["message"] * len(datas), datas, [id_buffer] * len(datas)
    if body[:4] == "id: ":
        field = "id: "
    elif body[:7] == "event: ":
        field = "event: "
    else:
        return None
    data_line = eol + "data: "
    firsts = []
    datas = []
    pairs = body[len(field) : -len(blank)].split(blank + field)
    if pairs[0].count("\n") != 1:
        return None  # another shape (an id and a type, two data lines): no loop for it
    for pair in pairs:
        first, found, value = pair.partition(data_line)
        if not found:
            return None
        firsts.append(first)
        datas.append(value)
    if _breaks_in(datas) or _breaks_in(firsts):
        return None
    if field == "id: ":
        if "\0" in "".join(firsts):
            return None  # [spec] an id with NUL is ignored: left to the line loop
        return ["message"] * len(datas), datas, firsts
    return [event_type or "message" for event_type in firsts], datas, [id_buffer] * len(datas)


def _breaks_in(values: list[str]) -> bool:
    # Whether any value holds a CR or LF. One join and two searches (memchr) of
    # it: a count of the body's line breaks, the proof before, cost 19 ns an
    # event, a third of this; ``async for`` 1.07x on CRLF chat, 1.02x on chat
    # and LLM tokens (bench/README.md).
    joined = "".join(values)
    return "\n" in joined or "\r" in joined
