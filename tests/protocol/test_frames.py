"""The message assembler as data: frames in, verdicts out (no socket)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from posrisk.protocol.frames import (
    BINARY,
    MESSAGE_TOO_BIG,
    OP_BINARY,
    OP_CONTINUATION,
    OP_TEXT,
    POLICY_VIOLATION,
    PROTOCOL_ERROR,
    Fail,
    MessageAssembler,
)


def feed_all(assembler: MessageAssembler, frames: list[tuple[int, bool, bytes]]) -> list[object]:
    return [assembler.feed(opcode, fin, False, payload) for opcode, fin, payload in frames]


def test_a_whole_text_frame_is_a_message() -> None:
    assert MessageAssembler(100).feed(OP_TEXT, True, False, b"{}") == b"{}"


def test_fragments_are_joined() -> None:
    assembler = MessageAssembler(100)
    verdicts = feed_all(
        assembler,
        [(OP_TEXT, False, b'{"a"'), (OP_CONTINUATION, False, b":"), (OP_CONTINUATION, True, b"1}")],
    )
    assert verdicts == [None, None, b'{"a":1}']
    assert not assembler.in_message
    assert repr(assembler) == "<MessageAssembler idle>"


def test_a_binary_message_is_refused_once_and_its_rest_dropped() -> None:
    assembler = MessageAssembler(100)
    verdicts = feed_all(
        assembler,
        [
            (OP_BINARY, False, b"\x00"),
            (OP_CONTINUATION, False, b"\x01"),
            (OP_CONTINUATION, True, b""),
        ],
    )
    assert verdicts == [BINARY, None, None]
    assert assembler.feed(OP_TEXT, True, False, b"{}") == b"{}"


def test_the_size_limit_counts_every_fragment() -> None:
    assembler = MessageAssembler(10)
    assert assembler.feed(OP_TEXT, False, False, b"x" * 6) is None
    assert assembler.feed(OP_CONTINUATION, False, False, b"x" * 5) == Fail(
        MESSAGE_TOO_BIG, b"message too big"
    )
    assert not assembler.in_message


def test_the_fragment_limit_counts_empty_fragments() -> None:
    """The defect: a text frame with fin=0 then empty continuations grew without end."""
    assembler = MessageAssembler(1 << 20, max_fragments=4)
    assert assembler.feed(OP_TEXT, False, False, b"{") is None
    assert [assembler.feed(OP_CONTINUATION, False, False, b"") for _ in range(3)] == [None] * 3
    assert repr(assembler) == "<MessageAssembler text: 4 fragments, 1 bytes>"
    assert assembler.feed(OP_CONTINUATION, False, False, b"") == Fail(
        POLICY_VIOLATION, b"too many fragments"
    )


def test_the_fragment_limit_holds_for_a_refused_binary_message_too() -> None:
    assembler = MessageAssembler(100, max_fragments=2)
    assert assembler.feed(OP_BINARY, False, False, b"") is BINARY
    assert assembler.feed(OP_CONTINUATION, False, False, b"") is None
    assert assembler.feed(OP_CONTINUATION, False, False, b"") == Fail(
        POLICY_VIOLATION, b"too many fragments"
    )


def test_reserved_bits_fail_the_connection_on_any_data_frame() -> None:
    for opcode in (OP_TEXT, OP_BINARY, OP_CONTINUATION):
        verdict = MessageAssembler(100).feed(opcode, True, True, b"{}")
        assert verdict == Fail(PROTOCOL_ERROR, b"reserved bits set without an extension")


def test_fragments_out_of_order_fail_the_connection() -> None:
    orphan = MessageAssembler(100).feed(OP_CONTINUATION, True, False, b"x")
    assert orphan == Fail(PROTOCOL_ERROR, b"a continuation of nothing")
    for opcode in (OP_TEXT, OP_BINARY):
        assembler = MessageAssembler(100)
        assembler.feed(OP_TEXT, False, False, b"{")
        verdict = assembler.feed(opcode, True, False, b"{}")
        assert verdict == Fail(PROTOCOL_ERROR, b"a new message before the last ended")
        assert not assembler.in_message  # a failure forgets what was kept


frames = st.lists(
    st.tuples(
        st.sampled_from([OP_TEXT, OP_BINARY, OP_CONTINUATION]),
        st.booleans(),
        st.booleans(),
        st.binary(max_size=40),
    ),
    max_size=60,
)


@given(frames=frames)
def test_whatever_arrives_memory_stays_within_the_limits(
    frames: list[tuple[int, bool, bool, bytes]],
) -> None:
    assembler = MessageAssembler(64, max_fragments=8)
    for opcode, fin, reserved, payload in frames:
        verdict = assembler.feed(opcode, fin, reserved, payload)
        assert verdict is None or verdict is BINARY or isinstance(verdict, bytes | Fail)
        if isinstance(verdict, bytes):
            assert len(verdict) <= 64
        kept = assembler._fragments or []
        assert len(kept) <= 8 and sum(map(len, kept)) <= 64
