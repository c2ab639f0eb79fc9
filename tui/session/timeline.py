"""The conversation's history: events in order, each exactly once.

Order is (timestamp, arrival) like the reference client: WebSocket order is not timestamp order, and REST
pages are log order, so sorting by the server's own timestamp is the one order every path agrees on.
Per-field state updates are kept (they are part of the server's history) but are not chat.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from tui.protocol import ActionEvent, ConversationStateUpdateEvent, Event, MessageEvent

# Kinds that answer an action: an ActionEvent is pending while none of these names it.
_ANSWERS = ("ObservationEvent", "AgentErrorEvent", "UserRejectObservation")


@dataclass(slots=True)
class MergeResult:
    added: list[Event] = field(default_factory=list)
    # True when some added event sorts before events already held: a view appending at the end is out of date.
    reordered: bool = False


class Timeline:
    def __init__(self) -> None:
        self._events: list[Event] = []
        self._keys: list[tuple[str, int]] = []
        self._ids: set[str] = set()
        self._seq = 0

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[Event]:
        return iter(self._events)

    def __getitem__(self, index: int) -> Event:
        return self._events[index]

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    @property
    def events(self) -> list[Event]:
        return list(self._events)

    @property
    def newest_timestamp(self) -> str | None:
        return self._keys[-1][0] if self._keys else None

    def add(self, event: Event) -> MergeResult:
        return self.merge((event,))

    def merge(self, events: Iterable[Event]) -> MergeResult:
        """Add what is new. Transient events (deltas, snapshots, server errors) and id-less events are refused."""
        result = MergeResult()
        for event in events:
            if event.is_transient or not event.id or event.id in self._ids:
                continue
            self._seq += 1
            key = (event.timestamp, self._seq)
            index = bisect.bisect_right(self._keys, key)
            if index < len(self._keys):
                result.reordered = True
            self._keys.insert(index, key)
            self._events.insert(index, event)
            self._ids.add(event.id)
            result.added.append(event)
        return result

    def chat_events(self) -> list[Event]:
        """What a reader wants: everything but the per-field state updates."""
        return [e for e in self._events if not isinstance(e, ConversationStateUpdateEvent)]

    def pending_actions(self) -> list[ActionEvent]:
        """Actions the agent proposed that nothing has answered yet (what a confirmation prompt shows)."""
        answered: set[str] = set()
        for event in self._events:
            if event.kind in _ANSWERS:
                action_id = getattr(event, "action_id", None)
                tool_call_id = getattr(event, "tool_call_id", None)
                answered.update(x for x in (action_id, tool_call_id) if x)
        return [
            e
            for e in self._events
            if isinstance(e, ActionEvent)
            and e.action is not None
            and e.id not in answered
            and e.tool_call_id not in answered
        ]

    def user_messages(self, text: str) -> list[MessageEvent]:
        return [e for e in self._events if isinstance(e, MessageEvent) and e.source == "user" and e.text == text]
