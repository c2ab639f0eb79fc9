"""OpenHandsApp: the fleet on the left, the open conversation on the right.

The app routes messages and owns the workers: one per watched conversation (`conv:{server}:{id}`,
`exit_on_error=False`), one for the fleet's polling, short-lived ones for user actions. Which conversations are
watched, pinned and marked for attention, and the list's rows, are `WatchList`'s; the REST operations are the
`Fleet`'s; the keys are `actions.ACTIONS`. Nothing a server does crashes the app: errors become a notification.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.containers import Horizontal
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from tui.config import Preferences
from tui.session import ChangeKind, ConnectionState, conv_key
from tui.session.rows import Key, ServerRow

from . import actions, render, terminal_escapes
from .actions import ActionState, Owner
from .child_actions import ChildActions
from .commands import ConversationCommands
from .continuity import FILE_NAME, UiState, resolve_prefix
from .messages import FleetChanged, OlderLoaded, SessionChanged
from .textual_private import app_is_live, keymap_token, restore_terminal_title, write_to_terminal
from .user_actions import describe
from .widgets.conversation_list import ConversationList
from .widgets.conversation_view import ConversationView
from .widgets.event_log import EventLog
from .widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    # The session layer (httpx, websockets, pydantic) loads after the first frame: see `_load_fleet`.
    from tui.session import Alert, ConversationSession, Fleet, FleetChange, SessionChange
    from tui.session.watchlist import Task, Watch

OLDER_PAGE = 200  # events fetched from the server per scroll to the top
FLEET_REORDER = 2.0  # seconds: at most one full pass over the list's rows per this, however many servers poll
ROW_KINDS = frozenset(
    {ChangeKind.STATUS, ChangeKind.USAGE, ChangeKind.OUTBOX, ChangeKind.INFO, ChangeKind.CONNECTION, ChangeKind.EVENTS}
)
FOOTER_KINDS = frozenset({ChangeKind.STATUS, ChangeKind.TURN, ChangeKind.OUTBOX})
# What works in the moment between the first frame and the fleet (nothing to act on yet but the layout).
BEFORE_FLEET = frozenset({"quit", "help", "focus_list", "toggle_list", "focus_next", "toggle_bell"})
SEVERITY: dict[str, SeverityLevel] = {"information": "information", "warning": "warning", "error": "error"}


YOUNG_COLLECTION = 20_000  # allocations between young collections (Python's default: 700)


def _freeze_heap() -> None:
    """Move everything alive after start-up (modules, classes, styles) out of the collector's way: a full
    collection then walks only what the app allocates later, instead of pausing a frame for ~100 ms."""
    import gc

    gc.collect()
    gc.freeze()
    # Fewer, larger young collections: an object must live seconds, not a fraction of one, to reach the oldest
    # generation. A UI that streams allocates fast, and what it promotes triggers full collections that walk the
    # whole heap (0.1-0.2 s at a thousand conversations).
    gc.set_threshold(YOUNG_COLLECTION, 20, 10)
    gc.enable()  # `run_tui` turns it off until here: start-up's allocations need no collection


class OpenHandsApp(ChildActions):
    CSS_PATH = str(Path(__file__).with_name("app.tcss"))  # absolute: subclasses live elsewhere
    TITLE = "openhands-tui"
    COMMANDS = App.COMMANDS | {ConversationCommands}
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = actions.bindings(Owner.APP)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]

    def __init__(
        self,
        fleet: Fleet | None = None,
        *,
        fleet_factory: Callable[[], Fleet] | None = None,
        servers: Iterable[tuple[str, bool]] = (),
        preferences: Preferences | None = None,
        clock: Callable[[], float] = time.time,
        auto_watch: bool = True,
        run_fleet: bool = True,
        state_dir: Path | None = None,
        open_id: str | None = None,
        continue_last: bool = False,
    ) -> None:
        # With a factory, the first frame shows `servers` (name, embedded) as connecting; the fleet (and the
        # session layer's imports) is built in a thread after that frame (`_load_fleet`).
        self._fleet_factory = fleet_factory
        self._placeholder_rows = [ServerRow(name, embedded=embedded) for name, embedded in servers]
        self.fleet_ready = False
        # Where the user was (continuity.py): loaded now, applied on mount, saved on every move that matters.
        self.state_path = Path(state_dir) / FILE_NAME if state_dir is not None else None
        self.ui_state, self._state_notice = UiState.load(self.state_path) if self.state_path else (UiState(), None)
        self.histories: dict[Key, list[str]] = dict(self.ui_state.history)
        self.drafts: dict[Key, str] = {}  # unsent text of the conversations left, by conversation
        reopen = continue_last or bool(getattr(preferences, "reopen_last", True))
        self._pending_open: Key | str | None = open_id or (self.ui_state.last_open if reopen else None)
        self.preferences = preferences
        self.clock = clock
        self.run_fleet = run_fleet
        self._auto_watch = auto_watch
        if fleet is not None:
            self._use_fleet(fleet)
        elif fleet_factory is None:
            raise ValueError("a fleet or a fleet factory")
        self._counting: set[Key] = set()  # conversations whose server-side event count was asked for
        self._unsubscribe_fleet: Callable[[], None] | None = None
        self._bindings_pending = False
        self._bindings_shown: tuple[object, ...] | None = None
        self.list_choice: bool | None = None  # shown / hidden by f9; None: by the width
        self._tokens_posted = False  # a TOKENS change of the open conversation is on its way to the handler
        super().__init__()
        self.fleet_list = ConversationList(id="fleet", clock=clock)
        self.view = ConversationView(id="conversation", clock=clock)
        if preferences is not None and preferences.theme:
            try:
                self.theme = preferences.theme
            except Exception:
                pass  # a theme that no longer exists: the default

    # ------------------------------------------------------------------ layout and state

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield self.fleet_list
            yield self.view
        yield KeyFooter()

    @property
    def watched(self) -> dict[Key, Watch]:
        return self.watchlist.watched

    def _use_fleet(self, fleet: Fleet) -> None:
        from tui.session import WatchList
        from tui.session.attention import AttentionQueue

        self.fleet = fleet
        self.watchlist = WatchList(fleet, self._follow, auto_watch=self._auto_watch)
        self.attention = AttentionQueue(self.watchlist)
        self.fleet_ready = True

    def on_mount(self) -> None:
        if not self.fleet_ready:
            self.fleet_list.set_servers(self._placeholder_rows)  # the first frame: every server connecting
            self.fleet_list.focus_rows()
            self.call_after_refresh(lambda: self.run_worker(self._load_fleet(), group="fleet", exit_on_error=False))
            return
        self._start_fleet()

    async def _load_fleet(self) -> None:
        """After the first frame: build the fleet in a thread (the session layer's imports, the embedded server's
        start), then start it here."""
        import asyncio

        assert self._fleet_factory is not None
        try:
            fleet = await asyncio.to_thread(self._fleet_factory)
        except Exception as error:
            self.notify(f"Could not start: {describe(error)}", severity="error", markup=False, timeout=30)
            _freeze_heap()
            return
        if not app_is_live(self):
            return
        self._use_fleet(fleet)
        self._start_fleet()

    def _start_fleet(self) -> None:
        self._unsubscribe_fleet = self.fleet.subscribe(self._fleet_change)
        if self.run_fleet:
            self.run_worker(self._guard(self.fleet.run(), "fleet"), group="fleet", exit_on_error=False)
        self._restore_ui_state()
        self.refresh_fleet()
        lock = self.fleet.state_lock
        if lock is not None and lock.problem:  # a second window: it reads, its queue waits for the first to close
            self.notify(
                f"{lock.problem}. Messages you queue here wait until it closes.",
                severity="warning",
                markup=False,
                timeout=12,
            )
        # First run: nothing is open, so the list has the keys (arrows + enter open one right away).
        self.fleet_list.focus_rows()
        self.call_after_refresh(_freeze_heap)

    def _fleet_change(self, change: FleetChange) -> None:
        self.post_message(FleetChanged(change))

    def on_unmount(self) -> None:
        restore_terminal_title(self)  # "3 need you" must not outlive the app in the window's title
        if not self.fleet_ready:
            return
        self.save_ui_state()
        if self._unsubscribe_fleet:
            self._unsubscribe_fleet()
        self.watchlist.unsubscribe_all()

    def watch_theme(self, theme: str) -> None:
        prefs = self.preferences
        if prefs is not None and prefs.theme != theme:
            prefs.theme = theme
            self._save_preferences()

    # ------------------------------------------------------------------ footer

    def refresh_bindings(self) -> None:
        """Ask for the footer to be brought up to date: coalesced (one check after the current burst of
        messages), and the footer is only rebuilt when what it shows can have changed."""
        if self._bindings_pending or not app_is_live(self):
            return
        self._bindings_pending = True
        self.call_after_refresh(self._refresh_bindings_now)

    def _refresh_bindings_now(self) -> None:
        self._bindings_pending = False
        if not app_is_live(self):
            return
        state = (
            id(self.screen),
            len(self.screen_stack),
            id(self.focused),
            keymap_token(self),
            self.view.older_available(),
            self.action_state(),
        )
        if state == self._bindings_shown:
            return
        self._bindings_shown = state
        super().refresh_bindings()

    def on_descendant_focus(self) -> None:
        if app_is_live(self):
            self.refresh_bindings()
            self.place_list()

    def on_resize(self) -> None:
        self.place_list()

    def place_list(self) -> None:
        """Hide the list when asked (f9), or in a terminal narrower than the preference while the focus is in
        the open conversation; it comes back whenever it gets the focus."""
        hide_below = int(getattr(self.preferences, "list_hide_below", 80) or 0)
        in_list = self.focused is not None and self.fleet_list in self.focused.ancestors_with_self
        narrow = self.size.width < hide_below and self.current is not None
        hidden = not in_list and (self.list_choice is False or (self.list_choice is None and narrow))
        if self.screen_stack:
            self.screen_stack[0].set_class(hidden, "-list-hidden")

    def action_toggle_list(self) -> None:
        shown = not self.screen_stack[0].has_class("-list-hidden")
        self.list_choice = not shown
        if shown and self.fleet_list in (self.focused.ancestors_with_self if self.focused else []):
            self.view.focus_input()  # the focus leaves the list it hides
        elif not shown:
            self.fleet_list.focus_rows()
        self.place_list()

    # ------------------------------------------------------------------ workers

    def _follow(self, key: Key, session: ConversationSession) -> tuple[Task | None, Callable[[], None]]:
        """WatchList's hook: subscribe to a session and run it in its own worker."""
        server, cid = key
        unsubscribe = session.subscribe(lambda change: self._session_change(server, change))
        worker = self.run_worker(
            session.run(), name=f"conv:{server}:{cid}", group=f"conv:{server}:{cid}", exit_on_error=False
        )
        return worker, unsubscribe

    def watch_conversation(self, key: Key) -> ConversationSession:
        return self.watchlist.watch(key)

    def unwatch(self, key: Key) -> None:
        self.watchlist.unwatch(key)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if not worker.group.startswith("conv:") or event.state not in (WorkerState.ERROR, WorkerState.SUCCESS):
            return
        key = self.watchlist.worker_ended(worker)
        if key is None:
            return
        if event.state is WorkerState.ERROR and worker.error is not None:
            title = self.watchlist.title(key)
            self.notify(f"{title}: stopped following: {describe(worker.error)}", severity="error", markup=False)
        self.update_row(key)

    # ------------------------------------------------------------------ fleet

    async def on_fleet_changed(self, message: FleetChanged) -> None:
        if not app_is_live(self):
            return
        change: FleetChange = message.change
        for cid in change.removed:
            await self._gone((change.server_name, cid))
        if change.added or change.removed or change.server_changed:
            self.refresh_fleet()
            return
        # Some rows of one server changed: update those lines in place (not every row of every server on
        # every poll); the order (recent first) catches up in one full pass at most every FLEET_REORDER s.
        rows, alerts = self.watchlist.changed_rows(change.server_name, change.changed)
        for row in rows:
            self.fleet_list.update_row(row)
            if (row.server, row.id) == self.current:
                self.view.refresh_snapshot()
        for alert in alerts:
            self._alert(alert)
        if rows and self._reorder_timer is None:
            self._reorder_timer = self.set_timer(FLEET_REORDER, self._reorder)
        self.refresh_bindings()

    def _reorder(self) -> None:
        self._reorder_timer = None
        if not app_is_live(self):
            return
        if self.fleet_list.holding_order:  # the rows stay put while the user moves: no full pass under the keys
            self._reorder_timer = self.set_timer(FLEET_REORDER, self._reorder)
            return
        self.refresh_fleet()

    async def _gone(self, key: Key) -> None:
        """The server no longer lists a conversation (deleted by someone else): stop following it, say so."""
        title = self.watchlist.title(key)
        was_open = key == self.current and not self.view.deleted and key not in self.watchlist.deleting
        self.watchlist.gone(key)
        if was_open:
            await self.view.mark_deleted()
            self.notify(f"{title}: deleted on the server", title=key[0], severity="warning", markup=False)
            self.refresh_bindings()

    # ------------------------------------------------------------------ where the user was

    def _restore_ui_state(self) -> None:
        state, names = self.ui_state, {entry.name for entry in self.fleet.servers}
        if state.sort:
            self.fleet_list.restore(state.sort, state.filter)
        for key in state.pinned:
            if key[0] in names:
                self.watchlist.pinned.add(key)
                self.watchlist.watch(key)
        for key in state.queued:  # their queue is on disk: following them delivers it
            if key[0] in names:
                self.watchlist.watch(key)
        self.watchlist.attention.update(key for key in state.unseen if key[0] in names)
        if self._state_notice:
            self.notify(self._state_notice, severity="warning", markup=False)

    def save_ui_state(self) -> None:
        if self.state_path is None:
            return
        watched = self.watchlist.watched
        self.ui_state = UiState(
            last_open=self.current or self.ui_state.last_open,  # a run that opened nothing keeps the last one
            pinned=sorted(self.watchlist.pinned),
            unseen=sorted(self.watchlist.attention),
            queued=sorted(key for key, watch in watched.items() if watch.session.outbox.items),
            sort=self.fleet_list.sort,
            filter=self.fleet_list.filter_text,
            history=self.histories,
            new_conversation=self.ui_state.new_conversation,
        )
        self.ui_state.save(self.state_path)

    def _open_pending(self) -> None:
        """Open what the command line (`--open ID`) or the last run asked for, once the servers have listed it."""
        from tui.session import ServerState

        target = self._pending_open
        if target is None:
            return
        entries = self.fleet.servers
        if isinstance(target, tuple):
            entry = next((e for e in entries if e.name == target[0]), None)
            if entry is None or target[1] in entry.conversations or entry.state is not ServerState.CONNECTING:
                self._pending_open = None
                if entry is not None and target[1] in entry.conversations:
                    self.call_later(self.open_conversation, *target)
            return
        key, why = resolve_prefix(target, [(e.name, cid) for e in entries for cid in e.conversations])
        if key is not None:
            self._pending_open = None
            self.call_later(self.open_conversation, *key)
        elif all(e.state is not ServerState.CONNECTING for e in entries) or (why and "give more" in why):
            self._pending_open = None
            self.notify(why or "", severity="warning", markup=False)

    _reorder_timer: Timer | None = None

    def refresh_fleet(self) -> None:
        if not self.fleet_ready:
            return
        servers, alerts = self.watchlist.rows()
        self.fleet_list.set_servers(servers)
        for alert in alerts:
            self._alert(alert)
        self.view.refresh_snapshot()  # the title may have arrived with this poll
        self.refresh_bindings()
        self.update_attention()
        self._open_pending()

    def update_row(self, key: Key) -> None:
        if self.fleet_ready and self.watchlist.known(key):
            self.fleet_list.update_row(self.watchlist.row(key))

    def _alert(self, alert: Alert) -> None:
        """A background conversation needs the user: a notification (and the bell, when wanted)."""
        prefs = self.preferences
        if prefs is not None and not prefs.notify_background:
            return
        if self.screen.id == "attention":
            return  # the attention queue on screen already shows it
        why = render.status_label(alert.status)
        self.notify(
            f"{render.one_line(alert.title, 60)}: {why}",
            title=alert.key[0],
            severity="error" if alert.severe else "information",
            markup=False,
        )
        # A desktop notification through the terminal (reaches the user over SSH and through tmux).
        escape = terminal_escapes.desktop_notification(
            f"openhands-tui: {alert.key[0]}", f"{alert.title}: {why}", tmux=terminal_escapes.in_tmux()
        )
        write_to_terminal(self, escape)
        if prefs is not None and prefs.bell:
            self.bell()

    # ------------------------------------------------------------------ sessions

    def _session_change(self, server: str, change: SessionChange) -> None:
        """A session's callback. Streamed deltas are only shown for the open conversation, and one message
        stands for all deltas that arrive before it is handled (the view reads the session's whole buffer)."""
        if change.kind is ChangeKind.TOKENS:
            if (server, change.conversation_id) != self.current or self._tokens_posted:
                return
            self._tokens_posted = True
        self.post_message(SessionChanged(server, change))

    async def on_session_changed(self, message: SessionChanged) -> None:
        change = message.change
        kind = change.kind
        if kind is ChangeKind.TOKENS:
            self._tokens_posted = False
        key = (message.server_name, change.conversation_id)
        session = self.watchlist.session(key)
        if not app_is_live(self) or session is None:
            return
        if kind is ChangeKind.NOTICE:
            self._notice(key, session, change)
            return
        connection = session.connection
        from tui.client import NotFound

        if (
            kind is ChangeKind.CONNECTION
            and connection.state is ConnectionState.STOPPED
            and isinstance(connection.error, NotFound)
        ):
            self.fleet.forget(*key)  # the list drops it now; the view says "deleted"
            await self._gone(key)
            return
        if kind in (ChangeKind.STATUS, ChangeKind.EVENTS):
            alert = self.watchlist.saw_status(key, session.status)
            if alert is not None:
                self._alert(alert)
            self.update_attention()
        if key == self.current:
            await self.view.apply(change)
            if kind is ChangeKind.EVENTS:
                self._count_older(key, session)
            if kind in FOOTER_KINDS:
                self.refresh_bindings()
        if kind in ROW_KINDS:
            self.update_row(key)

    def _notice(self, key: Key, session: ConversationSession, change: SessionChange) -> None:
        if change.message and (key == self.current or change.severity == "error"):
            severity = SEVERITY.get(change.severity, "information")
            self.notify(render.one_line(change.message, 300), title=session.title, severity=severity, markup=False)

    # ------------------------------------------------------------------ opening

    @on(ConversationList.Selected)
    async def _list_selected(self, message: ConversationList.Selected) -> None:
        await self.open_conversation(message.server, message.conversation_id)

    @on(ConversationList.PinToggled)
    def _pin(self, message: ConversationList.PinToggled) -> None:
        key = (message.server, message.conversation_id)
        pinned = self.watchlist.toggle_pin(key)
        self.notify("Pinned: followed in the background" if pinned else "Unpinned", markup=False)
        self.update_row(key)
        self.save_ui_state()

    async def open_conversation(self, server: str, cid: str) -> None:
        key = (server, cid)
        leaving = self.current
        if leaving is not None and leaving != key:  # each conversation keeps its own unsent draft
            self.drafts[leaving] = self.view.input.text
            self.view.input.text = self.drafts.pop(key, "")
        session, previous = self.watchlist.open(key)
        self.fleet_list.select_key(conv_key(server, cid))
        await self.view.bind(session)
        self.view.input.sent_history = self.histories.setdefault(key, [])  # per conversation, kept between runs
        self.view.focus_input()
        self.update_row(key)
        if previous is not None:
            self.update_row(previous)
        self.refresh_bindings()
        self.update_attention()
        self.save_ui_state()

    # ------------------------------------------------------------------ older history, copy

    @on(EventLog.OlderWanted)
    def _older_wanted(self, message: EventLog.OlderWanted) -> None:
        message.stop()
        key, session = self.current, self.session
        if key is None or session is None:
            self.view.older_failed()
            return
        self.run_worker(self._load_older(key, session), group="older", exit_on_error=False)

    async def _load_older(self, key: Key, session: ConversationSession) -> None:
        await self._guard(session.load_older(OLDER_PAGE), "loading older events")
        # Posted after the EVENTS change of the merge, so the log has the events when this arrives.
        self.post_message(OlderLoaded(*key))

    async def on_older_loaded(self, message: OlderLoaded) -> None:
        if app_is_live(self) and self.current == (message.server_name, message.conversation_id):
            await self.view.older_loaded()

    def _count_older(self, key: Key, session: ConversationSession) -> None:
        """How many events the server holds, for the "↑ N older events on the server" line (asked once)."""
        if session.has_older and self.view.server_total is None and key not in self._counting:
            self._counting.add(key)
            self.run_worker(self._count_server_events(key, session), group="count", exit_on_error=False)

    async def _count_server_events(self, key: Key, session: ConversationSession) -> None:
        try:
            total = await self.fleet.count_events(*key)
        except Exception:
            return  # the line then says "older events" without a number
        finally:
            self._counting.discard(key)
        if self.current == key and self.view.session is session:
            self.view.set_server_total(total)

    def copy_to_clipboard(self, text: str) -> None:
        """OSC 52 as Textual sends it, and inside tmux its passthrough form too (to reach the outer terminal)."""
        super().copy_to_clipboard(text)
        wrapped = terminal_escapes.clipboard(text, tmux=terminal_escapes.in_tmux())
        if wrapped:
            write_to_terminal(self, wrapped)

    @on(EventLog.CopyRequested)
    def _copy(self, message: EventLog.CopyRequested) -> None:
        self.copy_to_clipboard(message.text)
        self.notify(f"Copied {len(message.text)} characters", markup=False, timeout=2)

    # ------------------------------------------------------------------ which actions apply

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        known = actions.BY_NAME.get(action)
        if known is None:
            return True  # Textual's own (focus_previous, ...)
        if len(self.screen_stack) != 1 and not known.in_dialogs:
            return False  # a dialog, the help or the palette is open: app keys stay out of its way
        if not self.fleet_ready and action not in BEFORE_FLEET:
            return False  # the first moments: nothing to act on yet
        return self.applies(action)

    def action_state(self) -> ActionState:
        focused = self.focused
        target = self._target_key()
        return ActionState.of(
            self.session,
            in_view=focused is not None and self.view in focused.ancestors_with_self,
            pausing=self.view.pausing,
            target=target is not None,
            target_status=self.watchlist.status(target) if target is not None and self.fleet_ready else None,
        )

    def applies(self, action: str) -> bool:
        """Whether an action makes sense right now (drives the footer, the palette and the keys)."""
        return actions.applies(action, self.action_state())

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        owners = {Owner.LIST: self.fleet_list, Owner.LOG: self.view.log_widget}
        for action in actions.palette(self.action_state()):
            callback = getattr(owners.get(action.owner, self), action.method)
            yield SystemCommand(action.palette or action.title, f"{action.help} ({action.keys_text})", callback)
