"""The open conversation in full: title, event log (+ token stream), confirmation, status bar, input, queue.

It reads a session's state and never calls it (the app does the I/O). The title, the confirmation panel, the
status bar and the queue get the state as one `ConversationSnapshot` bound down from `snapshot`; the event log
and the token stream keep their own batched paths (`apply` for events, `tokens_changed` for deltas).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Static

from tui.protocol import ExecutionStatus
from tui.session import ChangeKind

from .. import diffs, render
from ..snapshot import ConversationSnapshot, snapshot_of
from ..textual_private import app_is_live
from .confirmation import ConfirmationPanel
from .event_log import EventLog
from .message_input import MessageInput
from .queue_view import QueueView
from .status_bar import StatusBar
from .token_stream import TokenStream

if TYPE_CHECKING:
    from tui.session import ConversationSession, OrphanedText, SessionChange

# Streamed deltas are coalesced: the first one after a flush schedules the next flush this much later (arrival to
# screen p95 ~70 ms at 50 and 200 tokens/s; at most ~15 flushes a second, each rendering the reply's last markdown
# block again; none while nothing streams).
TOKEN_DELAY = 0.06


class ConversationTitle(Static):
    """One line: status, title, model, working directory, confirmation policy, id."""

    snapshot: reactive[ConversationSnapshot] = reactive(ConversationSnapshot, layout=False, repaint=False)

    def watch_snapshot(self, s: ConversationSnapshot) -> None:
        if not s.open:
            return
        title = Text()
        title.append_text(render.status_glyph(s.status, 0))
        title.append(" " + render.one_line(s.title, 80), style="bold")
        if s.model:
            title.append("  " + render.one_line(s.model, 40), style="dim")
        if s.working_dir:
            title.append("  " + render.one_line(s.working_dir, 40), style="dim")
        if s.confirms_actions:
            title.append("  confirm actions", style="magenta")
        title.append(f"  {s.id[:8]}", style="dim")
        self.update(title)


class ConversationView(Vertical):
    DEFAULT_CSS = """
    ConversationView { width: 1fr; }
    ConversationView #conv-title { height: 1; background: $panel; padding: 0 1; }
    ConversationView #conv-empty { height: 1fr; content-align: center middle; color: $text-muted; display: none; }
    ConversationView.-empty #conv-empty { display: block; }
    ConversationView.-empty EventLog, ConversationView.-empty #conv-title,
    ConversationView.-empty TokenStream { display: none; }
    """

    snapshot: reactive[ConversationSnapshot] = reactive(ConversationSnapshot, layout=False, repaint=False)

    def __init__(self, *, clock: Callable[[], float] = time.time, id: str | None = None) -> None:
        # Empty from the start: a class added on mount restyles the whole view before the first frame.
        super().__init__(id=id, classes="-empty")
        self.session: ConversationSession | None = None
        self.server_total: int | None = None  # events on the server (counted when older ones exist)
        self.deleted = False  # the open conversation was deleted on the server (by someone else)
        self.pausing = False
        self._tokens_dirty = False
        self._token_timer: Timer | None = None
        self._orphans_shown: tuple[int, int] = (0, 0)
        self._title = ConversationTitle("", id="conv-title")
        self._stream = TokenStream(id="token-stream")
        self._log = EventLog(stream=self._stream, id="event-log")
        self._confirmation = ConfirmationPanel(id="confirmation")
        self._status = StatusBar(clock=clock, id="status-bar")
        self._input = MessageInput(id="message-input")
        self._queue = QueueView(id="queue")

    def compose(self) -> ComposeResult:
        yield self._title.data_bind(ConversationView.snapshot)
        yield Static(
            Text("No conversation open.\n\nPick one on the left (enter), or ctrl+n for a new one.", justify="center"),
            id="conv-empty",
        )
        yield self._log
        yield self._stream
        yield self._confirmation.data_bind(ConversationView.snapshot)
        yield self._status.data_bind(ConversationView.snapshot)
        yield self._input
        yield self._queue.data_bind(ConversationView.snapshot)

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
    def draft(self) -> str:
        """What is in the message box."""
        return self._input.text

    def take_draft(self) -> str:
        """Empty the message box (remembering the text in its history) and return what it held."""
        return self._input.take()

    def focus_input(self) -> None:
        self._input.focus()

    @property
    def queue(self) -> QueueView:
        return self._queue

    @property
    def confirmation(self) -> ConfirmationPanel:
        return self._confirmation

    # ------------------------------------------------------------------ binding a session

    async def bind(self, session: ConversationSession) -> None:
        self.session = session
        self.deleted = False
        self.remove_class("-deleted")
        self.pausing = False
        self.remove_class("-empty")
        self.server_total = None
        self._log.loading_older = False
        self._log.set_server_older(session.has_older)
        await self._log.show(list(session.timeline), session.tokens.orphans)
        await self._stream.clear()
        self._orphans_shown = self._orphans_key(session.tokens.orphans)
        self.tokens_changed()
        self.refresh_snapshot()
        # The function, not a coroutine: a worker cancelled before it starts leaves nothing un-awaited. (mypy
        # cannot choose between run_worker's work types for an async function; Textual awaits it.)
        self.run_worker(self._learn_tools, group="server-tools", exclusive=True)  # type: ignore[arg-type]

    async def _learn_tools(self) -> None:
        """The tools the server lists as usable: those whose calls look like file edits are shown as diffs."""
        session = self.session
        fleet = getattr(self.app, "fleet", None)
        if session is None or fleet is None or not hasattr(fleet, "server_info") or not session.server_name:
            return
        try:
            info = await fleet.server_info(session.server_name)
        except Exception:  # an old or unwell server: the known editing tools still show as diffs
            return
        new = diffs.learn_server_tools(list(info.usable_tools))
        if new and self.session is session:
            self._log.tools_learned(new)

    async def unbind(self) -> None:
        self.session = None
        self.server_total = None
        await self._log.show([])
        await self._stream.clear()
        self.add_class("-empty")
        self.snapshot = ConversationSnapshot()

    async def mark_deleted(self) -> None:
        """The server no longer has the open conversation: say so; what was shown stays readable."""
        await self._stream.clear()
        self.deleted = True
        self.pausing = False
        self._log.set_server_older(False)
        self.refresh_snapshot()
        self.add_class("-deleted")

    def set_pausing(self) -> None:
        self.pausing = True
        self.refresh_snapshot()

    def refresh_snapshot(self) -> None:
        """Bring the title, status bar, confirmation panel and queue up to date with the session."""
        session = self.session
        if session is None:
            return
        if session.status is not ExecutionStatus.RUNNING:
            self.pausing = False
        self.snapshot = snapshot_of(session, pausing=self.pausing, deleted=self.deleted)

    update_queue = refresh_snapshot  # what changed does not matter: one snapshot says it all

    # ------------------------------------------------------------------ older history

    @property
    def server_remaining(self) -> int | None:
        """How many events the server holds that the session does not (when the total is known)."""
        s = self.session
        if s is None or self.server_total is None or not s.has_older:
            return None
        return max(0, self.server_total - len(s.timeline)) or None

    def set_server_total(self, total: int) -> None:
        self.server_total = total
        self.update_older()

    def update_older(self) -> None:
        s = self.session
        if s is not None and not self._log.loading_older:
            self._log.set_server_older(s.has_older, self.server_remaining)

    async def older_loaded(self) -> None:
        s = self.session
        if s is not None:
            await self._log.older_loaded(s.has_older, self.server_remaining)

    def older_failed(self) -> None:
        self._log.loading_older = False

    def older_available(self) -> bool:
        """Older events exist (mounted later, or on the server): the log offers "home: older"."""
        return bool(self._log.check_action("first", ()))

    # ------------------------------------------------------------------ changes

    async def apply(self, change: SessionChange) -> None:
        """A change of the open conversation: events and tokens take their batched paths, everything else
        is in the next snapshot."""
        session = self.session
        if session is None or change.conversation_id != session.id:
            return
        if not self.is_attached or not app_is_live(self.app):  # changes still queued while the app shuts down
            return
        if change.kind is ChangeKind.TOKENS:
            self.tokens_changed()
            return
        if change.kind is ChangeKind.EVENTS:
            if change.reordered:
                await self._log.reorder(list(session.timeline), session.tokens.orphans)
            else:
                self._log.append(change.events)
            self.update_older()
        self.refresh_snapshot()

    def tokens_changed(self) -> None:
        """The streamed text changed: flush it soon (one flush for every delta that arrives meanwhile)."""
        self._tokens_dirty = True
        if self._token_timer is None and self.is_mounted:
            self._token_timer = self.set_timer(TOKEN_DELAY, self._timed_flush)

    @staticmethod
    def _orphans_key(orphans: list[OrphanedText]) -> tuple[int, int]:
        return len(orphans), id(orphans[-1]) if orphans else 0

    async def _timed_flush(self) -> None:
        self._token_timer = None
        if self.is_attached:
            await self.flush_tokens()

    async def flush_tokens(self) -> None:
        if not self._tokens_dirty or self.session is None:
            return
        self._tokens_dirty = False
        tokens = self.session.tokens
        orphans = tokens.orphans
        if self._orphans_key(orphans) != self._orphans_shown:
            self._orphans_shown = self._orphans_key(orphans)
            self._log.add_orphans(list(orphans))
        if not tokens.content and not tokens.reasoning:
            self._log.flush_now()  # the final message, when it has arrived, takes the live reply's place at once
        await self._stream.set_text(tokens.content, tokens.reasoning)
