"""Which conversations are followed, pinned and marked for attention, and the list's rows (no Textual).

The UI follows every running conversation, every one waiting for confirmation, the open one and the pinned
ones; an idle conversation nobody asked to follow stops being followed when another one is opened. A status
change of a conversation that is not on screen into one that needs the user (finished, error, waiting...) marks
it for attention and is returned as an `Alert` for the UI to announce.

Following is started and stopped through the `Follow` callback the UI gives (it subscribes and starts a worker).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tui.protocol import ConversationInfo, ExecutionStatus
from tui.sanitize import one_line

from .conversation import ConversationSession
from .fleet import Fleet
from .rows import ConvRow, Key, ServerRow, conv_key, split_key


class Task(Protocol):
    """What the UI runs a session in (a Textual worker): something that can be cancelled."""

    def cancel(self) -> None: ...


@dataclass(slots=True)
class Watch:
    session: ConversationSession
    unsubscribe: Callable[[], None]
    worker: Task | None = None


# The UI's side of following a conversation: subscribe to it and run it; returns (task, unsubscribe).
Follow = Callable[[Key, ConversationSession], tuple[Task | None, Callable[[], None]]]


def _runtime_trouble(info: ConversationInfo | None) -> str:
    runtime = info.runtime_info if info is not None else None
    return runtime.runtime_status if runtime is not None and not runtime.is_usable else ""


@dataclass(frozen=True, slots=True)
class Alert:
    """A conversation not on screen reached a status that needs the user."""

    key: Key
    status: ExecutionStatus
    title: str

    @property
    def severe(self) -> bool:
        return self.status in (ExecutionStatus.ERROR, ExecutionStatus.STUCK)


def _parse_time(value: str | None) -> float | None:
    """ISO timestamp to epoch seconds; naive timestamps are local time (the server's events are)."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class WatchList:
    def __init__(self, fleet: Fleet, follow: Follow, *, auto_watch: bool = True) -> None:
        self.fleet = fleet
        self.follow = follow
        self.auto_watch = auto_watch
        self.watched: dict[Key, Watch] = {}
        self.current: Key | None = None
        self.pinned: set[Key] = set()
        self.attention: set[Key] = set()
        self.last_status: dict[Key, ExecutionStatus] = {}
        self.notified: list[tuple[Key, ExecutionStatus]] = []  # every alert given (what the user was told)
        self.deleting: set[Key] = set()  # deleted by us: its disappearance is no news
        self._children_index: dict[str, tuple[dict[str, ConversationInfo], dict[str, list[str]], int]] = {}

    # ------------------------------------------------------------------ following

    def watch(self, key: Key) -> ConversationSession:
        """Start following a conversation (idempotent); returns its session."""
        watch = self.watched.get(key)
        if watch is not None:
            return watch.session
        session = self.fleet.session(*key)
        worker, unsubscribe = self.follow(key, session)
        self.watched[key] = Watch(session, unsubscribe, worker)
        self.last_status.setdefault(key, session.status)
        return session

    def unwatch(self, key: Key) -> None:
        watch = self.watched.pop(key, None)
        if watch is None:
            return
        watch.unsubscribe()
        if watch.worker is not None:
            watch.worker.cancel()

    def unsubscribe_all(self) -> None:
        """Stop listening to every session (the UI is going away; its workers end with it)."""
        for watch in self.watched.values():
            watch.unsubscribe()

    def session(self, key: Key | None) -> ConversationSession | None:
        watch = self.watched.get(key) if key is not None else None
        return watch.session if watch is not None else None

    @property
    def current_session(self) -> ConversationSession | None:
        return self.session(self.current)

    def worker_ended(self, worker: object) -> Key | None:
        """A session's task ended: stop following it unless it is open or pinned. Returns its key."""
        for key, watch in list(self.watched.items()):
            if watch.worker is worker:
                watch.worker = None
                if key != self.current and key not in self.pinned:
                    self.unwatch(key)
                return key
        return None

    def open(self, key: Key) -> tuple[ConversationSession, Key | None]:
        """Make `key` the open conversation; returns its session and the previously open one (if another)."""
        previous = self.current
        session = self.watch(key)
        self.current = key
        self.attention.discard(key)
        if previous is None or previous == key:
            return session, None
        if self._idle(previous) and previous not in self.pinned:
            self.unwatch(previous)  # idle and nobody asked to follow it; running ones keep their worker
        return session, previous

    def _idle(self, key: Key) -> bool:
        session = self.session(key)
        return (
            session is not None
            and not session.status.is_busy()
            and session.status is not ExecutionStatus.WAITING_FOR_CONFIRMATION
            and not session.outbox.items
            and not session.turn.active
        )

    def toggle_pin(self, key: Key) -> bool:
        """Pin (and follow) or unpin; returns whether it is pinned now."""
        if key in self.pinned:
            self.pinned.discard(key)
            return False
        self.pinned.add(key)
        self.watch(key)
        return True

    def gone(self, key: Key) -> None:
        """The conversation no longer exists: forget everything about it."""
        self.attention.discard(key)
        self.pinned.discard(key)
        self.last_status.pop(key, None)
        self.unwatch(key)
        self.fleet.sessions.pop(key, None)
        if self.current == key and key in self.deleting:
            self.current = None

    # ------------------------------------------------------------------ what the list shows

    def info(self, key: Key) -> ConversationInfo | None:
        try:
            return self.fleet.entry(key[0]).conversations.get(key[1])
        except KeyError:
            return None

    def title(self, key: Key) -> str:
        session = self.session(key)
        info = self.info(key)
        title = (session.title if session is not None else None) or (info.title if info is not None else None)
        return one_line(title, 80) if title else key[1][:8]

    def status(self, key: Key) -> ExecutionStatus:
        session = self.session(key)
        if session is not None and session.status is not ExecutionStatus.UNKNOWN:
            return session.status
        info = self.info(key)
        return info.status if info is not None else ExecutionStatus.UNKNOWN

    def known(self, key: Key) -> bool:
        return key in self.watched or self.info(key) is not None

    def row(self, key: Key) -> ConvRow:
        info = self.info(key)
        session = self.session(key)
        last = _parse_time(info.updated_at) if info is not None else None
        if session is not None:
            newest = _parse_time(session.timeline.newest_timestamp)
            if newest and (last is None or newest > last):
                last = newest
        usage = session.usage if session is not None else (info.usage if info is not None else None)
        parent, forked_from, children = self._family(key, info)
        return ConvRow(
            server=key[0],
            id=key[1],
            title=self.title(key),
            status=self.status(key),
            last_activity=last,
            cost=usage.cost if usage is not None else 0.0,
            queued=len(session.outbox.items) if session is not None else 0,
            attention=key in self.attention,
            pinned=key in self.pinned,
            connection=session.connection.state.value if session is not None else "",
            parent=parent,
            forked_from=forked_from,
            forked_from_title=self.title((key[0], forked_from)) if forked_from else "",
            children=children,
            runtime=_runtime_trouble(session.info if session is not None and session.info is not None else info),
        )

    def _family(
        self, key: Key, info: ConversationInfo | None
    ) -> tuple[str | None, str | None, tuple[ExecutionStatus, ...]]:
        """(listed parent, fork origin, statuses of the listed children): a child is one whose
        `parent_conversation_id` names this one, or that this one lists in `sub_conversation_ids`."""
        try:
            listed = self.fleet.entry(key[0]).conversations
        except KeyError:
            return None, None, ()
        parent = info.parent_conversation_id if info is not None else None
        if parent == key[1] or parent not in listed:
            parent = None
        ids = set(self._children_of(key[0], listed).get(key[1], ()))
        if info is not None:
            ids.update(cid for cid in info.sub_conversation_ids if cid in listed)
        ids.discard(key[1])
        children = tuple(self.status((key[0], cid)) for cid in sorted(ids))
        return parent, info.forked_from_conversation_id if info is not None else None, children

    def _children_of(self, server: str, listed: dict[str, ConversationInfo]) -> dict[str, list[str]]:
        """parent id -> child ids on one server, indexed once per poll (each poll lists into a new dict)."""
        cached = self._children_index.get(server)
        if cached is not None and cached[0] is listed and cached[2] == len(listed):
            return cached[1]
        index: dict[str, list[str]] = {}
        for cid, other in listed.items():
            if other.parent_conversation_id:
                index.setdefault(other.parent_conversation_id, []).append(cid)
        self._children_index[server] = (listed, index, len(listed))  # add_local adds to the same dict
        return index

    def rows(self) -> tuple[list[ServerRow], list[Alert]]:
        """Every server's rows; follows the conversations that run or wait; the alerts since the last call."""
        servers: list[ServerRow] = []
        alerts: list[Alert] = []
        for entry in self.fleet.servers:
            server = ServerRow(
                entry.name,
                entry.state.value,
                entry.message,
                entry.retry_at,
                embedded=entry.config.embedded,
                full=entry.full,
            )
            for cid, info in entry.conversations.items():
                key = (entry.name, cid)
                alert = self._observe(key, info)
                if alert is not None:
                    alerts.append(alert)
                server.conversations.append(self.row(key))
            servers.append(server)
        return servers, alerts

    def changed_rows(self, server: str, cids: Iterable[str]) -> tuple[list[ConvRow], list[Alert]]:
        """What `rows` does for some conversations of one server only (a poll that changed a few)."""
        rows: list[ConvRow] = []
        alerts: list[Alert] = []
        for cid in cids:
            key = (server, cid)
            info = self.info(key)
            if info is None:
                continue
            alert = self._observe(key, info)
            if alert is not None:
                alerts.append(alert)
            rows.append(self.row(key))
        return rows, alerts

    def _observe(self, key: Key, info: ConversationInfo) -> Alert | None:
        """Follow a conversation that runs or waits; an alert when its status newly needs the user."""
        if self.auto_watch and (info.status.is_busy() or info.status is ExecutionStatus.WAITING_FOR_CONFIRMATION):
            self.watch(key)
        return self.saw_status(key, self.status(key))

    def saw_status(self, key: Key, status: ExecutionStatus) -> Alert | None:
        """Track status transitions; one into a status that needs the user, not on screen, is an alert."""
        previous = self.last_status.get(key)
        self.last_status[key] = status
        # The first real status seen (a session starts UNKNOWN, e.g. a pin followed again at start) is no news.
        if previous in (None, ExecutionStatus.UNKNOWN) or previous == status or status is ExecutionStatus.UNKNOWN:
            return None
        if not status.needs_attention() or key == self.current:
            return None
        self.attention.add(key)
        self.notified.append((key, status))
        return Alert(key, status, self.title(key))


__all__ = ["Alert", "ConvRow", "Follow", "Key", "ServerRow", "Task", "Watch", "WatchList", "conv_key", "split_key"]
