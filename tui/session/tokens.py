"""The LLM's reply as it streams: deltas since the last agent message or action.

Deltas are transient (never stored, never replayed), so text that no final message will ever contain (cut off
by an interrupt or an error) is kept as an orphan, marked, instead of silently vanishing.

Two feeds: the events socket's `StreamingDeltaEvent`s (no id: `feed`, `settle`, `orphan`), and the session
socket's slots (`open_slot`, `add_delta`, `close_slot`, `abort_slot`), keyed by the id of the event that will
close them and by attempt (a provider retry re-streams the step: the higher attempt replaces the lower). A gap in
a slot's `order` (a dropped delta, or a slot joined after a reconnect) marks it lossy; the final event repairs it.
`content` and `reasoning` are what is on screen either way.
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
class Slot:
    """One streamed LLM output on the session socket."""

    attempt: int
    anchor_seq: int | None = None
    text: str = ""
    reasoning: str = ""
    next_order: int = 0
    lossy: bool = False  # a delta is missing: the final event holds the real text


@dataclass(slots=True)
class TokenBuffer:
    content: str = ""
    reasoning: str = ""
    deltas: int = 0
    orphans: list[OrphanedText] = field(default_factory=list)
    slots: dict[str, Slot] = field(default_factory=dict)

    @property
    def lossy(self) -> bool:
        """Some streamed text on screen has a gap (the final message will have all of it)."""
        return any(slot.lossy for slot in self.slots.values())

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
        self.slots.clear()
        return had

    def orphan(self, reason: str) -> bool:
        """The turn ended without a message that holds this text: keep it, marked."""
        if not self.active:
            self.slots.clear()
            return False
        self._keep(self.content, self.reasoning, reason)
        self.content = self.reasoning = ""
        self.deltas = 0
        self.slots.clear()
        return True

    def _keep(self, text: str, reasoning: str, reason: str) -> None:
        self.orphans.append(OrphanedText(text, reasoning, reason))
        del self.orphans[:-MAX_ORPHANS]

    # ------------------------------------------------------------------ session-socket slots

    def _render(self) -> None:
        self.content = "".join(slot.text for slot in self.slots.values())
        self.reasoning = "".join(slot.reasoning for slot in self.slots.values())

    def open_slot(self, item_id: str, attempt: int, anchor_seq: int | None = None) -> bool:
        """`item_started`. A higher attempt replaces the text of a lower one; True when visible text changed."""
        slot = self.slots.get(item_id)
        if slot is not None and slot.attempt >= attempt:
            return False
        had_text = slot is not None and bool(slot.text or slot.reasoning)
        self.slots[item_id] = Slot(attempt, anchor_seq)
        if had_text:
            self._render()
        return had_text

    def add_delta(self, item_id: str, attempt: int, order: int, kind: str, content: str) -> bool:
        """One `delta`; True when visible text changed. A delta of a slot never seen opening (it started before
        a reconnect) opens it, lossy unless it is the first; a delta of an older attempt is dropped."""
        slot = self.slots.get(item_id)
        if slot is None or slot.attempt < attempt:
            slot = self.slots[item_id] = Slot(attempt, lossy=order != 0)
            slot.next_order = order
        elif slot.attempt > attempt or order < slot.next_order:
            return False  # superseded attempt, or a repeat
        if order > slot.next_order:
            slot.lossy = True
        slot.next_order = order + 1
        self.deltas += 1
        if not content:
            return False
        if kind == "reasoning":
            slot.reasoning += content
        else:
            slot.text += content
        self._render()
        return True

    def close_slot(self, item_id: str) -> bool:
        """The durable event with this id arrived: it holds the whole text (a lossy slot is repaired by it)."""
        slot = self.slots.pop(item_id, None)
        if slot is None:
            return False
        self._render()
        return bool(slot.text or slot.reasoning)

    def abort_slot(self, item_id: str, attempt: int, reason: str) -> bool:
        """`item_aborted`: no event will hold this text; keep it, marked ("cancelled" reads "interrupted")."""
        slot = self.slots.get(item_id)
        if slot is None or slot.attempt > attempt:
            return False
        del self.slots[item_id]
        self._render()
        if not (slot.text or slot.reasoning):
            return False
        self._keep(slot.text, slot.reasoning, "interrupted" if reason == "cancelled" else reason or "aborted")
        return True
