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

    1.5-1.7x the line loop alone on chat, CRLF chat, LLM token and typed events, 2.0x on
    change-feed events (bench/parser.py, 4 and 64 KiB reads). ``body`` starts after a
    blank line (no data or type pending) and ends with one; ``id_buffer`` is the spec's
    last event ID buffer before it. Each event is a ``data: `` line, or an ``id: `` or
    ``event: `` line then a ``data: `` line, or both (either first) then a ``data: ``
    line; then a blank line. A split at each event's start and a partition at each of
    its lines give the values, with no loop over lines. A line not found declines, and
    no value may hold a CR or LF: that proves the shape (a body of another shape leaves
    a line break in some value), and leaves no lone CR or LF of a CRLF stream in one.
    ``eol`` is the line break, LF or CRLF. The three lists have one entry per event (at
    least one); the last ID is the ID buffer after ``body``.
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
    events = body[len(field) : -len(blank)].split(blank + field)
    lines = events[0].count("\n")  # line breaks inside the first event: its shape
    if lines == 1:
        return _field_then_data(events, field, id_buffer, eol)
    if lines == 2:
        return _id_type_then_data(events, field, eol)
    return None  # another shape (two data lines, ...): left to the line loop


def _field_then_data(
    events: list[str], field: str, id_buffer: str, eol: str
) -> tuple[list[str], list[str], list[str]] | None:
    # Each of ``events`` is the value of ``field`` (``id: `` or ``event: ``),
    # then the data line.
    data_line = eol + "data: "
    firsts = []
    datas = []
    for event in events:
        first, found, value = event.partition(data_line)
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


def _id_type_then_data(
    events: list[str], field: str, eol: str
) -> tuple[list[str], list[str], list[str]] | None:
    # Each of ``events`` is the value of ``field``, then the line of the other of
    # ``id: ``/``event: ``, then the data line (a change feed's shape).
    other = eol + ("event: " if field == "id: " else "id: ")
    data_line = eol + "data: "
    firsts = []
    seconds = []
    datas = []
    for event in events:
        first, _, rest = event.partition(other)
        second, found, value = rest.partition(data_line)
        if not found:  # no data line after the other line (or no other line: no rest)
            return None
        firsts.append(first)
        seconds.append(second)
        datas.append(value)
    if _breaks_in(datas) or _breaks_in(firsts) or _breaks_in(seconds):
        return None
    ids, types = (firsts, seconds) if field == "id: " else (seconds, firsts)
    if "\0" in "".join(ids):
        return None  # [spec] an id with NUL is ignored: left to the line loop
    return [event_type or "message" for event_type in types], datas, ids


def _breaks_in(values: list[str]) -> bool:
    # Whether any value holds a CR or LF. One join and two searches (memchr) of
    # it, about a third of what a count of the body's line breaks (the proof
    # before) cost: 19 ns a chat event; ``async for`` 1.07x on CRLF chat, 1.02x
    # on chat and LLM tokens (bench/README.md, the run of 09:45).
    joined = "".join(values)
    return "\n" in joined or "\r" in joined
