"""The actions waiting for the user's approval, with the keys that answer."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.widgets import Static

from tui.protocol import ActionEvent

from .. import render
from ..render import styled


class ConfirmationPanel(Static):
    DEFAULT_CSS = """
    ConfirmationPanel { height: auto; max-height: 12; display: none; border: heavy $warning; padding: 0 1;
                        background: $warning 10%; }
    ConfirmationPanel.-active { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.actions: list[ActionEvent] = []
        self.border_title = "waiting for your confirmation"

    def set_actions(self, actions: list[ActionEvent], active: bool) -> None:
        self.actions = list(actions)
        self.set_class(active, "-active")
        if not active:
            return
        parts: list = []
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
        keys.append("ctrl+y", style="bold reverse")
        keys.append(" approve   ")
        keys.append("ctrl+f", style="bold reverse")
        keys.append(" reject (asks for a reason)")
        parts.append(keys)
        self.update(Group(*parts))
