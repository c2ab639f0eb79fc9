"""The prompt: a multi-line TextArea where Enter submits and ctrl+j inserts a newline; up/down at the first/last
line walk the history of sent messages.

Submitting is atomic: Enter and ctrl+s are handled in this widget's own key handler, in order with the characters
typed before and after them (a priority binding would run before the characters still queued for the box, so a
burst `a⏎b⏎` would send `ab`). The text is taken from the box at that moment and travels in the message.
"""

from __future__ import annotations

from textual import events
from textual.message import Message

from ..actions import Owner, bindings, input_placeholder
from .steady_cursor import SteadyCursorTextArea

SUBMIT_KEYS = ("enter", "ctrl+s", "ctrl+o")


class MessageInput(SteadyCursorTextArea):
    DEFAULT_CSS = """
    MessageInput { height: auto; min-height: 3; max-height: 10; border: round $panel-lighten-2; padding: 0 1; }
    MessageInput:focus { border: round $accent; }
    """

    BINDINGS = bindings(Owner.INPUT)

    class Submit(Message):
        """`text` is what the box held when the key was pressed; `interrupt` is ctrl+s (stop & send when the agent
        is busy, else a plain send)."""

        def __init__(self, text: str, interrupt: bool = False, steer: bool = False) -> None:
            super().__init__()
            self.text = text
            self.steer = steer
            self.interrupt = interrupt

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, soft_wrap=True, show_line_numbers=False, tab_behavior="focus")
        self.sent_history: list[str] = []
        self._history_index: int | None = None
        self._draft = ""

    def on_mount(self) -> None:
        self.placeholder = input_placeholder()

    async def _on_key(self, event: events.Key) -> None:
        self._blink_a_while()  # the steady cursor's own key handler never runs: this one prevents the default
        if event.key in SUBMIT_KEYS:
            event.stop()
            event.prevent_default()
            self._submit(interrupt=event.key == "ctrl+s", steer=event.key == "ctrl+o")
            return
        await super()._on_key(event)

    def _submit(self, *, interrupt: bool, steer: bool = False) -> None:
        """Take the box's text now (empty: nothing to send, but ctrl+s still interrupts)."""
        text = self.take() if self.text.strip() else ""
        if text or interrupt:
            self.post_message(self.Submit(text, interrupt, steer))

    def action_submit(self) -> None:
        self._submit(interrupt=False)

    def restore(self, text: str) -> None:
        """Put back a message that could not be sent (nothing typed since is overwritten)."""
        if not self.text.strip():
            self.load_text(text)
            self.move_cursor(self.document.end)

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
