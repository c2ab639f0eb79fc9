"""The app's side of the attention queue: the key that opens it, the count in the list and the terminal title,
and approving / rejecting from it (every server call in a background worker, never a crash).

What is in the queue is `tui.session.attention.AttentionQueue`'s; the screen is `screens.attention`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tui.session.rows import Key

from . import render
from .screens.dialogs import PromptScreen
from .textual_private import app_is_live, set_terminal_title
from .user_actions import UserActions, describe

if TYPE_CHECKING:
    from tui.session.attention import AttentionItem, AttentionQueue, Outcome

BASE_TITLE = "openhands-tui"


class AttentionActions(UserActions):
    attention: AttentionQueue
    clock: Callable[[], float]
    _attention_pending: bool = False
    _attention_shown: int | None = None

    def action_attention(self) -> None:
        from .screens.attention import AttentionScreen  # with the session layer: after the first frame

        if isinstance(self.screen, AttentionScreen):
            self.screen.dismiss(None)
            return
        while len(self.screen_stack) > 1:  # the help or a dialog: the queue replaces it
            self.pop_screen()
        self.push_screen(AttentionScreen())

    def update_attention(self) -> None:
        """Bring the count (list header, terminal title) up to date: coalesced, once after the current burst."""
        if self._attention_pending or not app_is_live(self):
            return
        self._attention_pending = True
        self.call_after_refresh(self._update_attention_now)

    def _update_attention_now(self) -> None:
        self._attention_pending = False
        if not app_is_live(self) or not self.fleet_ready:
            return
        count = self.attention.count()
        if count == self._attention_shown:
            return
        self._attention_shown = count
        self.title = f"{BASE_TITLE} · {count} need{'s' if count == 1 else ''} you" if count else BASE_TITLE
        self.fleet_list.set_attention(count)
        set_terminal_title(self, self.title)

    # ------------------------------------------------------------------ acting from the queue

    def approve_attention(self, items: list[AttentionItem]) -> None:
        self.run_worker(self._approve(items), group="ops", exit_on_error=False)

    async def _approve(self, items: list[AttentionItem]) -> None:
        from tui.session.attention import approve_all

        outcomes = await approve_all(items, self._approve_key)
        self._report(outcomes)
        self.update_attention()

    async def _approve_key(self, key: Key) -> Any:
        return await self.watchlist.watch(key).approve()

    def _report(self, outcomes: list[Outcome]) -> None:
        done = [o for o in outcomes if o.ok]
        for outcome in outcomes:
            if not outcome.ok and outcome.error is not None:
                item = outcome.item
                self.notify(
                    f"“{render.one_line(item.title, 50)}” not approved: {describe(outcome.error)}",
                    title=item.server,
                    severity="error",
                    markup=False,
                    timeout=10,
                )
        if len(done) == 1:
            self.notify(f"Approved “{render.one_line(done[0].item.title, 50)}”", markup=False, timeout=4)
        elif done:
            self.notify(f"Approved {len(done)} conversations", markup=False, timeout=4)

    def reject_attention(self, item: AttentionItem) -> None:
        session = self.watchlist.watch(item.key)

        def done(reason: str | None) -> None:
            if reason is not None:
                self.do(session.reject(reason.strip() or None), f"reject “{render.one_line(item.title, 40)}”")

        question = f"Reject {self._pending(item.key, session)} — reason (optional, enter to reject):"
        self.push_screen(PromptScreen(question, placeholder="why not"), done)

    def confirm_approve_all(self, items: list[AttentionItem], question: str) -> None:
        def done(yes: bool | None) -> None:
            if yes:
                self.approve_attention(items)

        from .screens.attention import ApproveAllScreen

        self.push_screen(ApproveAllScreen(question, yes="Approve all"), done)
