"""Text edits that keep a character offset map back to the original string.

A :class:`Mapped` string carries, for each of its characters, the ``[start, end)`` range of the
original text it came from. An edit replaces a range of the current text: when the replacement has
the same length the characters map one to one, otherwise every new character maps to the whole
replaced range (so a span over ``21弄`` made from ``二十一弄`` maps back to all four characters).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Mapped:
    """A string and, per character, the original range it came from."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    @classmethod
    def identity(cls, text: str) -> Mapped:
        """Map ``text`` onto itself."""
        n = len(text)
        return cls(text, tuple(range(n)), tuple(range(1, n + 1)))

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Return the original ``[start, end)`` of the normalised range ``[start, end)``.

        >>> Mapped("21弄", (0, 0, 3), (3, 3, 4)).original_span(0, 3)
        (0, 4)
        """
        if not 0 <= start < end <= len(self.text):
            raise IndexError(f"span ({start}, {end}) outside text of length {len(self.text)}")
        return self.starts[start], max(self.ends[start:end])

    def apply(self, edits: Iterable[tuple[int, int, str]]) -> Mapped:
        """Apply non-overlapping ``(start, end, replacement)`` edits given in increasing order."""
        text, starts, ends = self.text, self.starts, self.ends
        out: list[str] = []
        new_starts: list[int] = []
        new_ends: list[int] = []
        pos = 0
        for a, b, new in edits:
            if a < pos:
                continue  # overlapping edit: the first one wins
            out.append(text[pos:a])
            new_starts.extend(starts[pos:a])
            new_ends.extend(ends[pos:a])
            out.append(new)
            if len(new) == b - a:
                new_starts.extend(starts[a:b])
                new_ends.extend(ends[a:b])
            elif new:
                if a < b:
                    lo, hi = starts[a], ends[b - 1]
                else:  # pure insertion: attach to the preceding character
                    lo = starts[a - 1] if a else 0
                    hi = ends[a - 1] if a else 0
                new_starts.extend([lo] * len(new))
                new_ends.extend([hi] * len(new))
            pos = b
        if not out:
            return self
        out.append(text[pos:])
        new_starts.extend(starts[pos:])
        new_ends.extend(ends[pos:])
        return Mapped("".join(out), tuple(new_starts), tuple(new_ends))
