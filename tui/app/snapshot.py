"""The open conversation's state as one immutable value: what the view's parts (title, status bar, confirmation
panel, queue) show. The view builds one per change and binds it down (`data_bind`); a part repaints only when
its own fields changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tui.protocol import ExecutionStatus, UsageTotals
from tui.session import ConnectionState

if TYPE_CHECKING:
    from tui.protocol import ActionEvent
    from tui.session import ConversationSession


@dataclass(frozen=True, slots=True)
class QueuedItem:
    id: str
    text: str
    state: str = "queued"


@dataclass(frozen=True, slots=True)
class ConversationSnapshot:
    id: str = ""
    server: str = ""
    title: str = ""
    status: ExecutionStatus = ExecutionStatus.UNKNOWN
    model: str = ""
    working_dir: str = ""
    confirms_actions: bool = False
    turn_started: float | None = None
    interrupting: bool = False
    pausing: bool = False
    connection: ConnectionState = ConnectionState.CONNECTING
    connection_reason: str = ""
    retry_at: float | None = None
    deleted: bool = False  # the server no longer has it (deleted by someone else)
    usage: UsageTotals = field(default_factory=UsageTotals)
    queue: tuple[QueuedItem, ...] = ()
    hold: str | None = None  # why the queue is not delivered
    waiting: bool = False  # for the user's confirmation
    pending: tuple[ActionEvent, ...] = ()  # the actions waiting for it
    runtime_problem: str = ""  # the server says the conversation's runtime is missing, failed or starting (1.58)
    capacity_wait: str | None = None  # what waits for a full server (429): "server full: …"

    @property
    def open(self) -> bool:
        return bool(self.id)


def snapshot_of(session: ConversationSession, *, pausing: bool = False, deleted: bool = False) -> ConversationSnapshot:
    info = session.info
    turn = session.turn
    waiting = session.status is ExecutionStatus.WAITING_FOR_CONFIRMATION and not deleted
    return ConversationSnapshot(
        id=session.id,
        server=session.server_name,
        title=session.title or session.id,
        status=session.status,
        model=info.model if info is not None else "",
        working_dir=info.working_dir if info is not None else "",
        confirms_actions=info.confirms_actions if info is not None else False,
        turn_started=turn.started_at if turn.active else None,
        interrupting=turn.interrupting,
        pausing=pausing,
        connection=session.connection.state,
        connection_reason=session.connection.reason,
        retry_at=session.connection.retry_at,
        deleted=deleted,
        usage=session.usage,
        queue=tuple(QueuedItem(item.id, item.text, str(item.state)) for item in session.outbox.items),
        hold=session.hold,
        waiting=waiting,
        pending=tuple(session.pending_actions()) if waiting else (),
        runtime_problem=info.runtime_problem if info is not None else "",
        capacity_wait=session.capacity_wait,
    )
