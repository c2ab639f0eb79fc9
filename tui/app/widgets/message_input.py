"""The prompt: a multi-line TextArea where Enter submits and ctrl+j inserts a newline; up/down at the first/last
line walk the history of sent messages."""

from __future__ import annotations

from textual.message import Message

from ..actions import Owner, bindings, input_placeholder
from .steady_cursor import SteadyCursorTextArea


class MessageInput(SteadyCursorTextArea):
    DEFAULT_CSS = """
    MessageInput { height: auto; min-height: 3; max-height: 10; border: round $panel-lighten-2; padding: 0 1; }
    MessageInput:focus { border: round $accent; }
    """

    BINDINGS = bindings(Owner.INPUT)

    class Submit(Message):
        def __init__(self, text: str, interrupt: bool = False) -> None:
            super().__init__()
            self.text = text
            self.interrupt = interrupt

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, soft_wrap=True, show_line_numbers=False, tab_behavior="focus")
        self.sent_history: list[str] = []
        self._history_index: int | None = None
        self._draft = ""

    def on_mount(self) -> None:
        self.placeholder = input_placeholder()

    def action_submit(self) -> None:
        self.post_message(self.Submit(self.text))

    def take(self) -> str:
        """Clear the box and remember the text in the history."""
        text = self.text
        if text.strip() and (not self.sent_history or self.sent_history[-1] != text):
            self.sent_history.append(text)
        self._history_index = None
        self.clear()
        return text

    def action_newline(self) -> None:
        self.insert("\n")

    def action_history(self, delta: int) -> None:
        row = self.cursor_location[0]
        last = self.document.line_count - 1
        at_edge = row == 0 if delta < 0 else row == last
        if not at_edge or not self.sent_history:
            (self.action_cursor_up if delta < 0 else self.action_cursor_down)()
            return
        if self._history_index is None:
            if delta > 0:
                return
            self._draft = self.text
            index = len(self.sent_history) - 1
        else:
            index = self._history_index + delta
        if index >= len(self.sent_history):
            self._history_index = None
            self.load_text(self._draft)
            self.move_cursor(self.document.end)
            return
        index = max(0, index)
        self._history_index = index
        self.load_text(self.sent_history[index])
        self.move_cursor(self.document.end if delta > 0 else (0, len(self.document.get_line(0))))
