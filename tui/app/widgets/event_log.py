"""The open conversation's events: windowed, batched, follows the tail unless the user scrolled away.

Only the newest `WINDOW` events are mounted; scrolling to the top (or `home`) mounts an older page from the
events the session holds. New events are buffered and mounted together at most `FLUSH_HZ` times a second.
Messages are markdown (after stripping escapes), everything else is a `rich.text.Text` built by `render`.
"""

from __future__ import annotations

from typing import Any, Iterable

from rich.console import Group
from rich.markdown import Markdown as RichMarkdown
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from tui.protocol import Event, MessageEvent

from .. import render
from .token_stream import TokenStream

WINDOW = 150  # events mounted while following the tail
PAGE = 100  # events mounted per scroll-up
FLUSH_HZ = 15


class EventItem(Static):
    """One event. `expanded` unfolds long output."""

    DEFAULT_CSS = """
    EventItem { height: auto; padding: 0 1; margin: 0 0 0 0; }
    EventItem.-message { margin: 1 0 0 0; }
    EventItem.-user { border-left: thick $primary; }
    EventItem.-agent { border-left: thick $success; }
    EventItem.-selected { background: $boost; border-left: thick $warning; }
    EventItem.-separator { color: $text-muted; }
    """

    def __init__(self, event: Event) -> None:
        self.event = event
        self.expanded = False
        super().__init__(self._renderable())
        if isinstance(event, MessageEvent):
            self.add_class("-message", f"-{render.message_role(event)}")
        elif event.kind == "ConversationStateUpdateEvent":
            self.add_class("-separator")

    def _renderable(self) -> Any:
        event = self.event
        if isinstance(event, MessageEvent):
            role = render.message_role(event)
            head = Text("you" if role == "user" else role, style="bold")
            body = render.message_body(event)
            if not self.expanded:
                lines = body.split("\n")
                if len(lines) > 60:
                    body = "\n".join(lines[:60])
                    return Group(head, RichMarkdown(body), Text(f"… {len(lines) - 60} more lines (enter to expand)",
                                                                  style="dim italic"))
            return Group(head, RichMarkdown(body))
        return render.event_text(event, expanded=self.expanded)

    def toggle(self) -> None:
        self.expanded = not self.expanded
        self.update(self._renderable())

    @property
    def copy_text(self) -> str:
        return render.copy_text(self.event)


class OrphanItem(Static):
    """Streamed text that no final message will carry (cut off by an interrupt or an error)."""

    DEFAULT_CSS = """
    OrphanItem { height: auto; padding: 0 1; margin: 1 0 0 0; border-left: thick $warning; color: $text-muted; }
    OrphanItem.-selected { background: $boost; }
    """

    def __init__(self, text: str, reasoning: str, reason: str) -> None:
        self.text = render.clean(text)
        label = Text(f"✂ reply cut off ({render.clean(reason) or 'interrupted'})", style="bold yellow")
        body = Text(self.text or render.clean(reasoning))
        super().__init__(Group(label, body))
        self.expanded = False

    def toggle(self) -> None:
        pass

    @property
    def copy_text(self) -> str:
        return self.text


class EventLog(VerticalScroll, can_focus=True):
    DEFAULT_CSS = """
    EventLog { height: 1fr; layout: stream; background: $background; scrollbar-size-vertical: 1; }
    EventLog:focus { background-tint: $foreground 3%; }
    EventLog #older { height: 1; color: $text-muted; text-align: center; }
    """

    BINDINGS = [
        Binding("up,k", "select(-1)", "Prev", show=False),
        Binding("down,j", "select(1)", "Next", show=False),
        Binding("enter,space", "toggle", "Expand"),
        Binding("c,y", "copy", "Copy"),
        Binding("home,g", "first", "Oldest", show=False),
        Binding("end,G", "last", "Newest", show=False),
    ]

    class CopyRequested(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._events: list[Event] = []  # every shown event of the conversation
        self._first = 0  # index in _events of the first mounted item
        self._pending: list[Event] = []
        self._orphans_seen = 0
        self._selected: Static | None = None
        self._older = Static("", id="older")
        self._stream = TokenStream(id="token-stream")

    def compose(self):
        yield self._older
        yield self._stream

    def on_mount(self) -> None:
        self.set_interval(1 / FLUSH_HZ, self._flush)

    @property
    def following(self) -> bool:
        """Following the tail (the user has not scrolled away)."""
        return not (self._anchored and self._anchor_released)

    def _settle(self) -> None:
        """Anchor to the bottom only once the content is taller than the view (short logs stay top-aligned)."""
        if not self.following:
            return
        tall = self.virtual_size.height > self.scrollable_content_region.height
        if tall and not self._anchored:
            self.anchor()
        elif not tall and self._anchored:
            self.anchor(False)
            self.scroll_home(animate=False, immediate=True)

    def on_resize(self) -> None:
        self.call_after_refresh(self._settle)

    @property
    def token_stream(self) -> TokenStream:
        return self._stream

    @property
    def items(self) -> list[Static]:
        return [w for w in self.children if isinstance(w, (EventItem, OrphanItem))]

    @property
    def event_count(self) -> int:
        return len(self._events) + len(self._pending)

    @property
    def mounted_count(self) -> int:
        return len(self.items)

    def plain_text(self) -> str:
        """Everything mounted, as plain text (tests and copy-all)."""
        out: list[str] = []
        for item in self.items:
            if isinstance(item, EventItem):
                if isinstance(item.event, MessageEvent):
                    out.append(render.message_body(item.event))
                else:
                    out.append(render.event_text(item.event, expanded=item.expanded).plain)
            elif isinstance(item, OrphanItem):
                out.append("reply cut off: " + item.text)
        return "\n".join(out)

    # ------------------------------------------------------------------ data in

    async def show(self, events: Iterable[Event], orphans: Iterable[Any] = ()) -> None:
        """Replace everything with the tail of these events."""
        self._pending.clear()
        self._events = [e for e in events if render.is_shown(e)]
        self._selected = None
        await self.remove_children([w for w in self.items])
        self._first = max(0, len(self._events) - WINDOW)
        widgets: list[Static] = [EventItem(e) for e in self._events[self._first:]]
        orphans = list(orphans)
        self._orphans_seen = len(orphans)
        widgets += [OrphanItem(o.text, o.reasoning, o.reason) for o in orphans[-3:]]
        if widgets:
            await self.mount_all(widgets, before=self.token_stream)
        self._update_older()
        self.anchor(False)
        self._anchor_released = False
        self.call_after_refresh(self._settle)

    def append(self, events: Iterable[Event]) -> None:
        """Queue new events; they are mounted by the next flush."""
        self._pending.extend(e for e in events if render.is_shown(e))

    def add_orphans(self, orphans: list[Any]) -> None:
        new = orphans[self._orphans_seen:] if len(orphans) >= self._orphans_seen else orphans[-1:]
        self._orphans_seen = len(orphans)
        if new:
            self._flush()
            self.mount_all([OrphanItem(o.text, o.reasoning, o.reason) for o in new], before=self.token_stream)
            self.call_after_refresh(self._settle)

    def _flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        self._events.extend(batch)
        self.mount_all([EventItem(e) for e in batch], before=self.token_stream)
        self.call_after_refresh(self._settle)
        if self.following:
            extra = len(self.items) + len(batch) - WINDOW
            if extra > 0 and self._selected is None:
                drop = [w for w in self.items if isinstance(w, EventItem)][:extra]
                self._first += len(drop)
                if drop:
                    self.remove_children(drop)
                self._update_older()

    def _update_older(self) -> None:
        older = self._older
        if self._first > 0:
            older.update(Text(f"↑ {self._first} older events (scroll up or press home)", style="dim"))
            older.display = True
        else:
            older.display = False

    async def load_older(self) -> bool:
        if self._first <= 0:
            return False
        start = max(0, self._first - PAGE)
        widgets = [EventItem(e) for e in self._events[start:self._first]]
        first_item = next(iter(self.items), self.token_stream)
        self._first = start
        before_height = self.virtual_size.height
        await self.mount_all(widgets, before=first_item)
        self._update_older()

        def keep_place() -> None:
            self.scroll_to(y=self.scroll_y + (self.virtual_size.height - before_height), animate=False)

        self.call_after_refresh(keep_place)
        return True

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if new <= 0 and old > 0 and self._first > 0:
            self.run_worker(self.load_older(), group="older", exclusive=True)

    # ------------------------------------------------------------------ selection

    def _select(self, item: Static | None) -> None:
        if self._selected is not None:
            self._selected.remove_class("-selected")
        self._selected = item
        if item is not None:
            item.add_class("-selected")
            self.scroll_to_widget(item, animate=False)

    def action_select(self, delta: int) -> None:
        items = self.items
        if not items:
            return
        if self._selected is None or self._selected not in items:
            index = len(items) - 1 if delta < 0 else len(items) - 1
        else:
            index = max(0, min(len(items) - 1, items.index(self._selected) + delta))
        if delta < 0 and self._anchored:
            self.release_anchor()
        self._select(items[index])

    def action_toggle(self) -> None:
        item = self._selected
        if item is None:
            items = self.items
            item = items[-1] if items else None
            self._select(item)
        if item is not None:
            item.toggle()

    def action_copy(self) -> None:
        item = self._selected or (self.items[-1] if self.items else None)
        if item is not None:
            self.post_message(self.CopyRequested(item.copy_text))

    async def action_first(self) -> None:
        self.release_anchor()
        await self.load_older()
        self.call_after_refresh(lambda: self.scroll_home(animate=False))

    def action_last(self) -> None:
        self._select(None)
        self._anchor_released = False
        self.anchor(False)
        self._settle()
        self.scroll_end(animate=False)

    @property
    def selected_text(self) -> str | None:
        return self._selected.copy_text if self._selected is not None else None
