"""The app's side of child conversations: the dialog that starts one of the open conversation (through `Fleet`,
in a worker). The list's tree of children is `ConversationList`'s."""

from __future__ import annotations

from tui.session.rows import Key

from . import render
from .attention_actions import AttentionActions
from .screens.child import NewChild, NewChildScreen

CHILDREN_SINCE = (1, 58, 0)


class ChildActions(AttentionActions):
    def action_new_child(self) -> None:
        key = self.current
        if key is None:
            return
        self.run_worker(self._ask_child(key), group="ops", exit_on_error=False)

    async def _ask_child(self, key: Key) -> None:
        try:
            info = await self.fleet.server_info(key[0])
        except Exception:
            info = None  # unknown: offer it, the server answers for itself
        if info is not None and info.version_tuple is not None and not info.at_least(*CHILDREN_SINCE):
            self.notify(
                f"{key[0]} (agent server {render.one_line(info.version, 20)}) has no child conversations (1.58+).",
                severity="warning",
                markup=False,
            )
            return

        def done(spec: NewChild | None) -> None:
            if spec is not None:
                self.do(self._start_child(key, spec), "child conversation")

        title = render.one_line(self.watchlist.title(key), 40)
        self.push_screen(NewChildScreen(title, isolation=info is None or info.at_least(*CHILDREN_SINCE)), done)

    async def _start_child(self, key: Key, spec: NewChild) -> None:
        child = await self.fleet.create_child(key[0], key[1], spec.task, spec.title, spec.isolation)
        name = render.one_line(child.title or child.conversation_id[:8], 50)
        self.notify(f"Child conversation started: {name}", markup=False, timeout=4)

    # ------------------------------------------------------------------ reviewing changes

    def action_changes(self) -> None:
        key = self.current
        if key is None:
            return
        from .screens.changes import ChangesScreen  # with the session layer: after the first frame

        if isinstance(self.screen, ChangesScreen):
            self.screen.dismiss(None)
            return
        self.push_screen(ChangesScreen(key, self.watchlist.title(key)))

    def send_comment(self, key: Key, text: str) -> None:
        """A comment from the Changes view: a message to the agent, queued like any message while it is busy."""
        session = self.watchlist.watch(key)
        self.do(session.submit(text), "comment")
        self.notify("Comment sent to the agent (queued if it is busy)", markup=False, timeout=3)
