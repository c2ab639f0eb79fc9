"""The attention queue screen: what needs the person on every server, oldest first, acted on in place.

The items come from `tui.session.attention.AttentionQueue` (the app's); this screen only shows them and turns
keys into the app's calls. Server text (titles, commands, errors, answers) is data: `rich.text.Text` only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, OptionList, Static
from textual.widgets.option_list import Option

from tui.protocol import risk_label
from tui.session.attention import AttentionItem, Reason

from .. import render
from ..actions import Owner, bindings
from .dialogs import ConfirmScreen

if TYPE_CHECKING:
    from ..app import OpenHandsApp

REFRESH_SECONDS = 0.5
REASON_TEXT = {
    Reason.WAITING: ("waiting for you", "bold yellow"),
    Reason.ERROR: ("error", "bold red"),
    Reason.STUCK: ("stuck", "bold red"),
    Reason.FINISHED: ("finished", "bold green"),
}
APPROVAL_NOTE = (
    "The server approves a conversation's pending actions all at once: each conversation below runs every "
    "action listed for it."
)


def action_line(pending: Any) -> str:
    """One pending action as a person reads it: command (or summary), then its risk."""
    tool, summary, command, _thought = render.action_parts(pending.action)
    return f"{render.one_line(command or summary or tool, 90)} ({risk_label(pending.risk)})"


def item_prompt(item: AttentionItem, now: float) -> Text:
    label, style = REASON_TEXT[item.reason]
    text = Text()
    text.append(f"{label:<16}", style=style)
    text.append(render.one_line(item.title, 60), style="bold")
    text.append(f"  {item.server}", style="dim")
    if item.since is not None:
        text.append(f" · {render.age(item.since, now)}", style="dim")
    if item.reason is Reason.WAITING:
        if item.pending:
            for pending in item.pending:
                text.append("\n    ▸ " + action_line(pending))
        else:
            text.append("\n    ▸ the pending action(s) are loading…", style="dim italic")
    elif item.detail:
        # An answer is markdown: shown as read, not as typed (an error's text is shown as it is).
        detail = render.markdown_plain(item.detail) if item.reason is Reason.FINISHED else item.detail
        for line in detail.splitlines():
            text.append("\n    " + render.one_line(line, 120), style="red" if item.reason is Reason.ERROR else "")
    elif item.reason in (Reason.FINISHED, Reason.ERROR):
        what = "the answer" if item.reason is Reason.FINISHED else "the error"
        text.append(f"\n    open it to read {what}", style="dim italic")
    return text


def approve_all_question(items: list[AttentionItem]) -> str:
    lines = [f"Approve {len(items)} waiting conversation{'s' if len(items) != 1 else ''}? {APPROVAL_NOTE}", ""]
    for item in items:
        lines.append(f"• {item.server} · “{render.one_line(item.title, 50)}”:")
        if item.pending:
            lines.extend(f"    {action_line(pending)}" for pending in item.pending)
        else:
            lines.append("    its pending action(s) (not loaded yet)")
    return "\n".join(lines)


class AttentionScreen(Screen[None]):
    DEFAULT_CSS = """
    AttentionScreen #attention-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    AttentionScreen #attention-empty { padding: 1 2; color: $text-muted; }
    AttentionScreen OptionList { height: 1fr; border: none; }
    """
    BINDINGS = bindings(Owner.ATTENTION)

    def __init__(self) -> None:
        super().__init__(id="attention")
        self.items: list[AttentionItem] = []
        self._shown: tuple[object, ...] | None = None

    @property
    def oh_app(self) -> OpenHandsApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static("", id="attention-title")
        yield Static(
            Text("Nothing needs you: no conversation waits, failed, is stuck or finished unseen."),
            id="attention-empty",
        )
        yield OptionList(id="attention-list")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_items()
        self.query_one(OptionList).focus()
        self.set_interval(REFRESH_SECONDS, self.refresh_items)

    def refresh_items(self) -> None:
        """Rebuild the list when what it shows changed (the highlight stays on the same conversation)."""
        app = self.oh_app
        items = app.attention.items()
        now = app.clock()
        shown = tuple((i.token, i.title, i.detail, tuple(p.action.id for p in i.pending)) for i in items)
        self.items = items
        title = Text(f"Attention queue · {len(items)} need{'s' if len(items) == 1 else ''} you", style="bold")
        title.append("  oldest first · ⏎ opens one", style="dim")
        self.query_one("#attention-title", Static).update(title)
        self.query_one("#attention-empty").display = not items
        options = self.query_one(OptionList)
        options.display = bool(items)
        if shown == self._shown:
            return
        self._shown = shown
        keep = self.highlighted
        options.clear_options()
        options.add_options([Option(item_prompt(item, now), id=self._option_id(item)) for item in items])
        if items:
            index = next((n for n, i in enumerate(items) if keep is not None and i.key == keep.key), 0)
            options.highlighted = index

    @staticmethod
    def _option_id(item: AttentionItem) -> str:
        return "\x1f".join(item.key)

    @property
    def highlighted(self) -> AttentionItem | None:
        options = self.query_one(OptionList)
        index = options.highlighted
        if index is None or not (0 <= index < len(self.items)):
            return None
        return self.items[index]

    async def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        await self.action_open_item()

    # ------------------------------------------------------------------ actions

    def action_approve_item(self) -> None:
        item = self.highlighted
        if item is not None and item.reason is Reason.WAITING:
            self.oh_app.approve_attention([item])

    def action_reject_item(self) -> None:
        item = self.highlighted
        if item is not None and item.reason is Reason.WAITING:
            self.oh_app.reject_attention(item)

    def action_approve_all(self) -> None:
        waiting = [item for item in self.items if item.reason is Reason.WAITING]
        if not waiting:
            self.notify("Nothing shown waits for approval.", markup=False)
            return
        self.oh_app.confirm_approve_all(waiting, approve_all_question(waiting))

    async def action_open_item(self) -> None:
        item = self.highlighted
        if item is not None:
            self.dismiss(None)
            await self.oh_app.open_conversation(*item.key)

    def action_dismiss_item(self) -> None:
        item = self.highlighted
        if item is not None:
            self.oh_app.attention.dismiss(item)
            self.refresh_items()
            self.oh_app.update_attention()

    def action_close(self) -> None:
        self.dismiss(None)


class ApproveAllScreen(ConfirmScreen):
    """The one question before "approve all": every conversation and action that will run, scrollable."""

    DEFAULT_CSS = """
    ApproveAllScreen #approve-all-list { height: auto; max-height: 70vh; }
    """

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            with VerticalScroll(id="approve-all-list"):
                yield Static(Text(self.question), classes="title")
            with Horizontal(classes="buttons"):
                yield Button("No (n)", id="no")
                yield Button(f"{self.yes} (y)", variant="error", id="yes")
