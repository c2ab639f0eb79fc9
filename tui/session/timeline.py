"""The conversation's history: events in order, each exactly once.

Order is (timestamp, arrival) like the reference client: WebSocket order is not timestamp order, and REST
pages are log order, so sorting by the server's own timestamp is the one order every path agrees on.
Per-field state updates are kept (they are part of the server's history) but are not chat.

The timeline can forget its oldest events (`drop_oldest`: a session keeps a bounded tail while events flood in).
Their ids stay known, so a live path or a reconcile does not bring them back; paging older history in does
(`merge(..., readmit=True)`). What exactly-once needs of the dropped ones (the newest user message, the ids of
user messages by text) is kept as ids.
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
        self._dropped: set[str] = set()  # ids forgotten by `drop_oldest` (on the server, paged back on demand)
        self._dropped_user: dict[str, str] = {}  # id -> text of the user messages among them
        self._newest_user: tuple[tuple[str, int], str] | None = None  # (order key, id) of the newest user message

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

    @property
    def dropped(self) -> int:
        """How many events were forgotten (and not paged back in)."""
        return len(self._dropped)

    @property
    def newest_user_message_id(self) -> str | None:
        """The newest user message, held or dropped."""
        return self._newest_user[1] if self._newest_user else None

    def merge(self, events: Iterable[Event], *, readmit: bool = False) -> MergeResult:
        """Add what is new. Transient events (deltas, snapshots, server errors) and id-less events are refused,
        and so are dropped ones unless `readmit` (older history paged back in)."""
        result = MergeResult()
        for event in events:
            if event.is_transient or not event.id or event.id in self._ids:
                continue
            if event.id in self._dropped:
                if not readmit:
                    continue
                self._dropped.discard(event.id)
                self._dropped_user.pop(event.id, None)
            self._seq += 1
            key = (event.timestamp, self._seq)
            index = bisect.bisect_right(self._keys, key)
            if index < len(self._keys):
                result.reordered = True
            self._keys.insert(index, key)
            self._events.insert(index, event)
            self._ids.add(event.id)
            result.added.append(event)
            if isinstance(event, MessageEvent) and event.source == "user":
                if self._newest_user is None or key > self._newest_user[0]:
                    self._newest_user = (key, event.id)
        return result

    def drop_oldest(self, count: int) -> Event | None:
        """Forget the oldest `count` events (their ids stay known). Returns the newest one forgotten."""
        gone = self._events[:count]
        if not gone:
            return None
        del self._events[:count]
        del self._keys[:count]
        for event in gone:
            self._ids.discard(event.id)
            self._dropped.add(event.id)
            if isinstance(event, MessageEvent) and event.source == "user":
                self._dropped_user[event.id] = event.text
        return gone[-1]

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

    def user_message_ids(self, text: str) -> list[str]:
        """The ids of the user messages with this text, held or dropped (what a send compares against)."""
        dropped = [eid for eid, body in self._dropped_user.items() if body == text]
        return dropped + [e.id for e in self.user_messages(text)]
