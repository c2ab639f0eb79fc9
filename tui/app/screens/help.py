"""Every key, what it does, and where it works."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Anywhere",
        [
            ("enter", "send the message; queued if the agent is busy"),
            ("ctrl+j", "new line in the message"),
            ("ctrl+s", "stop & send: interrupt the running turn, then send the message"),
            (
                "esc / ctrl+g",
                "interrupt the running turn (the queue is kept); with nothing running esc goes back to the list",
            ),
            ("ctrl+t", "pause after the current step (a running tool finishes first)"),
            ("ctrl+r", "resume (run again / continue the queue)"),
            ("ctrl+y", "approve the pending action(s)"),
            ("ctrl+f", "reject the pending action(s), with an optional reason"),
            ("ctrl+n", "new conversation"),
            ("f2", "rename the conversation"),
            ("f8", "delete the conversation (asks first)"),
            ("ctrl+l", "focus the conversation list"),
            ("tab / shift+tab", "move between list, log, message and queue"),
            ("ctrl+p", "command palette (every action, switch conversation, theme)"),
            ("f1", "this help"),
            ("ctrl+q", "quit (conversations keep running on the server)"),
        ],
    ),
    (
        "Conversation list",
        [
            ("↑ ↓ / enter", "move / open the conversation"),
            ("/", "filter (esc clears)"),
            ("s", "sort: recent, status, title"),
            ("p", "pin: keep following it in the background"),
            ("a / x", "approve / reject for the highlighted conversation"),
            ("delete", "delete the highlighted conversation"),
        ],
    ),
    (
        "Event log",
        [
            ("↑ ↓ / k j", "select an event"),
            ("enter / space", "expand or fold the selected output"),
            ("c / y", "copy the selected message, action or output (OSC 52)"),
            ("home / end", "older events (fetched from the server when needed) / back to the live tail"),
        ],
    ),
    (
        "Queue",
        [
            ("e / enter", "edit the queued message"),
            ("d / delete", "remove it"),
            ("K / J (shift+↑ ↓)", "move it up / down"),
        ],
    ),
    (
        "Message box",
        [
            ("↑ ↓ at the first/last line", "history of sent messages"),
            ("ctrl+c / ctrl+v", "copy / paste"),
        ],
    ),
]


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

    async def action_dismiss(self, result=None) -> None:
        self.dismiss(None)
