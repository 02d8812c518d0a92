"""WebSocket messages from frames (RFC 6455 §5.2, §5.4), as data: frames in, a verdict out.

The gateway hands ``MessageAssembler.feed`` each data frame (its opcode, fin bit, whether
a reserved bit is set, its payload) and does what the verdict says; control frames stay
the gateway's. A connection has one assembler. Verdicts:

- ``None``: a fragment was kept (or the rest of a refused binary message dropped);
- ``bytes``: a whole text message, to answer;
- ``BINARY``: a binary message began: answer once that only JSON text is served;
- ``Fail(code, reason)``: fail the connection with that close code.

Every message costs bounded memory whatever the client sends: at most ``max_bytes`` of
payload (1009 past it) in at most ``max_fragments`` frames (1008 past it: without the count
a text frame followed by millions of empty continuations grows the fragment list without
end). A reserved bit set (no extension is ever negotiated here), a continuation of
nothing or a new message inside a fragmented one fails the connection with 1002.
"""

from __future__ import annotations

from typing import Final, NamedTuple

__all__ = [
    "BINARY",
    "DEFAULT_MAX_FRAGMENTS",
    "MESSAGE_TOO_BIG",
    "OP_BINARY",
    "OP_CONTINUATION",
    "OP_TEXT",
    "POLICY_VIOLATION",
    "PROTOCOL_ERROR",
    "Fail",
    "MessageAssembler",
    "Verdict",
]

# Data-frame opcodes (RFC 6455 §5.2).
OP_CONTINUATION: Final = 0x0
OP_TEXT: Final = 0x1
OP_BINARY: Final = 0x2

# Close codes (RFC 6455 §7.4.1).
PROTOCOL_ERROR: Final = 1002
POLICY_VIOLATION: Final = 1008
MESSAGE_TOO_BIG: Final = 1009

# Frames one message may arrive in (decided: clients that fragment at all send a few
# large fragments; 1024 keeps a 1 MiB message possible in 1 KiB pieces).
DEFAULT_MAX_FRAGMENTS: Final = 1024


class Fail(NamedTuple):
    """Fail the connection: send a close frame with ``code`` and ``reason``, then drop it."""

    code: int
    reason: bytes


class _Binary:
    def __repr__(self) -> str:
        return "BINARY"


# The verdict for the first frame of a binary message.
BINARY: Final = _Binary()

Verdict = bytes | _Binary | Fail | None


class MessageAssembler:
    """Reassembles one connection's text messages, within its limits."""

    __slots__ = ("_binary", "_fragments", "_size", "max_bytes", "max_fragments")

    def __init__(self, max_bytes: int, max_fragments: int = DEFAULT_MAX_FRAGMENTS) -> None:
        self.max_bytes = max_bytes
        self.max_fragments = max_fragments
        # The fragments of the text message in progress (None: none in progress).
        self._fragments: list[bytes] | None = None
        # Its payload bytes so far.
        self._size = 0
        # Frames of the binary message in progress (0: none in progress).
        self._binary = 0

    def __repr__(self) -> str:
        if self._fragments is not None:
            state = f"text: {len(self._fragments)} fragments, {self._size} bytes"
        elif self._binary:
            state = f"binary: {self._binary} fragments"
        else:
            state = "idle"
        return f"<MessageAssembler {state}>"

    @property
    def in_message(self) -> bool:
        """Whether a fragmented message is in progress."""
        return self._fragments is not None or self._binary > 0

    def feed(self, opcode: int, fin: bool, reserved: bool, payload: bytes) -> Verdict:
        """The verdict on one data frame (``opcode`` 0, 1 or 2)."""
        if reserved:
            return self._fail(PROTOCOL_ERROR, b"reserved bits set without an extension")
        if opcode == OP_TEXT:
            if self.in_message:
                return self._fail(PROTOCOL_ERROR, b"a new message before the last ended")
            if fin:
                return payload
            self._fragments = [payload]
            self._size = len(payload)
            return None
        if opcode == OP_CONTINUATION:
            return self._continue(fin, payload)
        if self.in_message:  # BINARY
            return self._fail(PROTOCOL_ERROR, b"a new message before the last ended")
        if not fin:
            self._binary = 1
        return BINARY

    def _continue(self, fin: bool, payload: bytes) -> Verdict:
        fragments = self._fragments
        if fragments is None:
            if not self._binary:
                return self._fail(PROTOCOL_ERROR, b"a continuation of nothing")
            self._binary += 1  # the rest of a binary message already refused
            if self._binary > self.max_fragments:
                return self._fail(POLICY_VIOLATION, b"too many fragments")
            if fin:
                self._binary = 0
            return None
        if len(fragments) >= self.max_fragments:
            return self._fail(POLICY_VIOLATION, b"too many fragments")
        self._size += len(payload)
        if self._size > self.max_bytes:
            return self._fail(MESSAGE_TOO_BIG, b"message too big")
        fragments.append(payload)
        if not fin:
            return None
        self._fragments = None
        self._size = 0
        return b"".join(fragments)

    def _fail(self, code: int, reason: bytes) -> Fail:
        self._fragments = None
        self._size = 0
        self._binary = 0
        return Fail(code, reason)
