"""The LLM's reply as it streams: deltas since the last agent message or action.

Deltas are transient (never stored, never replayed), so text that no final message will ever contain (cut off
by an interrupt or an error) is kept as an orphan, marked, instead of silently vanishing.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.protocol import StreamingDeltaEvent

MAX_ORPHANS = 20


@dataclass(frozen=True, slots=True)
class OrphanedText:
    text: str
    reasoning: str
    reason: str  # e.g. "interrupted", "error", "paused"


MAX_LIVE_CHARS = 1_000_000  # the live text kept per field; a reply that never ends keeps its newest part


class _Text:
    """Text appended piece by piece: each append is O(1) (no copy of what is already there, which made a long
    reply quadratic); the pieces are joined only when read, at most once per read."""

    __slots__ = ("_parts", "_size")

    def __init__(self, text: str = "") -> None:
        self._parts: list[str] = [text] if text else []
        self._size = len(text)

    def append(self, piece: str) -> None:
        self._parts.append(piece)
        self._size += len(piece)
        if self._size > 2 * MAX_LIVE_CHARS:
            self.value()  # drop the oldest part now, so a flood of deltas stays bounded

    def value(self) -> str:
        if len(self._parts) > 1 or self._size > MAX_LIVE_CHARS:
            text = "".join(self._parts)
            if len(text) > MAX_LIVE_CHARS:
                text = "…" + text[-(MAX_LIVE_CHARS - 1) :]
            self._parts, self._size = [text], len(text)
        return self._parts[0] if self._parts else ""


class TokenBuffer:
    __slots__ = ("_content", "_reasoning", "deltas", "orphans")

    def __init__(
        self, content: str = "", reasoning: str = "", deltas: int = 0, orphans: list[OrphanedText] | None = None
    ) -> None:
        self._content = _Text(content)
        self._reasoning = _Text(reasoning)
        self.deltas = deltas
        self.orphans: list[OrphanedText] = orphans if orphans is not None else []

    @property
    def content(self) -> str:
        return self._content.value()

    @content.setter
    def content(self, text: str) -> None:
        self._content = _Text(text)

    @property
    def reasoning(self) -> str:
        return self._reasoning.value()

    @reasoning.setter
    def reasoning(self, text: str) -> None:
        self._reasoning = _Text(text)

    @property
    def active(self) -> bool:
        return bool(self._content._size or self._reasoning._size)

    def feed(self, delta: StreamingDeltaEvent) -> bool:
        """Append one delta; True when visible text changed."""
        self.deltas += 1
        changed = False
        if delta.content:
            self._content.append(delta.content)
            changed = True
        if delta.reasoning_content:
            self._reasoning.append(delta.reasoning_content)
            changed = True
        return changed

    def settle(self) -> bool:
        """The final message or action arrived and carries this text: drop the live copy."""
        had = self.active
        self.content = self.reasoning = ""
        self.deltas = 0
        return had

    def orphan(self, reason: str) -> bool:
        """The turn ended without a message that holds this text: keep it, marked."""
        if not self.active:
            return False
        self.orphans.append(OrphanedText(self.content, self.reasoning, reason))
        del self.orphans[:-MAX_ORPHANS]
        self.content = self.reasoning = ""
        self.deltas = 0
        return True
