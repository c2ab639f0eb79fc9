"""The `/` search prompt of the event log: a one-line input at the bottom of the screen."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class SearchPrompt(ModalScreen[str | None]):
    """Returns the text to find (None when cancelled)."""

    DEFAULT_CSS = """
    SearchPrompt { align: left bottom; background: transparent; }
    SearchPrompt > Horizontal { height: 3; width: 100%; background: $surface; border-top: solid $accent; }
    SearchPrompt Label { width: auto; padding: 0 1; color: $text-muted; }
    SearchPrompt Input { width: 1fr; border: none; height: 1; padding: 0; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, value: str = "") -> None:
        super().__init__()
        self.value = value

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label("find in log /")
            yield Input(self.value, placeholder="text (enter to find, n / N for the next older / newer)", id="find")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
