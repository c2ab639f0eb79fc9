"""The LLM's reply as it streams: deltas since the last agent message or action.

Deltas are transient (never stored, never replayed), so text that no final message will ever contain (cut off
by an interrupt or an error) is kept as an orphan, marked, instead of silently vanishing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tui.protocol import StreamingDeltaEvent

MAX_ORPHANS = 20


@dataclass(frozen=True, slots=True)
class OrphanedText:
    text: str
    reasoning: str
    reason: str  # e.g. "interrupted", "error", "paused"


@dataclass(slots=True)
class TokenBuffer:
    content: str = ""
    reasoning: str = ""
    deltas: int = 0
    orphans: list[OrphanedText] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return bool(self.content or self.reasoning)

    def feed(self, delta: StreamingDeltaEvent) -> bool:
        """Append one delta; True when visible text changed."""
        self.deltas += 1
        changed = False
        if delta.content:
            self.content += delta.content
            changed = True
        if delta.reasoning_content:
            self.reasoning += delta.reasoning_content
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
