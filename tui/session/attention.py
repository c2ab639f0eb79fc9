"""The attention queue: everything across all servers that needs the person, oldest first (no Textual).

A conversation needs the person when it waits for confirmation (its pending actions, with their risk), failed
(the error), is stuck, or finished while nobody was looking (the first lines of its last answer). The queue is
computed from the `WatchList` on demand; what the person dismissed stays hidden until the conversation enters
that state again (a new `since`).

Approving is all-or-nothing per conversation on the server, so "approve all" is a loop over conversations in
which one refusal is reported and does not stop the others (`approve_all`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from tui.protocol import (
    ActionEvent,
    AgentErrorEvent,
    ConversationErrorEvent,
    Event,
    ExecutionStatus,
    MessageEvent,
    SecurityRisk,
    risk_of,
)
from tui.sanitize import one_line

from .conversation import ConversationSession
from .watchlist import Key, WatchList, _parse_time

ANSWER_LINES = 2  # how much of a finished conversation's last answer the queue shows


class Reason(StrEnum):
    """Why a conversation is in the queue (the order of the members is not the queue's order: age is)."""

    WAITING = "waiting"
    ERROR = "error"
    STUCK = "stuck"
    FINISHED = "finished"


REASON_OF = {
    ExecutionStatus.WAITING_FOR_CONFIRMATION: Reason.WAITING,
    ExecutionStatus.ERROR: Reason.ERROR,
    ExecutionStatus.STUCK: Reason.STUCK,
    ExecutionStatus.FINISHED: Reason.FINISHED,
}


@dataclass(frozen=True, slots=True)
class Pending:
    """One action waiting for the person's approval."""

    action: ActionEvent
    risk: SecurityRisk | None


@dataclass(frozen=True, slots=True)
class AttentionItem:
    key: Key
    title: str
    reason: Reason
    since: float | None  # epoch seconds of the conversation's last activity (None: unknown, listed first)
    detail: str = ""  # the error, or the first lines of the last answer ("" when not loaded)
    pending: tuple[Pending, ...] = ()

    @property
    def server(self) -> str:
        return self.key[0]

    @property
    def token(self) -> tuple[Key, Reason, float | None]:
        """What a dismissal remembers: the same conversation in the same state since the same moment."""
        return (self.key, self.reason, self.since)


def _last_error(events: list[Event]) -> str:
    for event in reversed(events):
        if isinstance(event, ConversationErrorEvent):
            return one_line(event.detail or event.code, 200)
        if isinstance(event, AgentErrorEvent):
            return one_line(event.error, 200)
    return ""


def _answer_text(event: Event) -> str:
    """The agent's answer in an event: its message, or the message of its finish action."""
    if isinstance(event, MessageEvent) and event.source == "agent":
        return event.text
    if isinstance(event, ActionEvent) and event.action_kind == "FinishAction":
        message = (event.action or {}).get("message")
        return message if isinstance(message, str) else ""
    return ""


def _last_answer(events: list[Event], lines: int = ANSWER_LINES) -> str:
    for event in reversed(events):
        text = _answer_text(event).strip()
        if text:
            kept = [one_line(line, 200) for line in text.splitlines() if line.strip()]
            return "\n".join(kept[:lines])
    return ""


def _pending(session: ConversationSession) -> tuple[Pending, ...]:
    events = list(session.timeline)
    return tuple(Pending(action, risk_of(action.id, events)) for action in session.pending_actions())


@dataclass
class AttentionQueue:
    """The queue's state that is ours, not the servers': what the person dismissed."""

    watchlist: WatchList
    dismissed: set[tuple[Key, Reason, float | None]] = field(default_factory=set)

    def item(self, key: Key) -> AttentionItem | None:
        status = self.watchlist.status(key)
        reason = REASON_OF.get(status)
        if reason is None:
            return None
        if reason is Reason.FINISHED and key not in self.watchlist.attention:
            return None  # finished and already seen (or finished before this client started)
        row = self.watchlist.row(key)
        session = self.watchlist.session(key) or self.watchlist.fleet.sessions.get(key)
        events = list(session.timeline) if session is not None else []
        detail = ""
        pending: tuple[Pending, ...] = ()
        if reason is Reason.WAITING and session is not None:
            pending = _pending(session)
        elif reason is Reason.ERROR:
            detail = _last_error(events)
        elif reason is Reason.FINISHED:
            detail = _last_answer(events)
        since = row.last_activity
        if since is None and events:
            since = _parse_time(events[-1].timestamp)
        return AttentionItem(key, row.title, reason, since, detail, pending)

    def items(self) -> list[AttentionItem]:
        """Everything that needs the person, oldest first, without what was dismissed."""
        found: list[AttentionItem] = []
        for entry in self.watchlist.fleet.servers:
            for cid in list(entry.conversations):
                item = self.item((entry.name, cid))
                if item is not None and item.token not in self.dismissed:
                    found.append(item)
        found.sort(key=lambda i: (i.since is not None, i.since or 0.0, i.server, i.key[1]))
        return found

    def count(self) -> int:
        return len(self.items())

    def dismiss(self, item: AttentionItem) -> None:
        """Hide it until the conversation is in this state again since another moment; a finished one is seen."""
        self.dismissed.add(item.token)
        if item.reason is Reason.FINISHED:
            self.watchlist.attention.discard(item.key)


@dataclass(frozen=True, slots=True)
class Outcome:
    item: AttentionItem
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


async def approve_all(items: Iterable[AttentionItem], approve: Callable[[Key], Awaitable[object]]) -> list[Outcome]:
    """Approve every waiting conversation among `items`, one server call per conversation; a refusal or a failure
    on one is recorded in its outcome and the loop goes on."""
    outcomes: list[Outcome] = []
    for item in items:
        if item.reason is not Reason.WAITING:
            continue
        try:
            await approve(item.key)
        except Exception as error:  # one server's refusal is that conversation's outcome, not the loop's end
            outcomes.append(Outcome(item, error))
        else:
            outcomes.append(Outcome(item))
    return outcomes


__all__ = ["AttentionItem", "AttentionQueue", "Outcome", "Pending", "Reason", "approve_all"]
