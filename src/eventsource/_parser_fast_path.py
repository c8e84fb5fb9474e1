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
    per line. The count of line breaks proves the shape (no value can hold one).
    ``eol`` is the line break, LF or CRLF: with CRLF the CRs are counted too, so
    no lone CR or LF is left in a value. The three lists have one entry per event
    (at least one); the last ID is the ID buffer after ``body``.
    """
    breaks = body.count("\n")
    if eol != "\n" and body.count("\r") != breaks:
        return None  # a lone CR or LF: left to the line loop
    blank = eol + eol
    if body[:6] == "data: ":
        datas = body[6 : -len(blank)].split(blank + "data: ")
        if breaks != 2 * len(datas):
            return None
        return ["message"] * len(datas), datas, [id_buffer] * len(datas)
    if body[:4] == "id: ":
        field = "id: "
    elif body[:7] == "event: ":
        field = "event: "
    else:
        return None
    pairs = body[len(field) : -len(blank)].split(blank + field)
    if breaks != 3 * len(pairs) or (field == "id: " and "\0" in body):
        return None  # [spec] an id with NUL is ignored: left to the line loop
    data_line = eol + "data: "
    firsts = []
    datas = []
    for pair in pairs:
        # Each pair holds exactly one line break: the partition must find it.
        first, found, value = pair.partition(data_line)
        if not found:
            return None
        firsts.append(first)
        datas.append(value)
    if field == "id: ":
        return ["message"] * len(datas), datas, firsts
    return [event_type or "message" for event_type in firsts], datas, [id_buffer] * len(datas)
