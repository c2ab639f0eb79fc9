"""Every key, what it does, and where it works."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..actions import help_sections

KEYS: list[tuple[str, list[tuple[str, str]]]] = help_sections()


def help_table() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for section, rows in KEYS:
        table.add_row(Text(section, style="bold underline"), "")
        for key, what in rows:
            table.add_row(Text(key, style="bold cyan"), Text(what))
        table.add_row("", "")
    return table


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90; max-width: 98%; height: 90%; border: thick $accent; background: $surface;
                                  padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q,f1,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "keys — esc to close"
            yield Static(
                Text(
                    "Interrupt stops the turn now; pause stops after the current step. Neither clears "
                    "the queue. Tip: in tmux set `escape-time 10` so esc is quick; ctrl+g always works.\n",
                    style="italic",
                )
            )
            yield Static(help_table())

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
