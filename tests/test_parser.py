"""Spec rules of the WHATWG event-stream parser, one test per rule."""

from __future__ import annotations

import pytest

from eventsource import MessageEvent, ProtocolError
from eventsource._event import message_events
from eventsource._parser import WINDOW
from eventsource.decode import Comment, Parser


def parse(data: bytes, **kwargs: object) -> tuple[list[MessageEvent], Parser]:
    """The events of ``data`` (the test fails on a comment: see ``items``)."""
    parser = Parser(**kwargs)  # type: ignore[arg-type]
    events = parser.feed(data)
    assert all(isinstance(e, MessageEvent) for e in events)
    return events, parser  # type: ignore[return-value]


def items(data: bytes) -> list[MessageEvent | Comment]:
    return Parser().feed(data)


def datas(data: bytes) -> list[str]:
    return [e.data for e in items(data) if isinstance(e, MessageEvent)]


def test_simple_event_has_message_type_and_data() -> None:
    events, _ = parse(b"data: hello\n\n")
    assert events == [MessageEvent("message", "hello", "", "")]


@pytest.mark.parametrize(
    "stream",
    [b"data: a\r\n\r\n", b"data: a\n\n", b"data: a\r\r", b"data: a\r\n\n", b"data: a\r\r\n"],
)
def test_crlf_lf_and_cr_each_end_a_line(stream: bytes) -> None:
    assert datas(stream) == ["a"]


def test_cr_at_chunk_end_and_lf_in_next_chunk_is_one_line_break() -> None:
    parser = Parser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\ndata: b\r") == []
    events = parser.feed(b"\n\r\n")
    assert [e.data for e in events] == ["a\nb"]


def test_lone_cr_then_lf_in_later_chunk_after_empty_chunk() -> None:
    parser = Parser()
    parser.feed(b"data: a\r")
    assert parser.feed(b"") == []
    assert [e.data for e in parser.feed(b"\n\n")] == ["a"]


def test_data_lines_are_joined_with_lf_and_final_lf_removed() -> None:
    assert datas(b"data: a\ndata: b\ndata\ndata:\n\n") == ["a\nb\n\n"]


def test_exactly_one_leading_space_is_removed() -> None:
    assert datas(b"data:  two\n\ndata:none\n\n") == [" two", "none"]


def test_field_without_colon_has_empty_value() -> None:
    assert datas(b"data\n\n") == [""]


def test_comment_lines_are_returned_with_one_leading_space_removed() -> None:
    assert items(b": hello\n:world\n:  two\n:\ndata: x\n\n") == [
        Comment("hello"),
        Comment("world"),
        Comment(" two"),
        Comment(""),
        MessageEvent("message", "x", "", ""),
    ]


def test_events_and_comments_of_one_read_come_out_in_wire_order() -> None:
    # Comments used to reach a callback while the read was decoded: before the
    # read's events, so a listener saw `ping, a, b`.
    assert items(b"data: a\n\n: ping\ndata: b\n\n") == [
        MessageEvent("message", "a"),
        Comment("ping"),
        MessageEvent("message", "b"),
    ]


def test_a_comment_inside_an_event_comes_out_before_that_event() -> None:
    # The event is complete only at its blank line, after the comment.
    assert items(b"data: a\n: ping\ndata: b\n\n: pong\n") == [
        Comment("ping"),
        MessageEvent("message", "a\nb"),
        Comment("pong"),
    ]


def test_comments_keep_their_order_among_events_taken_whole() -> None:
    parser = Parser()
    assert len(parser.feed(b"data: 0\n\ndata: 1\n\n")) == 2  # several events: fast path on
    stream = b"data: 2\n\ndata: 3\n\n: ping\ndata: 4\n\ndata: 5\n\n:end\n"
    assert parser.feed(stream) == [
        MessageEvent("message", "2"),
        MessageEvent("message", "3"),
        Comment("ping"),
        MessageEvent("message", "4"),
        MessageEvent("message", "5"),
        Comment("end"),
    ]


def test_a_heartbeat_alone_is_one_comment_and_no_event() -> None:
    assert items(b":keepalive\n\n") == [Comment("keepalive")]


def test_unknown_fields_are_ignored() -> None:
    assert datas(b"foo: bar\ndata: x\nDATA: y\n\n") == ["x"]


def test_empty_data_buffer_dispatches_nothing_but_updates_last_event_id() -> None:
    events, parser = parse(b"id: 7\n\n")
    assert events == []
    assert parser.last_event_id == "7"


def test_event_field_sets_type_and_resets_after_dispatch() -> None:
    events, _ = parse(b"event: chat\ndata: a\n\ndata: b\n\n")
    assert [(e.type, e.data) for e in events] == [("chat", "a"), ("message", "b")]


def test_empty_event_field_means_message() -> None:
    events, _ = parse(b"event:\ndata: a\n\n")
    assert events[0].type == "message"


def test_event_type_without_data_is_discarded_at_blank_line() -> None:
    events, _ = parse(b"event: chat\n\ndata: b\n\n")
    assert [(e.type, e.data) for e in events] == [("message", "b")]


def test_id_persists_to_later_events_and_empty_id_resets_it() -> None:
    events, parser = parse(b"id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\n")
    assert [e.last_event_id for e in events] == ["1", "1", ""]
    assert parser.last_event_id == ""


def test_id_containing_nul_is_ignored() -> None:
    events, _ = parse(b"id: 1\n\nid: a\x00b\ndata: x\n\n")
    assert events[0].last_event_id == "1"


def test_id_set_after_data_in_same_block_applies_to_that_event() -> None:
    events, _ = parse(b"data: x\nid: 5\n\n")
    assert events[0].last_event_id == "5"


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        (b"retry: 1500\n", 1.5),
        (b"retry:0\n", 0.0),
        (b"retry: 10\nretry: x\n", 0.01),
        (b"retry: 1.5\n", None),
        (b"retry: -1\n", None),
        (b"retry: \n", None),
        (b"retry: 12a\n", None),
        ("retry: \u0661\u0662\n".encode(), None),  # Arabic-Indic digits are not ASCII digits
    ],
)
def test_retry_only_accepts_ascii_digits(stream: bytes, expected: float | None) -> None:
    _, parser = parse(stream)
    assert parser.retry == expected


def test_leading_bom_is_stripped_once_at_stream_start_only() -> None:
    events, _ = parse(b"\xef\xbb\xbfdata: a\n\n\xef\xbb\xbfdata: b\n\n")
    assert [e.data for e in events] == ["a"]  # the second BOM makes the field unknown


def test_bom_split_across_chunks_is_stripped() -> None:
    parser = Parser()
    assert parser.feed(b"\xef") == []
    assert parser.feed(b"\xbb") == []
    assert [e.data for e in parser.feed(b"\xbfdata: a\n\n")] == ["a"]


def test_invalid_utf8_becomes_replacement_character() -> None:
    assert datas(b"data: a\xffb\xc3\n\n") == ["a\ufffdb\ufffd"]


def test_multibyte_character_split_across_chunks_is_decoded() -> None:
    parser = Parser()
    raw = "data: h\u00e9llo \u20ac \U0001f600\n\n".encode()
    events: list[MessageEvent] = []
    for i in range(len(raw)):
        events += parser.feed(raw[i : i + 1])
    assert [e.data for e in events] == ["h\u00e9llo \u20ac \U0001f600"]


def test_incomplete_event_at_end_of_stream_is_discarded_by_reset() -> None:
    parser = Parser()
    assert parser.feed(b"id: 1\ndata: a\n\nid: 2\ndata: partial\n") != []
    parser.reset()
    assert parser.last_event_id == "1"
    assert [(e.data, e.last_event_id) for e in parser.feed(b"data: b\n\n")] == [("b", "1")]


def test_reset_discards_a_partial_line_and_allows_a_new_bom() -> None:
    parser = Parser()
    parser.feed(b"data: part")
    parser.reset()
    assert [e.data for e in parser.feed(b"\xef\xbb\xbfdata: new\n\n")] == ["new"]


def test_retry_survives_reset() -> None:
    parser = Parser()
    parser.feed(b"retry: 250\n")
    parser.reset()
    assert parser.retry == 0.25


def test_origin_and_initial_last_event_id_are_used() -> None:
    events, _ = parse(b"data: a\n\n", origin="http://h:1", last_event_id="9")
    assert events == [MessageEvent("message", "a", "9", "http://h:1")]


def test_json_helper_decodes_data() -> None:
    events, _ = parse(b'data: {"a": [1, 2]}\n\n')
    assert events[0].json() == {"a": [1, 2]}
    assert events[0].lastEventId == ""


def test_spec_example_stock_ticker() -> None:
    stream = b"data: YHOO\ndata: +2\ndata: 10\n\n"
    assert datas(stream) == ["YHOO\n+2\n10"]


def test_spec_example_four_blocks() -> None:
    stream = (
        b": test stream\n\ndata: first event\nid: 1\n\n"
        b"data:second event\nid\n\ndata:  third event\n"
    )
    parser = Parser()
    assert parser.feed(stream) == [
        Comment("test stream"),
        MessageEvent("message", "first event", "1"),
        MessageEvent("message", "second event", ""),
    ]
    parser.reset()
    assert parser.feed(b"\n") == []


def test_spec_example_two_events_one_empty() -> None:
    assert datas(b"data\n\ndata\ndata\n\ndata:\n") == ["", "\n"]


def test_spec_example_space_after_colon_is_optional() -> None:
    assert datas(b"data:test\n\ndata: test\n\n") == ["test", "test"]


def test_pending_line_longer_than_limit_raises_protocol_error() -> None:
    parser = Parser(max_event_size=10)
    parser.feed(b"data: 1234")
    with pytest.raises(ProtocolError, match="max_event_size") as info:
        parser.feed(b"5")
    assert info.value.limit == 10


def test_event_data_larger_than_limit_raises_protocol_error() -> None:
    parser = Parser(max_event_size=10)
    with pytest.raises(ProtocolError):
        parser.feed(b"data: 12345\ndata: 12345\n")
    with pytest.raises(ProtocolError):  # stays failed until reset
        parser.feed(b"\n")
    parser.reset()
    assert [e.data for e in parser.feed(b"data: ok\n\n")] == ["ok"]


def test_events_before_a_limit_violation_are_returned_then_error_raised() -> None:
    parser = Parser(max_event_size=10)
    events = parser.feed(b"data: a\n\ndata: 0123456789ab\n")
    assert [e.data for e in events] == ["a"]  # type: ignore[union-attr]
    assert parser.error is not None
    with pytest.raises(ProtocolError):
        parser.feed(b"\n")


def test_a_comment_before_a_limit_violation_is_returned_then_error_raised() -> None:
    parser = Parser(max_event_size=10)
    assert parser.feed(b": hi\n0123456789ab\n") == [Comment("hi")]
    with pytest.raises(ProtocolError) as info:
        parser.feed(b"")
    assert info.value is parser.error


def test_max_event_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Parser(max_event_size=0)


def test_data_lines_split_across_feeds_join_into_one_event() -> None:
    parser = Parser()
    assert parser.feed(b"event: chat\ndata: a\ndata: b\n") == []
    [event] = parser.feed(b"data: c\ndata: d\n\n")
    assert (event.type, event.data) == ("chat", "a\nb\nc\nd")


def test_a_block_of_data_lines_counts_toward_the_limit_like_single_lines() -> None:
    whole, chunked = Parser(max_event_size=11), Parser(max_event_size=11)
    stream = b"data: 1234\ndata: 5678\ndata: 9\n\n"
    with pytest.raises(ProtocolError):
        whole.feed(stream)
    with pytest.raises(ProtocolError):
        for i in range(len(stream)):
            chunked.feed(stream[i : i + 1])


def test_a_block_of_data_lines_exactly_at_the_limit_is_accepted() -> None:
    whole, chunked = Parser(max_event_size=12), Parser(max_event_size=12)
    stream = b"data: 1234\ndata: 5678\ndata: 9\n\n"
    events = [e.data for e in whole.feed(stream)]
    for i in range(len(stream)):
        events += [e.data for e in chunked.feed(stream[i : i + 1])]
    assert events == ["1234\n5678\n9", "1234\n5678\n9"]


def test_a_read_larger_than_the_decoding_window_gives_the_same_events() -> None:
    # Reads past WINDOW are decoded a window at a time; the cuts fall mid-line.
    stream = b"".join(b"id: %d\ndata: %s\n\n" % (i, b"x" * (i % 300)) for i in range(3000))
    stream += b"data: " + b"y" * (WINDOW + 10) + b"\n\n"  # one line across windows
    assert len(stream) > 3 * WINDOW
    whole = Parser().feed(stream)
    chunked = Parser()
    events = [e for i in range(0, len(stream), 4096) for e in chunked.feed(stream[i : i + 4096])]
    assert whole == events
    assert len(whole) == 3001
    assert whole[2999] == MessageEvent("message", "x" * (2999 % 300), "2999", "")
    assert whole[-1].data == "y" * (WINDOW + 10)


@pytest.mark.parametrize("size", [1, 7, 100, 4096])
def test_an_event_of_many_data_lines_is_the_same_under_any_chunking(size: int) -> None:
    # An open event's lines are joined into pieces as they come (see COMPACT_LINES).
    stream = b"".join(b"data: %d\n" % i for i in range(1000)) + b"event: e\n\n"
    parser = Parser()
    events = [e for i in range(0, len(stream), size) for e in parser.feed(stream[i : i + size])]
    assert events == [MessageEvent("e", "\n".join(str(i) for i in range(1000)))]


def test_a_big_read_returns_the_events_before_a_limit_violation_then_raises() -> None:
    parser = Parser(max_event_size=100)
    events = parser.feed(b"data: a\n\n" + b"data: " + b"x" * (2 * WINDOW) + b"\n\n")
    assert [e.data for e in events] == ["a"]
    with pytest.raises(ProtocolError):
        parser.feed(b"data: b\n\n")


def test_a_big_read_with_no_event_before_a_limit_violation_raises_at_once() -> None:
    parser = Parser(max_event_size=100)
    with pytest.raises(ProtocolError, match="max_event_size"):
        parser.feed(b"data: " + b"x" * (2 * WINDOW) + b"\n\n")


def test_a_long_run_of_id_lines_between_small_events_is_read_in_one_pass() -> None:
    # After a read of several events the parser takes events whole where it can;
    # a run of id lines with no data line must not be rescanned from each of its
    # lines (a regular expression that did so, since gone, took minutes here).
    parser = Parser()
    assert len(parser.feed(b"data: a\n\ndata: b\n\n")) == 2
    events = parser.feed(b"id: 7\n" * 200_000 + b"event: e\n" * 10 + b"data: x\n\n")
    assert [(e.type, e.data, e.last_event_id) for e in events] == [("e", "x", "7")]


def line_by_line(*chunks: bytes) -> tuple[list[MessageEvent], str]:
    # One byte per feed: never more than one event per read, so never whole events.
    parser = Parser()
    events = [
        e for chunk in chunks for i in range(len(chunk)) for e in parser.feed(chunk[i : i + 1])
    ]
    return events, parser.last_event_id


@pytest.mark.parametrize(
    "body",
    [
        # the shapes taken by splitting
        b"data: 1\n\ndata: 2\n\ndata: \n\n",
        b"id: 1\ndata: x\n\nid: \ndata: y\n\nid: 3\ndata: z:\n\n",
        b"event: t\ndata: x\n\nevent: \ndata: y\n\nevent: u\ndata: data: z\n\n",
        b"data: a\r\n\r\ndata: b\r\n\r\ndata: c\r\n\r\n",
        b"id: 1\r\ndata: a\r\n\r\nid: 2\r\ndata: b\r\n\r\nid: 3\r\ndata: c\r\n\r\n",
        b"id: 1\nevent: t\ndata: x\n\nid: 2\nevent: \ndata: y\n\nid: \nevent: u\ndata: z\n\n",
        b"event: t\nid: 1\ndata: x\n\nevent: u\nid: \ndata: y\n\nevent: \nid: 3\ndata: \n\n",
        b"id: 1\r\nevent: t\r\ndata: a\r\n\r\nid: 2\r\nevent: u\r\ndata: b\r\n\r\n",
        # near misses: left to the line loop
        b"id: 1\nevent: t\ndata: x\n\nid: 2\ndata: y\n\n",
        b"id: 1\nevent: t\ndata: a\ndata: b\n\nid: 2\nevent: u\ndata: c\n\n",
        b"id: 1\nevent: t\ndata: x\n\nid: 2\ndata: y\nevent: u\ndata: z\n\n",
        b"id: 1\ndata: x\n\nid: 2\n\nid: 3\ndata: y\n\n",
        b"id: 1\nevent: t\ndata: x\n\nid: 2\nevent: u\n\nid: 3\nevent: v\ndata: z\n\n",
        b"id: 1\nevent: t\ndata: x\n\nid: 2\nevent: u\nevent: v\ndata: y\n\n",
        b"id: 1\nevent: t\ndata: x\n\nid: 2\nevent: u\ndata: y\ndata: z\n\n",
        b"id: 1\nevent: t\ndata: x\n\nid: 2\nevent: u\nid: 3\ndata: y\n\n",
        b"event: t\nid: 1\ndata: x\n\nevent: t\nid: \0\ndata: y\n\n",
        b"id: 1\nretry: 5\ndata: x\n\nid: 2\nretry: 5\ndata: y\n\n",
        b"id: 1\nid: 2\ndata: x\n\nid: 3\nid: 4\ndata: y\n\n",
        b"id: 1\r\nevent: t\r\ndata: a\r\n\r\nid: 2\r\nevent: u\rv\r\ndata: b\r\n\r\n",
        b"data: 1\n\ndata: 2\ndata: 3\n\n",
        b"id: 1\ndata: x\n\nid: 2\nevent: e\n\n",
        b"event: t\ndata: x\n\nevent: u\nid: 4\n\n",
        b"id: 1\ndata: x\n\nid: \0\ndata: y\n\n",
        b"id: 1\ndata: x\n\nid: 2\ndata: y\ndata: z\n\n",
        b"event: t\ndata: x\n\nevent: u\ndata: y\ndata: z\n\n",
        b"id: 1\ndata: x\n\nid: 2\nevent: e\ndata: y\n\nid: 3\ndata: z\n\n",
        b"event: t\ndata: x\n\nevent: u\nid: 5\ndata: y\n\nevent: v\ndata: z\n\n",
        b": hi\n\ndata: x\n\ndata: y\n\n",
        b"data: 1\n\n\ndata: 2\n\n",
        b"retry: 5\n\nid: 1\ndata: x\n\n",
        # CRLF, but with a lone CR or LF inside an event
        b"data: 0\r\n\r\ndata: 1\r\n\r\ndata: a\rb\r\n\r\ndata: c\r\n\r\n",
        b"id: 0\r\ndata: 0\r\n\r\nid: 1\r\ndata: x\r\r\n\r\nid: 2\r\ndata: y\r\n\r\n",
        b"id: 0\r\ndata: 0\r\n\r\nid: 1\rx\r\ndata: y\r\n\r\nid: 2\r\ndata: z\r\n\r\n",
        b"data: 0\r\n\r\ndata: 1\r\n\r\ndata: a\nb\r\n\r\ndata: c\r\n\r\n",
        b"data: 0\r\n\r\ndata: 1\n\ndata: 2\r\n\r\ndata: 3\r\r\n",
    ],
)
def test_events_taken_whole_after_a_read_of_several_are_the_line_loops_events(body: bytes) -> None:
    # After a read of several events, the events between the first and the last
    # blank line of a read are taken whole: by splitting when they share a
    # common shape, else by the line loop. Both must agree with the spec's line
    # loop fed one byte at a time, including the events around them.
    first, rest = b"id: 0\ndata: a\n\ndata: b\n\n", b"data: head\n\n" + body + b"data: t\n"
    parser = Parser()
    assert len(parser.feed(first)) == 2
    events = parser.feed(rest)
    events += parser.feed(b"\n")
    expected, last_event_id = line_by_line(first, rest, b"\n")
    assert [*parse(first)[0], *events] == expected
    assert parser.last_event_id == last_event_id
    assert events[-1] == MessageEvent("message", "t", last_event_id)


def test_events_built_from_columns_equal_those_of_the_constructor() -> None:
    # The parser builds events without calling __init__ (see message_events): the
    # same frozen values, every field set.
    built = message_events(["message", "chat"], ["a", "b\nc"], ["", "7"], "http://h:1")
    assert built == [
        MessageEvent("message", "a", "", "http://h:1"),
        MessageEvent("chat", "b\nc", "7", "http://h:1"),
    ]
    assert [type(event) for event in built] == [MessageEvent, MessageEvent]
    assert hash(built[1]) == hash(MessageEvent("chat", "b\nc", "7", "http://h:1"))
    with pytest.raises(AttributeError):
        built[0].data = "changed"  # type: ignore[misc]
    # A field added to MessageEvent must be added to message_events too.
    assert MessageEvent._fields == ("type", "data", "last_event_id", "origin")
    assert message_events([], [], [], "") == []
