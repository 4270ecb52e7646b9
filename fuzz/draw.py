"""Turning a fuzzer's bytes into hostile inputs.

Both engines (atheris's libFuzzer and the Hypothesis loop) hand a target raw
bytes; `Draw` reads choices from them, so one input file replays one case
exactly on either engine. When the bytes run out every draw gives its
smallest choice, so any input, even empty, is a valid case.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

# Pieces a Cookie header is built from, beside the random ones.
SPECIALS = [
    "",
    " ",
    ";",
    "; ",
    "=",
    '"',
    "%",
    "%3A",
    "%ZZ",
    "%E9",
    "%C3%A9",
    "\x00",
    "\r\n",
    "\n",
    "\t",
    ",",
    "s:",
    "s%3A",
    "\xff",
    "é",
    "\ud800",
    "𝄞",
    "connect.sid",
    "connect.sid=",
    "$Version=1",
]


class Draw:
    """Choices read from a byte string, in order."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        self.pos += 1
        return self.data[self.pos - 1]

    def below(self, n: int) -> int:
        """An int in range(n), from as many bytes as n needs."""
        if n <= 1:
            return 0
        value, span = 0, 1
        while span < n:
            value = value * 256 + self.byte()
            span *= 256
        return value % n

    def flag(self) -> bool:
        return self.byte() & 1 == 1

    def pick(self, seq: Sequence[T]) -> T:
        return seq[self.below(len(seq))]

    def raw(self, limit: int) -> bytes:
        size = self.below(limit + 1)
        chunk = self.data[self.pos : self.pos + size]
        self.pos += len(chunk)
        return chunk

    def text(self, limit: int) -> str:
        """Text of several kinds: latin-1, UTF-8 (surrogates kept apart), or specials."""
        kind = self.below(4)
        chunk = self.raw(limit)
        if kind == 0:
            return chunk.decode("latin-1")
        if kind == 1:
            return chunk.decode("utf-8", "surrogateescape")
        if kind == 2:
            return chunk.decode("utf-8", "replace")
        return "".join(self.pick(SPECIALS) for _ in range(self.below(6)))

    def size(self) -> int:
        """A repeat count, now and then a large one (a huge header is 16 times that)."""
        return self.pick([0, 1, 2, 3, 7, 64, 300, 1000, 5000])
