"""The open conversation in full: title, event log (+ token stream), confirmation, status bar, input, queue.

It reads a session's state (timeline, tokens, status, outbox...) and never calls it: the app does the I/O.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from tui.protocol import ExecutionStatus

from .. import render
from .confirmation import ConfirmationPanel
from .event_log import EventLog
from .message_input import MessageInput
from .queue_view import QueueView
from .status_bar import StatusBar, StatusData
from .token_stream import TokenStream

# Streamed deltas are coalesced: the first one after a flush schedules the next flush this much later (arrival to
# screen stays under ~100 ms; at most ~15 flushes a second however fast tokens come; none while nothing streams).
TOKEN_DELAY = 0.04


def _enum_value(value: Any) -> str:
    return str(getattr(value, "value", value) or "")


class ConversationView(Vertical):
    DEFAULT_CSS = """
    ConversationView { width: 1fr; }
    ConversationView #conv-title { height: 1; background: $panel; padding: 0 1; }
    ConversationView #conv-empty { height: 1fr; content-align: center middle; color: $text-muted; display: none; }
    ConversationView.-empty #conv-empty { display: block; }
    ConversationView.-empty EventLog, ConversationView.-empty #conv-title,
    ConversationView.-empty TokenStream { display: none; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session: Any = None
        self.server_total: int | None = None  # events on the server (counted when older ones exist)
        self.deleted = False  # the open conversation was deleted on the server (by someone else)
        self.pausing = False
        self._tokens_dirty = False
        self._token_timer: Any = None
        self._orphans_shown: tuple[int, int] = (0, 0)
        self._title = Static("", id="conv-title")
        self._stream = TokenStream(id="token-stream")
        self._log = EventLog(stream=self._stream, id="event-log")
        self._confirmation = ConfirmationPanel(id="confirmation")
        self._status = StatusBar(id="status-bar")
        self._input = MessageInput(id="message-input")
        self._queue = QueueView(id="queue")

    def compose(self) -> ComposeResult:
        yield self._title
        yield Static(
            Text("No conversation open.\n\nPick one on the left (enter), or ctrl+n for a new one.", justify="center"),
            id="conv-empty",
        )
        yield self._log
        yield self._stream
        yield self._confirmation
        yield self._status
        yield self._input
        yield self._queue

    def on_mount(self) -> None:
        self.add_class("-empty")

    @property
    def log_widget(self) -> EventLog:
        return self._log

    @property
    def status_bar(self) -> StatusBar:
        return self._status

    @property
    def input(self) -> MessageInput:
        return self._input

    @property
    def queue(self) -> QueueView:
        return self._queue

    @property
    def confirmation(self) -> ConfirmationPanel:
        return self._confirmation

    # ------------------------------------------------------------------ binding a session

    async def bind(self, session: Any) -> None:
        self.session = session
        self.deleted = False
        self.remove_class("-deleted")
        self.pausing = False
        self.remove_class("-empty")
        self.update_title()
        tokens = session.tokens
        self.server_total = None
        self.log_widget.loading_older = False
        self.log_widget.set_server_older(bool(getattr(session, "has_older", False)))
        await self.log_widget.show(list(session.timeline), getattr(tokens, "orphans", []))
        await self.log_widget.token_stream.clear()
        self._orphans_shown = self._orphans_key(getattr(tokens, "orphans", []))
        self.tokens_changed()
        self.update_status()
        self.update_queue()
        self.update_confirmation()

    def mark_deleted(self) -> None:
        """The server no longer has the open conversation: say so; what was shown stays readable."""
        self.deleted = True
        self.pausing = False
        self.log_widget.set_server_older(False)
        self.update_status()
        self.confirmation.set_actions([], False)
        self.add_class("-deleted")

    @property
    def server_remaining(self) -> int | None:
        """How many events the server holds that the session does not (when the total is known)."""
        s = self.session
        if s is None or self.server_total is None or not getattr(s, "has_older", False):
            return None
        return max(0, self.server_total - len(s.timeline)) or None

    def update_older(self) -> None:
        s = self.session
        if s is not None and not self.log_widget.loading_older:
            self.log_widget.set_server_older(bool(getattr(s, "has_older", False)), self.server_remaining)

    async def older_loaded(self) -> None:
        s = self.session
        if s is not None:
            await self.log_widget.older_loaded(bool(getattr(s, "has_older", False)), self.server_remaining)

    async def unbind(self) -> None:
        self.session = None
        self.server_total = None
        await self.log_widget.show([])
        await self.log_widget.token_stream.clear()
        self.add_class("-empty")
        self.queue.set_items([])
        self.confirmation.set_actions([], False)
        self.status_bar.set_data(StatusData())

    # ------------------------------------------------------------------ changes

    async def apply(self, change: Any) -> None:
        session = self.session
        if session is None or change.conversation_id != session.id:
            return
        if not self.is_attached or self.app._exit:  # changes still queued while the app shuts down
            return
        kind = _enum_value(change.kind)
        if kind == "events":
            if change.reordered:
                await self.log_widget.reorder(list(session.timeline), session.tokens.orphans)
            else:
                self.log_widget.append(change.events)
            self.update_older()
            self.update_confirmation()
        elif kind == "tokens":
            self.tokens_changed()
        elif kind == "outbox":
            self.update_queue()
            self.update_status()
        elif kind == "info":
            self.update_title()
            self.update_status()
        elif kind in ("status", "turn", "usage", "connection"):
            if kind == "status" and session.status is not ExecutionStatus.RUNNING:
                self.pausing = False
            self.update_status()
            if kind == "status":
                self.update_confirmation()
                self.update_title()

    def tokens_changed(self) -> None:
        """The streamed text changed: flush it soon (one flush for every delta that arrives meanwhile)."""
        self._tokens_dirty = True
        if self._token_timer is None and self.is_mounted:
            self._token_timer = self.set_timer(TOKEN_DELAY, self._timed_flush)

    @staticmethod
    def _orphans_key(orphans: list) -> tuple[int, int]:
        return len(orphans), id(orphans[-1]) if orphans else 0

    async def _timed_flush(self) -> None:
        self._token_timer = None
        if self.is_attached:
            await self._flush_tokens()

    async def _flush_tokens(self) -> None:
        if not self._tokens_dirty or self.session is None:
            return
        self._tokens_dirty = False
        tokens = self.session.tokens
        orphans = tokens.orphans
        if self._orphans_key(orphans) != self._orphans_shown:
            self._orphans_shown = self._orphans_key(orphans)
            self.log_widget.add_orphans(list(orphans))
        await self.log_widget.token_stream.set_text(tokens.content, tokens.reasoning)

    # ------------------------------------------------------------------ parts

    def update_title(self) -> None:
        s = self.session
        if s is None:
            return
        title = Text()
        title.append_text(render.status_glyph(s.status, 0))
        title.append(" " + render.one_line(s.title or s.id, 80), style="bold")
        info = s.info
        if info is not None:
            if info.model:
                title.append("  " + render.one_line(info.model, 40), style="dim")
            if info.working_dir:
                title.append("  " + render.one_line(info.working_dir, 40), style="dim")
            if info.confirms_actions:
                title.append("  confirm actions", style="magenta")
        title.append(f"  {s.id[:8]}", style="dim")
        self._title.update(title)

    def status_data(self) -> StatusData:
        s = self.session
        if s is None:
            return StatusData()
        conn = s.connection
        turn = s.turn
        return StatusData(
            status=s.status,
            turn_started=turn.started_at if turn.active else None,
            interrupting=bool(turn.interrupting),
            pausing=self.pausing,
            connection="deleted" if self.deleted else _enum_value(conn.state),
            connection_reason=conn.reason,
            retry_at=conn.retry_at,
            usage=s.usage,
            queued=len(s.outbox.items),
            server=s.server_name,
            model=s.info.model if s.info is not None else "",
        )

    def update_status(self) -> None:
        self.status_bar.set_data(self.status_data())

    def update_queue(self) -> None:
        s = self.session
        if s is None:
            return
        self.queue.set_items(list(s.outbox.items), getattr(s, "hold", None))

    def update_confirmation(self) -> None:
        s = self.session
        if s is None:
            return
        waiting = s.status is ExecutionStatus.WAITING_FOR_CONFIRMATION
        self.confirmation.set_actions(s.pending_actions() if waiting else [], waiting)
