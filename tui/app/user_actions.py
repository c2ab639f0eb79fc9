"""What the app's actions do: the handlers of `actions.ACTIONS` and the dialogs they open.

`UserActions` is the base of `OpenHandsApp`, which routes the messages and owns the workers. Every call that
reaches a server runs in a background worker (`do`): the UI never waits on a server.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import App
from textual.widgets import Select

from tui import protocol
from tui.config import Preferences
from tui.session import conv_key
from tui.session.rows import Key

from . import render
from .continuity import UiState
from .screens.dialogs import ConfirmScreen, NewConversation, NewConversationScreen, PromptScreen
from .screens.help import HelpScreen
from .widgets.conversation_list import ConversationList
from .widgets.conversation_view import ConversationView
from .widgets.message_input import MessageInput
from .widgets.queue_view import QueueView

if TYPE_CHECKING:
    from tui.session import ConversationSession, Fleet, WatchList


def describe(error: BaseException) -> str:
    """What a person reads about a failure (the typed client errors carry one)."""
    from tui.client import AgentServerError

    if isinstance(error, AgentServerError):
        return error.message
    return str(error) or type(error).__name__


class UserActions(App[None]):
    ui_state: UiState
    fleet: Fleet
    preferences: Preferences | None
    watchlist: WatchList
    fleet_ready: bool = True  # False between the first frame and the fleet (see OpenHandsApp._load_fleet)
    view: ConversationView
    fleet_list: ConversationList

    @property
    def current(self) -> Key | None:
        return self.watchlist.current if self.fleet_ready else None

    @property
    def session(self) -> ConversationSession | None:
        return self.watchlist.current_session if self.fleet_ready else None

    async def _guard(self, coro: Coroutine[Any, Any, object], what: str) -> None:
        """Run a coroutine; any failure becomes a notification, never a crash."""
        try:
            await coro
        except Exception as error:
            self.notify(f"{what}: {describe(error)}", severity="error", markup=False, timeout=8)

    def do(self, coro: Coroutine[Any, Any, object], what: str) -> None:
        """Fire-and-forget a session/fleet call in the background (the UI never waits on a server)."""
        self.run_worker(self._guard(coro, what), group="ops", exit_on_error=False)

    def _save_preferences(self) -> None:
        try:
            if self.preferences is not None:
                self.preferences.save()
        except Exception:
            pass  # a read-only state directory costs the preference, not the app

    async def open_conversation(self, server: str, cid: str) -> None:
        raise NotImplementedError  # OpenHandsApp

    def refresh_fleet(self) -> None:
        raise NotImplementedError  # OpenHandsApp

    # ------------------------------------------------------------------ sending and turn control

    @on(MessageInput.Submit)
    def _submit(self, message: MessageInput.Submit) -> None:
        # ctrl+s stops and sends only while a turn runs (else it is a plain send); the text is the message's.
        stop = message.interrupt and self.applies("stop_and_send")
        self.send(message.text, interrupt=stop, steer=message.steer)

    def send(self, text: str, *, interrupt: bool = False, steer: bool = False) -> None:
        """Send (or queue, or stop & send) exactly `text`: what the box held when the key was pressed."""
        session = self.session
        if not text.strip():
            if interrupt and session is not None:
                self.action_interrupt()
            return
        if session is None:
            self.view.input.restore(text)
            hint = (
                "This conversation was deleted on the server; ctrl+n starts a new one."
                if self.view.deleted
                else "Open a conversation first (or ctrl+n for a new one)."
            )
            self.notify(hint, severity="warning", markup=False)
            return
        if steer and not session.can_steer:
            # Nothing runs, or the server would not answer a mid-turn message: the ordinary send/queue.
            self.notify("Nothing to steer: the message is sent (or queued) as usual.", markup=False, timeout=4)
            steer = False
        mode = "steer" if steer else "interrupt" if interrupt else "queue"
        self.do(session.submit(text, mode=mode), "send")
        self.save_ui_state()  # the input history

    def save_ui_state(self) -> None:
        raise NotImplementedError  # OpenHandsApp

    def applies(self, action: str) -> bool:
        raise NotImplementedError  # OpenHandsApp

    def _send_draft(self, *, interrupt: bool) -> None:
        """ctrl+s from outside the message box (no characters can be on their way to it)."""
        text = self.view.take_draft() if self.view.draft.strip() else ""
        self.send(text, interrupt=interrupt)

    def action_send_now(self) -> None:
        self._send_draft(interrupt=False)

    def action_stop_and_send(self) -> None:
        self._send_draft(interrupt=True)

    def action_steer(self) -> None:
        """ctrl+o from outside the message box, or the palette: the box's text into the running turn."""
        text = self.view.take_draft() if self.view.draft.strip() else ""
        if text:
            self.send(text, steer=True)

    def action_interrupt(self) -> None:
        if self.session is not None:
            self.do(self.session.interrupt(), "interrupt")

    def action_pause(self) -> None:
        if self.session is not None:
            self.view.set_pausing()
            self.notify("Pausing after the current step (a running tool finishes first).", markup=False)
            self.do(self.session.pause(), "pause")
            self.refresh_bindings()

    def action_resume(self) -> None:
        if self.session is not None:
            self.do(self.session.resume(), "resume")

    def action_reprovision(self) -> None:
        """From the palette (it names what it does): the server re-creates the runtime; the answer is shown."""
        session = self.session
        if session is not None:
            self.do(self._reprovision(session.server_name, session.id), "reprovision")

    async def _reprovision(self, server: str, cid: str) -> None:
        problem = await self.fleet.reprovision(server, cid)
        shown = render.one_line(problem, 120) if problem else "available"  # server text, made safe
        self.notify(f"Runtime: {shown}", markup=False, severity="warning" if problem else "information")

    def _target_key(self) -> Key | None:
        """The conversation an action applies to: the highlighted row when the list has focus, else the open one."""
        if self.fleet_list.rows_focused:
            row = self.fleet_list.highlighted
            if row is not None:
                return (row.server, row.id)
        return self.current

    def _pending(self, key: Key, session: ConversationSession) -> str:
        """What an approval would let run, named for the user: “title”: command; command."""
        parts = []
        for action in session.pending_actions()[-3:]:
            tool, summary, command, _thought = render.action_parts(action)
            parts.append(render.one_line(command or summary or tool, 80))
        return f"“{render.one_line(self.watchlist.title(key), 40)}”: " + ("; ".join(parts) or "the pending action")

    def action_approve(self) -> None:
        key = self._target_key()
        if key is None:
            return
        session = self.watchlist.watch(key)
        if key != self.current:  # from the list: say what it let run, the conversation is not on screen
            self.notify(f"Approved {self._pending(key, session)}", markup=False)
        self.do(session.approve(), "approve")

    def action_reject(self) -> None:
        key = self._target_key()
        if key is None:
            return
        session = self.watchlist.watch(key)

        def done(reason: str | None) -> None:
            if reason is not None:
                self.do(session.reject(reason.strip() or None), "reject")

        question = f"Reject {self._pending(key, session)} — reason (optional, enter to reject):"
        self.push_screen(PromptScreen(question, placeholder="why not"), done)

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

    # ------------------------------------------------------------------ conversations

    def action_new_conversation(self) -> None:
        servers = [e.name for e in self.fleet.servers]
        if not servers:
            self.notify("No server configured.", severity="error", markup=False)
            return

        def done(result: NewConversation | None) -> None:
            if result is not None:
                self.do(self.create_conversation(result), "create")

        server = self.current[0] if self.current else None
        screen = NewConversationScreen(
            servers, server=server, defaults=self.form_defaults(), first_message=self.view.draft
        )
        self.push_screen(screen, done)
        self._offer_tools(screen, server or servers[0])

    @on(NewConversationScreen.ServerPicked)
    def _server_picked(self, message: NewConversationScreen.ServerPicked) -> None:
        if isinstance(self.screen, NewConversationScreen):
            self._offer_tools(self.screen, message.server)

    def _offer_tools(self, screen: NewConversationScreen, server: str) -> None:
        """Fetch the server's tool catalog in the background and offer it in the form (if still open)."""

        async def fetch() -> None:
            try:
                catalog = await self.fleet.tools_catalog(server)
            except Exception:
                catalog = None  # an older server, or none reachable: the default set
            if screen.is_attached and screen.query_one("#server", Select).value == server:
                screen.show_catalog(server, catalog)

        self.run_worker(fetch(), group="catalog", exit_on_error=False)

    def form_defaults(self) -> dict[str, dict[str, str]]:
        """Per server: the last values used there, else the config file's defaults; the scripted model and a demo
        folder only on the embedded demo server (a real server has no such model)."""
        remembered = self.ui_state.new_conversation
        session = self.session
        result: dict[str, dict[str, str]] = {}
        for entry in self.fleet.servers:
            config = entry.config
            form = {
                "model": config.default_model or ("demo/scripted" if config.embedded else ""),
                "working_dir": config.default_workdir or ("/workspace/demo" if config.embedded else ""),
            }
            if not form["model"] and session is not None and session.info is not None and self.current:
                if self.current[0] == entry.name:
                    form["model"] = session.info.model or ""  # the open conversation's, on the same server
            form.update(remembered.get(entry.name, {}))
            result[entry.name] = form
        return result

    async def create_conversation(self, spec: NewConversation) -> None:
        request = protocol.StartConversationRequest.build(
            model=spec.model,
            working_dir=spec.working_dir,
            base_url=spec.base_url,
            api_key=spec.api_key,
            confirm=spec.confirm,
            **({"tools": spec.tools} if spec.tools is not None else {}),
        )

        def full(waiting: bool) -> None:
            if waiting:
                self.notify(f"{spec.server} is full (its run limit): creating when a slot frees…", markup=False)

        info = await self.fleet.create(spec.server, request, on_full=full)
        self.ui_state.new_conversation[spec.server] = {  # remembered for this server (never the key itself)
            "model": spec.model,
            "base_url": spec.base_url or "",
            "api_key_env": spec.api_key_env or "",
            "working_dir": spec.working_dir,
        }
        self.refresh_fleet()
        await self.open_conversation(spec.server, info.id)
        if spec.first_message.strip() and self.session is not None:
            if self.view.draft == spec.first_message:
                self.view.take_draft()
            await self.session.submit(spec.first_message)
        self.notify("Conversation created", markup=False, timeout=3)

    def action_rename(self) -> None:
        key = self._target_key()
        if key is None:
            return

        def done(title: str | None) -> None:
            if title is not None and title.strip():
                self.do(self.fleet.rename(*key, title.strip()), "rename")

        self.push_screen(PromptScreen("Rename the conversation:", self.watchlist.title(key), allow_empty=False), done)

    def action_delete(self) -> None:
        key = self._target_key()
        if key is None:
            return

        def done(yes: bool | None) -> None:
            if yes:
                self.do(self._delete(key), "delete")

        title = render.one_line(self.watchlist.title(key), 50)
        self.push_screen(ConfirmScreen(f"Delete “{title}” on {key[0]}? This cannot be undone.", yes="Delete"), done)

    async def _delete(self, key: Key) -> None:
        self.watchlist.deleting.add(key)  # our own delete: no "deleted by someone else" when it vanishes
        await self.fleet.delete(*key)
        was_open = self.current == key
        self.watchlist.gone(key)
        if was_open:
            await self.view.unbind()
        self.refresh_fleet()
        self.notify("Conversation deleted", markup=False, timeout=3)

    # ------------------------------------------------------------------ small actions

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_focus_list(self) -> None:
        self.fleet_list.focus_rows()

    def action_back_to_list(self) -> None:
        """Esc in the conversation with nothing running: back to the list, on the open conversation's row."""
        if self.current is not None:
            self.fleet_list.select_key(conv_key(*self.current))
        self.fleet_list.focus_rows()

    def action_toggle_bell(self) -> None:
        if self.preferences is not None:
            self.preferences.bell = not self.preferences.bell
            self._save_preferences()
            self.notify(f"Bell {'on' if self.preferences.bell else 'off'}", markup=False)

    def action_refresh(self) -> None:
        self.fleet.poke()

    # ------------------------------------------------------------------ quitting

    def quit_question(self) -> str | None:
        """With messages still queued: what happens to them (None: nothing queued, quit at once)."""
        if not self.fleet_ready:
            return None
        queued = [
            (key, len(w.session.outbox.items)) for key, w in self.watchlist.watched.items() if w.session.outbox.items
        ]
        if not queued:
            return None
        count = sum(n for _key, n in queued)
        where = ", ".join(f"“{render.one_line(self.watchlist.title(key), 30)}” ({n})" for key, n in queued[:3])
        embedded = {e.name for e in self.fleet.servers if e.config.embedded}
        if any(key[0] in embedded for key, _n in queued):
            fate = "The embedded demo server stops with the app: messages queued on it will not be sent."
        else:
            fate = "They stay queued on this computer and are sent when openhands-tui starts again."
        return f"{count} message(s) still queued: {where}. {fate} Quit now?"

    async def action_quit(self) -> None:
        question = self.quit_question() if not isinstance(self.screen, ConfirmScreen) else None
        if question is None:
            self.exit()
            return

        def done(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(ConfirmScreen(question, yes="Quit"), done)
