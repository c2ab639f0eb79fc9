"""The messages waiting for the turn to end, in order: edit, remove, move up/down."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from .. import render
from ..actions import Owner, bindings
from ..snapshot import ConversationSnapshot, QueuedItem


class QueueView(OptionList):
    DEFAULT_CSS = """
    QueueView { height: auto; max-height: 7; display: none; border: round $panel-lighten-2; padding: 0; }
    QueueView.-active { display: block; }
    QueueView:focus { border: round $accent; }
    """

    BINDINGS = bindings(Owner.QUEUE)

    class Edit(Message):
        def __init__(self, item_id: str, text: str) -> None:
            super().__init__()
            self.item_id = item_id
            self.text = text

    class Remove(Message):
        def __init__(self, item_id: str) -> None:
            super().__init__()
            self.item_id = item_id

    class Move(Message):
        def __init__(self, item_id: str, delta: int) -> None:
            super().__init__()
            self.item_id = item_id
            self.delta = delta

    snapshot: reactive[ConversationSnapshot] = reactive(ConversationSnapshot, layout=False, repaint=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.items: tuple[QueuedItem, ...] = ()
        self.hold: str | None = None

    def watch_snapshot(self, snapshot: ConversationSnapshot) -> None:
        if (snapshot.queue, snapshot.hold) != (self.items, self.hold):
            self.set_items(snapshot.queue, snapshot.hold)

    def set_items(self, items: tuple[QueuedItem, ...], hold: str | None = None) -> None:
        self.items = items
        self.hold = hold
        current = self.highlighted_option.id if self.highlighted_option is not None else None
        options = []
        for n, item in enumerate(self.items, 1):
            line = Text(f"{n}. ", style="bold cyan")
            line.append(render.one_line(item.text, 300))
            if item.state != "queued":
                line.append(f"  ({item.state})", style="dim italic")
            options.append(Option(line, id=item.id))
        self.set_options(options)
        title = f"queue: {len(self.items)} waiting"
        if hold:
            title += f" — {render.one_line(hold, 60)}"
        self.border_title = title
        self.set_class(bool(self.items), "-active")
        if current is not None:
            try:
                self.highlighted = self.get_option_index(current)
            except Exception:
                pass
        if self.highlighted is None and self.items:
            self.highlighted = 0

    def _current(self) -> QueuedItem | None:
        option = self.highlighted_option
        if option is None:
            return None
        for item in self.items:
            if item.id == option.id:
                return item
        return None

    def action_edit(self) -> None:
        item = self._current()
        if item is not None:
            self.post_message(self.Edit(item.id, item.text))

    def action_remove(self) -> None:
        item = self._current()
        if item is not None:
            self.post_message(self.Remove(item.id))

    def action_move(self, delta: int) -> None:
        """Move the highlighted item; the highlight moves with it, so `J J` moves it two places. The new order is
        shown at once (the session's snapshot then confirms it), so a second key in a burst acts on it too."""
        item = self._current()
        if item is None:
            return
        index = self.items.index(item)
        target = max(0, min(len(self.items) - 1, index + delta))
        if target == index:
            return
        self.post_message(self.Move(item.id, target - index))
        items = list(self.items)
        items.insert(target, items.pop(index))
        self.set_items(tuple(items), self.hold)
        self.highlighted = target
