"""Property tests of the parser: any chunking gives the same result; it agrees with the spec.

The result is every event and comment in wire order, the retry value, the
last event ID and the limit error, if any.

The streams are built from spec-shaped lines (every field, comments, unknown
and colon-less fields, BOMs, NUL, multi-byte characters) mixed with arbitrary
bytes (invalid UTF-8, stray CR and LF), joined with random line endings.
"""

from __future__ import annotations

import contextlib
import re
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from eventsource import MessageEvent, ProtocolError
from eventsource.decode import Comment, Parser

BOM = b"\xef\xbb\xbf"

# --- a reference implementation, written line by line from the WHATWG text ---
#
# https://html.spec.whatwg.org/multipage/server-sent-events.html
# "9.2.5 Parsing an event stream" and "9.2.6 Interpreting an event stream".
# It works on the whole stream at once, with no buffering concerns at all.


@dataclass
class Reference:
    items: list[MessageEvent | Comment] = field(default_factory=list)  # in wire order
    retry: float | None = None
    last_event_id: str = ""


def reference(stream: bytes, origin: str = "", last_event_id: str = "") -> Reference:
    out = Reference(last_event_id=last_event_id)
    # "Streams must be decoded using the UTF-8 decode algorithm": a leading BOM is
    # skipped, invalid sequences become U+FFFD (CPython's "replace" handler uses
    # the same maximal-subpart rule as the Encoding Standard).
    text = stream.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    # end-of-line = ( cr lf / cr / lf ). What follows the last line break is an
    # incomplete line: "any pending data must be discarded" at end of file.
    lines = re.split("\r\n|\r|\n", text)[:-1]

    data_buffer = ""
    event_type_buffer = ""
    last_event_id_buffer = last_event_id

    for line in lines:
        if line == "":
            # "If the line is empty (a blank line): Dispatch the event."
            # Step 1: set the last event ID string to the last event ID buffer.
            out.last_event_id = last_event_id_buffer
            # Step 2: if the data buffer is empty, reset data and type, return.
            if data_buffer == "":
                event_type_buffer = ""
                continue
            # Step 3: if the data buffer's last character is a LF, remove it.
            if data_buffer.endswith("\n"):
                data_buffer = data_buffer[:-1]
            # Steps 4-7: type "message" unless the event type buffer is non-empty.
            event_type = event_type_buffer if event_type_buffer != "" else "message"
            out.items.append(MessageEvent(event_type, data_buffer, out.last_event_id, origin))
            # Step 8: set the data buffer and the event type buffer to "".
            data_buffer = ""
            event_type_buffer = ""
            continue
        if line.startswith(":"):
            # "If the line starts with a U+003A COLON character: Ignore the line."
            # (Ignored as a field; we hand it out, with one leading space removed.)
            out.items.append(Comment(line[2:] if line.startswith(": ") else line[1:]))
            continue
        if ":" in line:
            # Field name: the characters before the first colon; value: after it,
            # with one leading U+0020 SPACE removed if there is one.
            name, value = line.split(":", 1)
            if value.startswith(" "):
                value = value[1:]
        else:
            # "the whole line as the field name, and the empty string as the value"
            name, value = line, ""
        if name == "event":
            event_type_buffer = value
        elif name == "data":
            data_buffer += value + "\n"
        elif name == "id":
            if "\0" not in value:
                last_event_id_buffer = value
        elif name == "retry" and value != "" and all(c in "0123456789" for c in value):
            # "If the field value consists of only ASCII digits": milliseconds.
            out.retry = int(value) / 1000
        # "Otherwise: The field is ignored."
    return out


# --- running the parser under a chunking ---


@dataclass
class Outcome:
    items: list[MessageEvent | Comment]
    retry: float | None
    last_event_id: str
    error: tuple[str, int] | None  # the ProtocolError's message and limit, if raised
    after_reset: list[MessageEvent]


def feed_all(
    parser: Parser, chunks: Iterable[bytes], check: Callable[[], object] = lambda: None
) -> tuple[list[MessageEvent | Comment], int, ProtocolError | None]:
    """Feed chunks until one raises; return the items, the bytes fed and the error."""
    items: list[MessageEvent | Comment] = []
    fed = 0
    try:
        for chunk in chunks:
            items += parser.feed(chunk)
            fed += len(chunk)
            check()
        # An error found after some items were returned is raised by the next call.
        items += parser.feed(b"")
    except ProtocolError as exc:
        return items, fed, exc
    return items, fed, None


def run(chunks: list[bytes], *, whole_events: bool = False, **options: object) -> Outcome:
    parser = Parser(**options)  # type: ignore[arg-type]
    if whole_events and not b"".join(chunks).startswith(BOM[:1]):
        # Start in the mode a stream of small events switches the parser to
        # (events taken whole), which one feed would not reach: a read of two
        # comments switches it and changes no state. (Not before a BOM: the
        # stream's start is the only place one is stripped.)
        assert parser.feed(b":\n:\n") == [Comment(""), Comment("")]
    items, _, exc = feed_all(parser, chunks)
    error = None if exc is None else (str(exc), exc.limit)
    outcome = Outcome(items, parser.retry, parser.last_event_id, error, [])
    parser.reset()
    outcome.after_reset = parser.feed(b"data:ok\n\n")
    return outcome


#: Bytes a parser may hold beyond what a bound names: its lists, an error.
SLACK = 16 * 1024


@contextlib.contextmanager
def traced() -> Iterator[Callable[[], int]]:
    """Trace allocations; give a function telling the bytes held since the start."""
    tracemalloc.start()
    try:
        baseline, _ = tracemalloc.get_traced_memory()
        yield lambda: tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()


def split(stream: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c for c in cuts if 0 < c < len(stream)})
    return [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]


def chunkings(stream: bytes, random_cuts: list[int]) -> dict[str, list[bytes]]:
    breaks = [i for i, b in enumerate(stream) if b in b"\r\n"]
    return {
        "byte by byte": split(stream, list(range(len(stream)))),
        "random splits": split(stream, random_cuts),
        "random splits with empty chunks": [
            piece for chunk in split(stream, random_cuts) for piece in (b"", chunk)
        ],
        "at every CR and LF": split(stream, breaks + [i + 1 for i in breaks]),
        "inside every CRLF": split(
            stream, [i + 1 for i in breaks if stream[i : i + 2] == b"\r\n"]
        ),
        "after a BOM-sized prefix": split(stream, [1, 2, 3]),
    }


# --- stream strategies ---

EOL = st.sampled_from([b"\n", b"\r", b"\r\n"])
NAMES = st.sampled_from(
    [
        "data",
        "data",
        "data",
        "event",
        "id",
        "retry",
        "",
        "DATA",
        "dat",
        "data ",
        "foo",
        "\ufeffdata",
    ]
)
TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(["a", "b", " ", ":", "\0", "\u00e9", "\u20ac", "\U0001f600", "\ufeff"]),
        st.characters(exclude_characters="\r\n", exclude_categories=("Cs",)),
    ),
    max_size=12,
)
RETRY_VALUE = st.one_of(
    st.integers(0, 10**6).map(str),
    st.sampled_from(["", "1.5", "-1", " 5", "12a", "\u0661\u0662", "\uff11"]),
)


@st.composite
def field_line(draw: st.DrawFn) -> bytes:
    name = draw(NAMES)
    value = draw(RETRY_VALUE) if name == "retry" and draw(st.booleans()) else draw(TEXT)
    separator = draw(st.sampled_from([":", ": ", ":  ", ""]))
    if separator == "":  # a line with no colon: the whole line is the field name
        value = ""
    return (name + separator + value).encode() + draw(EOL)


@st.composite
def uniform_run(draw: st.DrawFn) -> bytes:
    """Events of one common shape in a row: what the parser takes by splitting."""
    first = draw(st.sampled_from(["", "id: ", "event: "]))
    eol = draw(st.sampled_from([b"\n", b"\r\n"]))
    events = draw(st.lists(st.tuples(TEXT, TEXT), min_size=2, max_size=6))
    return b"".join(
        (first + value + "\n" if first else "").encode().replace(b"\n", eol)
        + b"data: "
        + data.encode()
        + eol
        + eol
        for value, data in events
    )


PIECE = st.one_of(
    field_line(),
    field_line(),
    field_line(),
    EOL,  # blank lines dispatch
    EOL.map(lambda eol: eol + eol),
    st.just(BOM),
    # the common shapes the parser takes whole (and near misses of them)
    st.sampled_from(
        [
            b"data: x\n\n",
            b"id: 7\ndata: y\n\n",
            b"id: \0\ndata: z\n\n",
            b"id: 8\ndata: a\ndata: b\n\n",
            b"id: 9\n\n",
            b"data: \n\n\n",
            b"event: t\ndata: x\n\n",
            b"id: 1\nevent: t\nid: 2\nevent: u\ndata: y\n\n",
            b"event: t\nid: \0\ndata: z\n\n",
            b"data: a\ndata: b\n\n",
            b"event:\ndata:\n\n",
        ]
    ),
    uniform_run(),
    st.binary(max_size=10),  # invalid UTF-8, NUL, stray CR/LF
    st.sampled_from([b"\xc3", b"\xa9", b"\xe2\x82", b"\xf0\x9f\x98", b"\xff", b"\xed\xa0\x80"]),
)


@st.composite
def streams(draw: st.DrawFn) -> bytes:
    prefix = draw(st.sampled_from([b"", b"", BOM, BOM + BOM, BOM[:2]]))
    return prefix + b"".join(draw(st.lists(PIECE, max_size=30)))


CUTS = st.lists(st.integers(0, 400), max_size=12)


# --- properties ---


@given(streams(), CUTS)
@example(b"data: a\r\n\r\n", [8])
@example(BOM + b"data: x\n\n", [1, 2])
@example(b"id: 1\ndata: \xe2\x82\xac\r", [16])
@example(b"data: a\n\n: ping\ndata: b\n\n", [])  # a comment between events of one read
def test_every_chunking_gives_the_references_events_and_comments_in_wire_order(
    stream: bytes, cuts: list[int]
) -> None:
    expected = reference(stream)
    whole = run([stream])
    assert (whole.items, whole.retry, whole.last_event_id, whole.error) == (
        expected.items,
        expected.retry,
        expected.last_event_id,
        None,
    )
    assert run([stream], whole_events=True) == whole
    for name, chunks in chunkings(stream, cuts).items():
        assert run(chunks) == whole, name


@given(streams(), CUTS, st.integers(8, 48))
@example(b"data: a\n\ndata: 0123456789ab\n\n", [], 10)  # data over the limit, after an event
@example(b"data: a\n\n: 0123456789ab\n\ndata: b\n\n", [], 10)  # a complete line too long
@example(b"data: a\n\n:0123456789", [], 10)  # an incomplete line too long
@example(b"data: a\n\nxyz\n01234567\n89ab\n", [9], 10)  # a long line that straddles chunks
@example(b"retry: 5\n0123456789a\nretry: 7\n", [], 10)  # lines after the violation are unread
@example(b"data: a\n\ndata:abcd\ndata:abcd\ndata:ab\n\n", [], 10)  # data of short lines
@example(b"data: a\n\ndata:abcd\ndata:abcd\ndata:ab\nid: 0123456789\n", [], 10)
@example(b"data: a\n\ndata:abcd\ndata:abcd\ndata:ab\n0123456789a", [], 10)
# an open event's last line, taken whole after a read of several events, over the limit
@example(b"data: a\n\ndata: b\n\ndata:abcde\ndata:abcde\ndata: a\n\n", [40], 12)
def test_every_chunking_agrees_on_whether_and_where_the_size_limit_is_exceeded(
    stream: bytes, cuts: list[int], limit: int
) -> None:
    whole = run([stream], max_event_size=limit)
    assert run([stream], whole_events=True, max_event_size=limit) == whole
    for name, chunks in chunkings(stream, cuts).items():
        assert run(chunks, max_event_size=limit) == whole, name
    unlimited = run([stream])
    if whole.error is None:
        assert whole.items == unlimited.items
    else:  # the items before the violation, and nothing after it
        assert whole.items == unlimited.items[: len(whole.items)]
    if whole.error is not None:
        assert whole.error[1] == limit
    if limit >= len(stream):  # no line or event can be larger than the stream
        assert whole.error is None
    assert whole.after_reset == [MessageEvent("message", "ok", whole.last_event_id)]


@given(streams(), st.sampled_from(["", "http://h:1"]), st.sampled_from(["", "7"]))
@example(b"data\n\ndata\ndata\n\ndata:\n", "", "")  # the spec's examples
@example(b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\n", "", "")
@example(b"retry: 12a\nretry: 100\nretry: 1.5\nid: a\x00b\n\n", "", "7")
def test_parser_agrees_with_a_line_by_line_reference_of_the_spec(
    stream: bytes, origin: str, last_event_id: str
) -> None:
    outcome = run([stream], origin=origin, last_event_id=last_event_id)
    expected = reference(stream, origin, last_event_id)
    assert outcome.error is None
    assert outcome.items == expected.items
    assert outcome.retry == expected.retry
    assert outcome.last_event_id == expected.last_event_id


UNSTRUCTURED = st.text(
    alphabet=st.sampled_from(list("dataevntirys: \r\n\ufeff\u00e9\U0001f600x0123")), max_size=80
)


@given(UNSTRUCTURED, CUTS)
def test_unstructured_valid_utf8_text_matches_the_reference_under_random_chunking(
    text: str, cuts: list[int]
) -> None:
    stream = text.encode()
    expected = reference(stream)
    outcome = run(split(stream, cuts))
    assert outcome.error is None
    assert (outcome.items, outcome.retry, outcome.last_event_id) == (
        expected.items,
        expected.retry,
        expected.last_event_id,
    )


# --- bounded memory ---


@given(
    limit=st.integers(1, 5000),
    chunk_size=st.integers(1, 3000),
    byte=st.sampled_from([b"x", b"\xff", b"\0", b"\xe2"]),
    prefix=st.sampled_from([b"", b"data: ", b"data: a\n\n", BOM]),
)
def test_a_never_ending_line_raises_and_buffered_bytes_stay_bounded(
    limit: int, chunk_size: int, byte: bytes, prefix: bytes
) -> None:
    chunks = [prefix] + [byte * chunk_size] * (2 * limit // chunk_size + 2)

    def held_after_the_error() -> int:
        parser = Parser(max_event_size=limit)
        with traced() as held:

            def bounded() -> None:
                # the line so far, in pieces of ~50 bytes of header each, and one chunk
                assert held() <= limit * (1 + 64 // chunk_size) + chunk_size + SLACK

            _, fed, error = feed_all(parser, chunks, bounded)
            assert error is not None
            assert "max_event_size" in str(error)
            assert fed <= len(prefix) + limit  # raised by the chunk that crossed the limit
            return held()

    # The first run pays what happens once per process and no parser holds,
    # which the tracer would count (CPython filling its caches; a coverage
    # tracer recording the lines it first sees: 4 KiB under `make test`).
    held_after_the_error()
    assert held_after_the_error() <= 4096  # the broken line was dropped: the error alone is held


@given(
    limit=st.integers(1, 5000),
    chunk_size=st.integers(1, 3000),
    line_size=st.integers(0, 200),
    eol=EOL,
)
def test_one_huge_event_raises_and_buffered_data_stays_bounded(
    limit: int, chunk_size: int, line_size: int, eol: bytes
) -> None:
    parser = Parser(max_event_size=limit)
    line = b"data: " + b"y" * line_size + eol
    stream = line * (limit // (line_size + 1) + 2)  # one event, never dispatched

    chunks = [stream[start : start + chunk_size] for start in range(0, len(stream), chunk_size)]
    line_count = limit // (line_size + 1) + 2
    with traced() as held:

        def bounded() -> None:
            # the event's data (a string per line, or joined), a partial line,
            # the decoded text of one chunk, and the lines it splits into
            assert held() <= 3 * limit + 64 * line_count + 4 * chunk_size + SLACK

        events, _, error = feed_all(parser, chunks, bounded)
    assert events == []
    assert error is not None
    assert "max_event_size" in str(error)


@pytest.mark.parametrize(("limit", "chunk_size"), [(64 * 1024, 4096), (256 * 1024, 65536)])
def test_peak_memory_of_an_endless_line_is_bounded_by_limit_plus_chunk(
    limit: int, chunk_size: int
) -> None:
    parser = Parser(max_event_size=limit)
    chunk = b"z" * chunk_size
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        _, _, error = feed_all(parser, [chunk] * (100 * limit // chunk_size))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error is not None
    assert peak <= limit + chunk_size + 64 * 1024


@pytest.mark.parametrize(("limit", "line_size"), [(64 * 1024, 100), (256 * 1024, 5000)])
def test_peak_memory_of_a_huge_event_is_bounded_by_a_small_multiple_of_the_limit(
    limit: int, line_size: int
) -> None:
    parser = Parser(max_event_size=limit)
    chunk = (b"data: " + b"w" * line_size + b"\n") * 10
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        _, _, error = feed_all(parser, [chunk] * (100 * limit // len(chunk)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error is not None
    # the data lines (str objects with ~50 bytes of header each) plus one decoded chunk
    assert peak <= 2 * limit + 4 * len(chunk) + 64 * 1024


def test_tiny_data_lines_fed_one_by_one_are_kept_in_few_strings() -> None:
    # A string per line would cost ~50 bytes more than the line itself: 20 times
    # the 3 bytes ("xy" and its LF) each line adds to the event's data here.
    parser = Parser()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for _ in range(100_000):
            parser.feed(b"data: xy\n")
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - before < 3 * 300_000
    (event,) = parser.feed(b"\n")
    assert event.data == "\n".join(["xy"] * 100_000)
