"""OpenHandsApp: the fleet on the left, the open conversation on the right.

One worker per watched conversation (every running one, every opened one, pinned ones), group
`conv:{server}:{id}`, `exit_on_error=False`; they consume whether or not the conversation is on screen. Only the
open conversation renders in full; the others update their list row. Nothing a server does crashes the app:
errors become a notification and a row state.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker, WorkerState

from tui.client import NotFound
from tui.protocol import ExecutionStatus, StartConversationRequest

from . import actions, render
from .actions import ActionState, Owner
from .commands import ConversationCommands
from .messages import FleetChanged, OlderLoaded, SessionChanged
from .screens.dialogs import ConfirmScreen, NewConversation, NewConversationScreen, PromptScreen
from .screens.help import HelpScreen
from .widgets.conversation_list import ConversationList, ConvRow, ServerRow, conv_key
from .widgets.conversation_view import ConversationView
from .widgets.event_log import EventLog
from .widgets.message_input import MessageInput
from .widgets.queue_view import QueueView

Key = tuple[str, str]  # (server name, conversation id)
OLDER_PAGE = 200  # events fetched from the server per scroll to the top


def _val(value: Any) -> str:
    return str(getattr(value, "value", value) or "")


def _freeze_heap() -> None:
    """Move everything alive after start-up (modules, classes, styles) out of the collector's way: a full
    collection then walks only what the app allocates later, instead of pausing a frame for ~100 ms."""
    import gc

    gc.collect()
    gc.freeze()


@dataclass
class Watch:
    session: Any
    worker: Worker | None
    unsubscribe: Callable[[], None]


class OpenHandsApp(App):
    CSS_PATH = str(Path(__file__).with_name("app.tcss"))  # absolute: subclasses live elsewhere
    TITLE = "openhands-tui"
    COMMANDS = App.COMMANDS | {ConversationCommands}
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = actions.bindings(Owner.APP)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]

    def __init__(
        self,
        fleet: Any,
        *,
        preferences: Any = None,
        clock: Callable[[], float] = time.time,
        auto_watch: bool = True,
        run_fleet: bool = True,
    ) -> None:
        self.fleet = fleet
        self.preferences = preferences
        self.clock = clock
        self.auto_watch = auto_watch
        self.run_fleet = run_fleet
        self.watched: dict[Key, Watch] = {}
        self.current: Key | None = None
        self.attention: set[Key] = set()
        self.pinned: set[Key] = set()
        self.last_status: dict[Key, ExecutionStatus] = {}
        self.notified: list[tuple[Key, ExecutionStatus]] = []  # what the app told the user about (tests)
        self._deleting: set[Key] = set()
        self._counting: set[Key] = set()  # conversations whose server-side event count was asked for
        self._unsubscribe_fleet: Callable[[], None] | None = None
        self._bindings_pending = False
        self._bindings_shown: tuple | None = None
        self._tokens_posted = False  # a TOKENS change of the open conversation is on its way to the handler
        super().__init__()
        self._fleet_list = ConversationList(id="fleet", clock=clock)
        self._view = ConversationView(id="conversation")
        theme = getattr(preferences, "theme", None)
        if theme:
            try:
                self.theme = theme
            except Exception:
                pass

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield self._fleet_list
            yield self._view
        yield Footer()

    @property
    def fleet_list(self) -> ConversationList:
        return self._fleet_list

    @property
    def view(self) -> ConversationView:
        return self._view

    def on_mount(self) -> None:
        self._unsubscribe_fleet = self.fleet.subscribe(lambda change: self.post_message(FleetChanged(change)))
        if self.run_fleet:
            self.run_worker(self._guard(self.fleet.run(), "fleet"), group="fleet", exit_on_error=False)
        self.refresh_fleet()
        # First run: nothing is open, so the list has the keys (arrows + enter open one right away).
        self.fleet_list.options.focus()
        self.call_after_refresh(_freeze_heap)

    def on_unmount(self) -> None:
        if self._unsubscribe_fleet:
            self._unsubscribe_fleet()
        for watch in self.watched.values():
            watch.unsubscribe()

    def watch_theme(self, theme: str) -> None:
        prefs = self.preferences
        if prefs is not None and getattr(prefs, "theme", None) != theme:
            try:
                prefs.theme = theme
                prefs.save()
            except Exception:
                pass

    # ------------------------------------------------------------------ footer

    def refresh_bindings(self) -> None:
        """Ask for the footer to be brought up to date: coalesced (one check after the current burst of
        messages), and the footer is only rebuilt when what it shows can have changed."""
        if self._bindings_pending or not self._live:
            return
        self._bindings_pending = True
        self.call_after_refresh(self._refresh_bindings_now)

    def _bindings_state(self) -> tuple:
        screen = self.screen
        focused = self.focused
        log = self.view.log_widget
        return (
            id(screen),
            len(self.screen_stack),
            id(focused),
            id(self._keymap),
            log._first > 0 or log.server_older,
            tuple(self.applies(action) for action in actions.CONDITIONAL),
        )

    def _refresh_bindings_now(self) -> None:
        self._bindings_pending = False
        if not self._live:
            return
        try:
            state = self._bindings_state()
        except Exception:
            state = None
        if state is not None and state == self._bindings_shown:
            return
        self._bindings_shown = state
        super().refresh_bindings()

    # ------------------------------------------------------------------ helpers

    async def _guard(self, coro, what: str) -> None:
        """Run a coroutine; any failure becomes a notification, never a crash."""
        try:
            await coro
        except Exception as error:
            message = getattr(error, "message", None) or str(error) or type(error).__name__
            self.notify(f"{what}: {message}", severity="error", markup=False, timeout=8)

    def do(self, coro, what: str) -> None:
        """Fire-and-forget a session/client call in the background (the UI never waits on a server)."""
        self.run_worker(self._guard(coro, what), group="ops", exit_on_error=False)

    @property
    def session(self) -> Any:
        if self.current is None:
            return None
        watch = self.watched.get(self.current)
        return watch.session if watch else None

    def _target_key(self) -> Key | None:
        """The conversation an action applies to: the highlighted list row when the list has focus, else the open one."""
        if self.fleet_list.options.has_focus:
            row = self.fleet_list.highlighted
            if row is not None:
                return (row.server, row.id)
        return self.current

    def _target_session(self) -> Any:
        key = self._target_key()
        if key is None:
            return None
        return self.watch_conversation(key)

    def _status_of(self, key: Key) -> ExecutionStatus:
        watch = self.watched.get(key)
        if watch is not None:
            return watch.session.status
        info = self._info(key)
        return info.status if info is not None else ExecutionStatus.UNKNOWN

    def _info(self, key: Key) -> Any:
        try:
            return self.fleet.entry(key[0]).conversations.get(key[1])
        except KeyError:
            return None

    # ------------------------------------------------------------------ watching

    def watch_conversation(self, key: Key) -> Any:
        """Start following a conversation (idempotent); returns its session."""
        watch = self.watched.get(key)
        if watch is not None:
            return watch.session
        server, cid = key
        session = self.fleet.session(server, cid)
        unsubscribe = session.subscribe(lambda change, s=server: self._session_change(s, change))
        worker = self.run_worker(
            session.run(), name=f"conv:{server}:{cid}", group=f"conv:{server}:{cid}", exit_on_error=False
        )
        self.watched[key] = Watch(session, worker, unsubscribe)
        self.last_status.setdefault(key, session.status)
        return session

    def _session_change(self, server: str, change: Any) -> None:
        """A session's callback. Streamed deltas are only shown for the open conversation, and one message
        stands for all deltas that arrive before it is handled (the view reads the session's whole buffer)."""
        if _val(change.kind) == "tokens":
            if (server, change.conversation_id) != self.current or self._tokens_posted:
                return
            self._tokens_posted = True
        self.post_message(SessionChanged(server, change))

    def unwatch(self, key: Key) -> None:
        watch = self.watched.pop(key, None)
        if watch is None:
            return
        watch.unsubscribe()
        if watch.worker is not None:
            watch.worker.cancel()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if not worker.group.startswith("conv:") or event.state not in (WorkerState.ERROR, WorkerState.SUCCESS):
            return
        for key, watch in list(self.watched.items()):
            if watch.worker is worker:
                if event.state is WorkerState.ERROR:
                    error = worker.error
                    message = getattr(error, "message", None) or str(error)
                    self.notify(
                        f"{watch.session.title or key[1][:8]}: stopped following: {message}",
                        severity="error",
                        markup=False,
                    )
                watch.worker = None
                if key != self.current and key not in self.pinned:
                    self.unwatch(key)
                self.update_row(key)

    # ------------------------------------------------------------------ fleet

    @property
    def _live(self) -> bool:
        """Mounted and not shutting down (session callbacks can still arrive while the app exits)."""
        return (
            bool(self._screen_stack) and self.is_running and not self._exit and not self._closing and not self._closed
        )

    async def on_fleet_changed(self, message: FleetChanged) -> None:
        if not self._live:
            return
        change = message.change
        for cid in getattr(change, "removed", ()) or ():
            await self._gone((change.server_name, cid))
        self.refresh_fleet()

    async def _gone(self, key: Key) -> None:
        """The server no longer lists a conversation (deleted by someone else): stop following it, say so."""
        self.attention.discard(key)
        self.pinned.discard(key)
        self.last_status.pop(key, None)
        watch = self.watched.get(key)
        title = (watch.session.title if watch else None) or key[1][:8]
        self.unwatch(key)
        self.fleet.sessions.pop(key, None)
        if key == self.current and not self.view.deleted and key not in self._deleting:
            await self.view.log_widget.token_stream.clear()
            self.view.mark_deleted()
            self.notify(
                f"{render.one_line(title, 60)}: deleted on the server", title=key[0], severity="warning", markup=False
            )
            self.refresh_bindings()

    def refresh_fleet(self) -> None:
        rows: list[ServerRow] = []
        for entry in self.fleet.servers:
            server = ServerRow(entry.name, _val(entry.state), entry.message, entry.retry_at)
            for cid, info in entry.conversations.items():
                key = (entry.name, cid)
                if self.auto_watch and (
                    info.status.is_busy() or info.status is ExecutionStatus.WAITING_FOR_CONFIRMATION
                ):
                    self.watch_conversation(key)
                self._saw_status(key, self._status_of(key))
                server.conversations.append(self._row(key, info))
            rows.append(server)
        self.fleet_list.set_servers(rows)
        if self.current is not None:
            self.view.update_title()  # the title may have arrived with this poll
        self.refresh_bindings()

    def _row(self, key: Key, info: Any = None) -> ConvRow:
        info = info if info is not None else self._info(key)
        watch = self.watched.get(key)
        session = watch.session if watch else None
        title = (session.title if session is not None else None) or (info.title if info is not None else None)
        status = (
            session.status if session is not None else (info.status if info is not None else ExecutionStatus.UNKNOWN)
        )
        if session is not None and status is ExecutionStatus.UNKNOWN and info is not None:
            status = info.status
        usage = session.usage if session is not None else (info.usage if info is not None else None)
        last = render.parse_time(info.updated_at) if info is not None else None
        if session is not None:
            newest = render.parse_time(session.timeline.newest_timestamp)
            if newest and (last is None or newest > last):
                last = newest
        return ConvRow(
            server=key[0],
            id=key[1],
            title=title or key[1][:8],
            status=status,
            last_activity=last,
            cost=usage.cost if usage is not None else 0.0,
            queued=len(session.outbox.items) if session is not None else 0,
            attention=key in self.attention,
            pinned=key in self.pinned,
            connection=_val(session.connection.state) if session is not None else "",
        )

    def update_row(self, key: Key) -> None:
        if self._info(key) is None and key not in self.watched:
            return
        self.fleet_list.update_row(self._row(key))

    def _saw_status(self, key: Key, status: ExecutionStatus) -> None:
        """Track status transitions; a background conversation needing attention gets a badge + notification."""
        previous = self.last_status.get(key)
        self.last_status[key] = status
        if previous is None or previous == status or status is ExecutionStatus.UNKNOWN:
            return
        if not status.needs_attention():
            return
        if key == self.current:
            return
        self.attention.add(key)
        self.notified.append((key, status))
        prefs = self.preferences
        if prefs is None or getattr(prefs, "notify_background", True):
            info = self._info(key)
            watch = self.watched.get(key)
            title = (watch.session.title if watch else None) or (info.title if info else None) or key[1][:8]
            label = render.status_label(status)
            self.notify(
                f"{render.one_line(title, 60)}: {label}",
                title=key[0],
                severity="error" if status in (ExecutionStatus.ERROR, ExecutionStatus.STUCK) else "information",
                markup=False,
            )
            if prefs is None or getattr(prefs, "bell", True):
                self.bell()

    # ------------------------------------------------------------------ sessions

    async def on_session_changed(self, message: SessionChanged) -> None:
        change = message.change
        kind = _val(change.kind)
        if kind == "tokens":
            self._tokens_posted = False
        if not self._live:
            return
        key = (message.server_name, change.conversation_id)
        watch = self.watched.get(key)
        if watch is None:
            return
        session = watch.session
        if kind == "notice" and change.message and (key == self.current or change.severity == "error"):
            self.notify(
                render.one_line(change.message, 300),
                title=session.title or key[1][:8],
                severity=change.severity if change.severity in ("information", "warning", "error") else "information",
                markup=False,
            )
        if (
            kind == "connection"
            and _val(session.connection.state) == "stopped"
            and isinstance(session.connection.error, NotFound)
        ):
            self.fleet.forget(*key)  # the list drops it now; the view says "deleted"
            await self._gone(key)
            return
        if kind in ("status", "events"):
            self._saw_status(key, session.status)
        if key == self.current:
            await self.view.apply(change)
            if (
                kind == "events"
                and getattr(session, "has_older", False)
                and self.view.server_total is None
                and key not in self._counting
            ):
                self._counting.add(key)
                self.run_worker(self._count_server_events(key, session), group="count", exit_on_error=False)
            if kind in ("status", "turn", "outbox"):  # what the enabled actions depend on (focus: below)
                self.refresh_bindings()
        if kind in ("status", "usage", "outbox", "info", "connection", "events"):
            self.update_row(key)

    # ------------------------------------------------------------------ opening

    @on(ConversationList.Selected)
    async def _list_selected(self, message: ConversationList.Selected) -> None:
        await self.open_conversation(message.server, message.conversation_id)

    @on(ConversationList.PinToggled)
    def _pin(self, message: ConversationList.PinToggled) -> None:
        key = (message.server, message.conversation_id)
        if key in self.pinned:
            self.pinned.discard(key)
            self.notify("Unpinned", markup=False)
        else:
            self.pinned.add(key)
            self.watch_conversation(key)
            self.notify("Pinned: followed in the background", markup=False)
        self.update_row(key)

    async def open_conversation(self, server: str, cid: str) -> None:
        key = (server, cid)
        previous = self.current
        session = self.watch_conversation(key)
        self.current = key
        self.attention.discard(key)
        self.fleet_list.current = conv_key(server, cid)
        self.fleet_list.select_key(conv_key(server, cid))
        await self.view.bind(session)
        self.view.input.focus()
        self.update_row(key)
        if previous is not None and previous != key:
            self.update_row(previous)
            # Idle conversations nobody asked to follow stop being watched; running ones keep their worker.
            prev_watch = self.watched.get(previous)
            if (
                prev_watch is not None
                and previous not in self.pinned
                and not prev_watch.session.status.is_busy()
                and prev_watch.session.status is not ExecutionStatus.WAITING_FOR_CONFIRMATION
                and not prev_watch.session.outbox.items
                and not prev_watch.session.turn.active
            ):
                self.unwatch(previous)
        self.refresh_bindings()

    # ------------------------------------------------------------------ sending

    @on(MessageInput.Submit)
    def _submit(self, message: MessageInput.Submit) -> None:
        self.send(interrupt=message.interrupt)

    def send(self, *, interrupt: bool = False) -> None:
        box = self.view.input
        session = self.session
        if not box.text.strip():
            if interrupt and session is not None:
                self.action_interrupt()
            return
        if session is None:
            hint = (
                "This conversation was deleted on the server; ctrl+n starts a new one."
                if self.view.deleted
                else "Open a conversation first (or ctrl+n for a new one)."
            )
            self.notify(hint, severity="warning", markup=False)
            return
        text = box.take()
        self.do(session.submit(text, interrupt=interrupt), "send")

    def action_stop_and_send(self) -> None:
        self.send(interrupt=True)

    def action_interrupt(self) -> None:
        session = self.session
        if session is not None:
            self.do(session.interrupt(), "interrupt")

    def action_pause(self) -> None:
        session = self.session
        if session is not None:
            self.view.pausing = True
            self.view.update_status()
            self.notify("Pausing after the current step (a running tool finishes first).", markup=False)
            self.do(session.pause(), "pause")
            self.refresh_bindings()

    def action_resume(self) -> None:
        session = self.session
        if session is not None:
            self.do(session.resume(), "resume")

    def action_approve(self) -> None:
        session = self._target_session()
        if session is not None:
            self.do(session.approve(), "approve")

    def action_reject(self) -> None:
        session = self._target_session()
        if session is None:
            return

        def done(reason: str | None) -> None:
            if reason is not None:
                self.do(session.reject(reason.strip() or None), "reject")

        self.push_screen(
            PromptScreen("Reject the pending action — reason (optional, enter to reject):", placeholder="why not"), done
        )

    # ------------------------------------------------------------------ queue

    @on(QueueView.Remove)
    def _queue_remove(self, message: QueueView.Remove) -> None:
        if self.session is not None:
            self.session.remove_queued(message.item_id)

    @on(QueueView.Move)
    def _queue_move(self, message: QueueView.Move) -> None:
        if self.session is not None:
            self.session.move_queued(message.item_id, message.delta)

    @on(QueueView.Edit)
    def _queue_edit(self, message: QueueView.Edit) -> None:
        session = self.session
        if session is None:
            return

        def done(text: str | None) -> None:
            if text is not None and text.strip():
                session.edit_queued(message.item_id, text)

        self.push_screen(PromptScreen("Edit the queued message:", message.text, allow_empty=False), done)

    # ------------------------------------------------------------------ older history

    @on(EventLog.OlderWanted)
    def _older_wanted(self, message: EventLog.OlderWanted) -> None:
        message.stop()
        key, session = self.current, self.session
        if key is None or session is None:
            self.view.log_widget.loading_older = False
            return
        self.run_worker(self._load_older(key, session), group="older", exit_on_error=False)

    async def _load_older(self, key: Key, session: Any) -> None:
        try:
            await session.load_older(OLDER_PAGE)
        except Exception as error:
            message = getattr(error, "message", None) or str(error) or type(error).__name__
            self.notify(f"loading older events: {message}", severity="error", markup=False, timeout=8)
        # Posted after the EVENTS change of the merge, so the log has the events when this arrives.
        self.post_message(OlderLoaded(*key))

    async def on_older_loaded(self, message: OlderLoaded) -> None:
        if self._live and self.current == (message.server_name, message.conversation_id):
            await self.view.older_loaded()

    async def _count_server_events(self, key: Key, session: Any) -> None:
        """How many events the server holds, for the "↑ N older events on the server" line."""
        try:
            total = await session.client.count_events(session.id)
        except Exception:
            return
        finally:
            self._counting.discard(key)
        if self.current == key and self.view.session is session:
            self.view.server_total = total
            self.view.update_older()

    # ------------------------------------------------------------------ copy

    @on(EventLog.CopyRequested)
    def _copy(self, message: EventLog.CopyRequested) -> None:
        self.copy_to_clipboard(message.text)
        self.notify(f"Copied {len(message.text)} characters", markup=False, timeout=2)

    # ------------------------------------------------------------------ conversations

    def action_new_conversation(self) -> None:
        servers = [e.name for e in self.fleet.servers]
        if not servers:
            self.notify("No server configured.", severity="error", markup=False)
            return
        server = self.current[0] if self.current else None
        model = ""
        if self.session is not None and self.session.info is not None:
            model = self.session.info.model

        def done(result: NewConversation | None) -> None:
            if result is not None:
                self.do(self.create_conversation(result), "create")

        self.push_screen(
            NewConversationScreen(servers, server=server, model=model, first_message=self.view.input.text), done
        )

    async def create_conversation(self, spec: NewConversation) -> None:
        client = self.fleet.client(spec.server)
        request = StartConversationRequest.build(
            model=spec.model,
            working_dir=spec.working_dir,
            base_url=spec.base_url,
            api_key=spec.api_key,
            confirm=spec.confirm,
        )
        info = await client.create_conversation(request)
        self.fleet.add_local(spec.server, info)
        self.refresh_fleet()
        await self.open_conversation(spec.server, info.id)
        if spec.first_message.strip():
            if self.view.input.text == spec.first_message:
                self.view.input.take()
            await self.session.submit(spec.first_message)
        self.notify("Conversation created", markup=False, timeout=3)

    def action_rename(self) -> None:
        key = self._target_key()
        if key is None:
            return
        info = self._info(key)
        watch = self.watched.get(key)
        old = (watch.session.title if watch else None) or (info.title if info else "") or ""

        def done(title: str | None) -> None:
            if title is not None and title.strip():
                self.do(self._rename(key, title.strip()), "rename")

        self.push_screen(PromptScreen("Rename the conversation:", old, allow_empty=False), done)

    async def _rename(self, key: Key, title: str) -> None:
        await self.fleet.client(key[0]).rename_conversation(key[1], title)
        watch = self.watched.get(key)
        if watch is not None:
            await watch.session.refresh_info()
        self.fleet.poke()

    def action_delete(self) -> None:
        key = self._target_key()
        if key is None:
            return
        info = self._info(key)
        title = (info.title if info else None) or key[1][:8]

        def done(yes: bool | None) -> None:
            if yes:
                self.do(self._delete(key), "delete")

        self.push_screen(
            ConfirmScreen(f"Delete “{render.one_line(title, 50)}” on {key[0]}? This cannot be undone.", yes="Delete"),
            done,
        )

    async def _delete(self, key: Key) -> None:
        self._deleting.add(key)  # our own delete: no "deleted by someone else" when the next poll misses it
        await self.fleet.client(key[0]).delete_conversation(key[1])
        self.unwatch(key)
        self.attention.discard(key)
        self.pinned.discard(key)
        if self.current == key:
            self.current = None
            await self.view.unbind()
        self.fleet.forget(*key)
        self.fleet.poke()
        self.refresh_fleet()
        self.notify("Conversation deleted", markup=False, timeout=3)

    # ------------------------------------------------------------------ misc

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_focus_list(self) -> None:
        self.fleet_list.options.focus()

    def action_back_to_list(self) -> None:
        """Esc in the conversation with nothing running: back to the list, on the open conversation's row."""
        if self.current is not None:
            self.fleet_list.select_key(conv_key(*self.current))
        self.fleet_list.options.focus()

    def action_toggle_bell(self) -> None:
        prefs = self.preferences
        if prefs is None:
            return
        prefs.bell = not getattr(prefs, "bell", True)
        try:
            prefs.save()
        except Exception:
            pass
        self.notify(f"Bell {'on' if prefs.bell else 'off'}", markup=False)

    def action_refresh(self) -> None:
        self.fleet.poke()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        known = actions.BY_NAME.get(action)
        if known is None:
            return True  # Textual's own (focus_previous, ...)
        if len(self.screen_stack) != 1 and not known.in_dialogs:
            return False  # a dialog, the help or the palette is open: app keys stay out of its way
        return self.applies(action)

    def action_state(self) -> ActionState:
        session = self.session
        status = session.status if session is not None else None
        busy = session is not None and (
            status is ExecutionStatus.RUNNING or (session.turn.active and not session.turn.saw_running)
        )
        focused = self.focused
        target = self._target_key()
        return ActionState(
            in_view=focused is not None and self.view in focused.ancestors_with_self,
            open=session is not None,
            busy=busy,
            interrupting=session is not None and session.turn.interrupting,
            running=status is ExecutionStatus.RUNNING,
            pausing=self.view.pausing,
            resumable=session is not None
            and (
                status is ExecutionStatus.PAUSED
                or session.hold is not None
                or (bool(session.outbox.items) and not busy)
            ),
            target=target is not None,
            target_waiting=target is not None and self._status_of(target) is ExecutionStatus.WAITING_FOR_CONFIRMATION,
        )

    def applies(self, action: str) -> bool:
        """Whether an action makes sense right now (drives the footer, the palette and the keys)."""
        return actions.applies(action, self.action_state())

    def on_descendant_focus(self) -> None:
        if self._live:
            self.refresh_bindings()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for action in actions.palette(self.action_state()):
            yield SystemCommand(
                action.palette or action.title, f"{action.help} ({action.keys_text})", getattr(self, action.method)
            )

    def action_send_now(self) -> None:
        self.send()

    def action_start_filter(self) -> None:
        self.fleet_list.action_start_filter()

    def action_cycle_sort(self) -> None:
        self.fleet_list.action_cycle_sort()

    def action_copy(self) -> None:
        self.view.log_widget.action_copy()
