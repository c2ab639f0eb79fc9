"""The actions waiting for the user's approval, with the keys that answer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from .. import render
from ..actions import key_hint
from ..render import styled
from ..snapshot import ConversationSnapshot

if TYPE_CHECKING:
    from tui.protocol import ActionEvent


class ConfirmationPanel(Static):
    DEFAULT_CSS = """
    ConfirmationPanel { height: auto; max-height: 12; display: none; border: heavy $warning; padding: 0 1;
                        background: $warning 10%; }
    ConfirmationPanel.-active { display: block; }
    """

    snapshot: reactive[ConversationSnapshot] = reactive(ConversationSnapshot, layout=False, repaint=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.actions: tuple[ActionEvent, ...] = ()
        self.border_title = "waiting for your confirmation"

    def watch_snapshot(self, snapshot: ConversationSnapshot) -> None:
        if (snapshot.pending, snapshot.waiting) != (self.actions, self.has_class("-active")):
            self.set_actions(snapshot.pending, snapshot.waiting)

    def set_actions(self, actions: tuple[ActionEvent, ...], active: bool) -> None:
        self.actions = actions
        self.set_class(active, "-active")
        if not active:
            return
        parts: list[RenderableType] = []
        if not actions:
            parts.append(Text("The agent is waiting for confirmation.", style="italic"))
        for action in actions[-5:]:
            tool, summary, command, _thought = render.action_parts(action)
            line = styled("▶ ", "bold yellow")
            line.append(tool, style="bold yellow")
            if summary:
                line.append("  " + render.one_line(summary, 150))
            if action.security_risk and action.security_risk != "UNKNOWN":
                line.append(f"  risk: {render.clean(action.security_risk)}", style="bold red")
            if command:
                line.append("\n  ")
                line.append(render.fold(command, 3)[0], style="cyan")
            parts.append(line)
        keys = Text()
        keys.append(key_hint("approve"), style="bold reverse")
        keys.append(" approve   ")
        keys.append(key_hint("reject"), style="bold reverse")
        keys.append(" reject (asks for a reason)")
        parts.append(keys)
        self.update(Group(*parts))
