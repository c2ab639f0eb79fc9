"""The LLM's reply as it streams: deltas since the last agent message or action.

Deltas are transient (never stored, never replayed), so text that no final message will ever contain (cut off
by an interrupt or an error) is kept as an orphan, marked, instead of silently vanishing.

Two feeds: the events socket's `StreamingDeltaEvent`s (no id: `feed`, `settle`, `orphan`), and the session
socket's slots (`open_slot`, `add_delta`, `close_slot`, `abort_slot`), keyed by the id of the event that will
close them and by attempt (a provider retry re-streams the step: the higher attempt replaces the lower). A gap in
a slot's `order` (a dropped delta, or a slot joined after a reconnect) marks it lossy; the final event repairs it.
`content` and `reasoning` are what is on screen either way.

Text is appended piece by piece and joined only when read (at most once per read), so a long reply is linear,
not quadratic; each live field is capped, keeping its newest part, so a reply that never ends stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tui.protocol import StreamingDeltaEvent

MAX_ORPHANS = 20
MAX_LIVE_CHARS = 1_000_000  # the live text kept per field; a reply that never ends keeps its newest part


class _Text:
    """Text appended piece by piece: each append is O(1) (no copy of what is already there, which made a long
    reply quadratic); the pieces are joined only when read, at most once per read."""

    __slots__ = ("_parts", "_size")

    def __init__(self, text: str = "") -> None:
        self._parts: list[str] = [text] if text else []
        self._size = len(text)

    def __bool__(self) -> bool:
        return self._size > 0

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
    text: _Text = field(default_factory=_Text)
    reasoning: _Text = field(default_factory=_Text)
    next_order: int = 0
    lossy: bool = False  # a delta is missing: the final event holds the real text


class TokenBuffer:
    __slots__ = ("_content", "_reasoning", "deltas", "orphans", "slots")

    def __init__(
        self, content: str = "", reasoning: str = "", deltas: int = 0, orphans: list[OrphanedText] | None = None
    ) -> None:
        self._content = _Text(content)  # the events socket's feed (no ids)
        self._reasoning = _Text(reasoning)
        self.deltas = deltas
        self.orphans: list[OrphanedText] = orphans if orphans is not None else []
        self.slots: dict[str, Slot] = {}

    @property
    def content(self) -> str:
        if self.slots:
            return "".join(slot.text.value() for slot in self.slots.values())
        return self._content.value()

    @content.setter
    def content(self, text: str) -> None:
        self._content = _Text(text)

    @property
    def reasoning(self) -> str:
        if self.slots:
            return "".join(slot.reasoning.value() for slot in self.slots.values())
        return self._reasoning.value()

    @reasoning.setter
    def reasoning(self, text: str) -> None:
        self._reasoning = _Text(text)

    @property
    def lossy(self) -> bool:
        """Some streamed text on screen has a gap (the final message will have all of it)."""
        return any(slot.lossy for slot in self.slots.values())

    @property
    def active(self) -> bool:
        if self.slots:
            return any(slot.text or slot.reasoning for slot in self.slots.values())
        return bool(self._content or self._reasoning)

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

    def open_slot(self, item_id: str, attempt: int, anchor_seq: int | None = None) -> bool:
        """`item_started`. A higher attempt replaces the text of a lower one; True when visible text changed."""
        slot = self.slots.get(item_id)
        if slot is not None and slot.attempt >= attempt:
            return False
        had_text = slot is not None and bool(slot.text or slot.reasoning)
        self.slots[item_id] = Slot(attempt, anchor_seq)
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
            slot.reasoning.append(content)
        else:
            slot.text.append(content)
        return True

    def close_slot(self, item_id: str) -> bool:
        """The durable event with this id arrived: it holds the whole text (a lossy slot is repaired by it)."""
        slot = self.slots.pop(item_id, None)
        if slot is None:
            return False
        return bool(slot.text or slot.reasoning)

    def abort_slot(self, item_id: str, attempt: int, reason: str) -> bool:
        """`item_aborted`: no event will hold this text; keep it, marked ("cancelled" reads "interrupted")."""
        slot = self.slots.get(item_id)
        if slot is None or slot.attempt > attempt:
            return False
        del self.slots[item_id]
        if not (slot.text or slot.reasoning):
            return False
        reason = "interrupted" if reason == "cancelled" else reason or "aborted"
        self._keep(slot.text.value(), slot.reasoning.value(), reason)
        return True
