"""The open conversation's events: windowed, batched, follows the tail unless the user scrolled away.

Only the newest `WINDOW` events are mounted; scrolling to the top (or `home`) mounts an older page from the
events the session holds and, when those run out, asks for older ones from the server (`OlderWanted`: the app
fetches them in the background; they arrive through `reorder`, then `older_loaded`). The scroll position is
kept, and at most `MAX_MOUNTED` events are ever mounted: scrolled far up, the newest ones are unmounted and come
back when scrolled down to (or `end`). New events are buffered and mounted together at most `FLUSH_HZ` times a
second.
Messages are markdown (after stripping escapes), everything else is a `rich.text.Text` built by `render`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from rich.console import Group
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from tui.protocol import Event, MessageEvent

from .. import render
from .token_stream import TokenStream

WINDOW = 150  # events mounted while following the tail
PAGE = 100  # events mounted per scroll-up (or down, back towards the tail)
MAX_MOUNTED = WINDOW + 2 * PAGE  # scrolled far up: the newest events beyond this are unmounted
FLUSH_HZ = 15


# Text with none of these needs no markdown parser (most chat lines): a plain `Text` renders the same, faster.
_MARKDOWN_HINTS = re.compile(r"[*_`\[\]<>|~\\&]|^\s*(#|[-+*]\s|\d+[.)]\s|=+\s*$)|https?://| {2,}$|\n\s*\n", re.M)


def _markdown(body: str) -> Any:
    if _MARKDOWN_HINTS.search(body):
        from rich.markdown import Markdown  # on first use: its parser costs ~30 ms of start-up

        return Markdown(body)
    return Text(" ".join(body.split("\n")) if "\n" in body else body)


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
        # Classes given to the constructor: `add_class` before mounting costs a style pass per item.
        if isinstance(event, MessageEvent):
            classes = f"-message -{render.message_role(event)}"
        elif event.kind == "ConversationStateUpdateEvent":
            classes = "-separator"
        else:
            classes = ""
        super().__init__(self._renderable(), classes=classes)

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
                    return Group(
                        head,
                        _markdown(body),
                        Text(f"… {len(lines) - 60} more lines (enter to expand)", style="dim italic"),
                    )
            return Group(head, _markdown(body))
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
    EventLog #older, EventLog #newer { height: 1; color: $text-muted; text-align: center; }
    """

    BINDINGS = [
        Binding("up,k", "select(-1)", "Prev", show=False),
        Binding("down,j", "select(1)", "Next", show=False),
        Binding("enter,space", "toggle_item", "Expand"),
        Binding("c,y", "copy", "Copy"),
        Binding("home,g", "first", "Older", key_display="home"),
        Binding("home,g", "top", "Top", show=False),  # everything is mounted: home just scrolls to the top
        Binding("end,G", "last", "Newest", show=False),
    ]

    class CopyRequested(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class OlderWanted(Message):
        """The user reached the top and every held event is mounted: fetch older ones from the server."""

    def __init__(self, *, stream: TokenStream | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self._events: list[Event] = []  # every shown event of the conversation held by the session
        self._first = 0  # _events[_first:_last] are mounted
        self._last = 0
        self._pending: list[Event] = []
        self._flush_timer: Any = None
        self._orphans: list[Any] = []
        self._orphans_seen = 0
        self._selected: EventItem | OrphanItem | None = None
        self.server_older = False  # the server holds events older than the session's
        self.server_remaining: int | None = None  # how many, when known
        self.loading_older = False
        self._older_keys = False
        self._marks: tuple[Text | None, Text | None] = (None, None)  # the texts of the two marks now shown
        self._older = Static("", id="older")
        self._newer = Static("", id="newer")
        # The live reply: shown by the conversation view under this log, outside its scroll content (a growing
        # reply inside it would re-arrange and repaint every mounted event on each token).
        self._stream = stream if stream is not None else TokenStream(id="token-stream")

    def compose(self):
        yield self._older
        yield self._newer

    def on_mount(self) -> None:
        self._older.display = False
        self._newer.display = False

    @property
    def following(self) -> bool:
        """Following the tail (the user has not scrolled away)."""
        return not (self._anchored and self._anchor_released)

    @property
    def at_tail(self) -> bool:
        """The newest held event is mounted."""
        return self._last >= len(self._events)

    def _settle(self) -> None:
        """Anchor to the bottom only once the content is taller than the view (short logs stay top-aligned)."""
        if not self.following or not self.at_tail:
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
    def items(self) -> list[EventItem | OrphanItem]:
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

    def _event_items(self) -> list[EventItem]:
        return [w for w in self.children if isinstance(w, EventItem)]

    # ------------------------------------------------------------------ data in

    async def show(self, events: Iterable[Event], orphans: Iterable[Any] = ()) -> None:
        """Replace everything with the tail of these events."""
        self._pending.clear()
        self._events = [e for e in events if render.is_shown(e)]
        self._selected = None
        await self.remove_children(self.items)
        self._last = len(self._events)
        self._first = max(0, self._last - WINDOW)
        widgets: list[Static] = [EventItem(e) for e in self._events[self._first :]]
        self._orphans = list(orphans)
        self._orphans_seen = len(self._orphans)
        widgets += [OrphanItem(o.text, o.reasoning, o.reason) for o in self._orphans[-3:]]
        if widgets:
            await self.mount_all(widgets, before=self._newer)
        self._update_marks()
        self.anchor(False)
        self._anchor_released = False
        self.call_after_refresh(self._settle)

    async def reorder(self, events: Iterable[Event], orphans: Iterable[Any] = ()) -> None:
        """The session's timeline changed other than at its end (older events arrived, a gap was filled).

        What is mounted stays where it is when it is still one contiguous run of the new timeline (older events
        then become scrollable above it); otherwise the log starts again from the tail."""
        new = [e for e in events if render.is_shown(e)]
        mounted = self._events[self._first : self._last]
        if not mounted:
            await self.show(new, orphans)
            return
        index = {e.id: i for i, e in enumerate(new)}
        pos = index.get(mounted[0].id)
        if pos is None or [e.id for e in new[pos : pos + len(mounted)]] != [e.id for e in mounted]:
            await self.show(new, orphans)
            return
        was_at_tail = self.at_tail
        self._events = new
        self._pending.clear()
        self._first, self._last = pos, pos + len(mounted)
        if was_at_tail and self._last < len(new):
            batch = new[self._last :]
            self._last = len(new)
            await self.mount_all([EventItem(e) for e in batch], before=self._newer)
            self._trim_top_following()
            self.call_after_refresh(self._settle)
        self._update_marks()

    def append(self, events: Iterable[Event]) -> None:
        """Queue new events; they are mounted by the next flush (at most `FLUSH_HZ` a second, none when idle)."""
        before = len(self._pending)
        self._pending.extend(e for e in events if render.is_shown(e))
        if len(self._pending) > before and self._flush_timer is None and self.is_mounted:
            self._flush_timer = self.set_timer(1 / FLUSH_HZ, self._timed_flush)

    def _timed_flush(self) -> None:
        self._flush_timer = None
        if self.is_attached:
            self._flush()

    def add_orphans(self, orphans: list[Any]) -> None:
        new = orphans[self._orphans_seen :] if len(orphans) >= self._orphans_seen else orphans[-1:]
        self._orphans_seen = len(orphans)
        self._orphans = list(orphans)
        if new:
            self._flush()
            if self.at_tail:
                self.mount_all([OrphanItem(o.text, o.reasoning, o.reason) for o in new], before=self._newer)
                self.call_after_refresh(self._settle)

    def _flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        was_at_tail = self.at_tail
        self._events.extend(batch)
        if was_at_tail:
            self._last = len(self._events)
            if len(batch) >= WINDOW and self.following and self._selected is None:
                # The batch alone fills the window: mount only its tail (the rest stays held, for scrolling up)
                # and unmount what was there, rather than mounting everything and trimming it again.
                self._first = self._last - WINDOW
                drop = self._event_items()
                if drop:
                    self.remove_children(drop)
                self.mount_all([EventItem(e) for e in batch[-WINDOW:]], before=self._newer)
            else:
                self.mount_all([EventItem(e) for e in batch], before=self._newer)
                self._trim_top_following()
            self.call_after_refresh(self._settle)
        self._update_marks()

    def _trim_top_following(self) -> None:
        """While following the tail, keep only the newest `WINDOW` events mounted."""
        if not self.following or self._selected is not None:
            return
        extra = (self._last - self._first) - WINDOW
        if extra > 0:
            drop = self._event_items()[:extra]
            self._first += len(drop)
            if drop:
                self.remove_children(drop)

    def _update_marks(self) -> None:
        older_keys = self._first > 0 or self.server_older  # what `check_action` decides (home: older / top)
        if older_keys != self._older_keys:
            self._older_keys = older_keys
            if self.has_focus:
                self.refresh_bindings()
        older = self._older
        label = None
        if self.loading_older:
            label = Text("loading older…", style="dim italic")
        elif self._first > 0:
            label = Text(f"↑ {self._first} older events (scroll up or press home)", style="dim")
        elif self.server_older:
            count = f"{self.server_remaining} " if self.server_remaining else ""
            label = Text(f"↑ {count}older events on the server (scroll up or press home)", style="dim")
        if label is not None and label != self._marks[0]:  # an unchanged line is not laid out again
            older.update(label)
        self._marks = (label if label is not None else self._marks[0], self._marks[1])
        older.display = self.loading_older or self._first > 0 or self.server_older
        newer = len(self._events) - self._last + len(self._pending)
        if newer > 0 and not self.at_tail:
            label = Text(f"↓ {newer} newer events (scroll down, or end for the newest)", style="dim")
            if label != self._marks[1]:
                self._newer.update(label)
                self._marks = (self._marks[0], label)
            self._newer.display = True
        else:
            self._newer.display = False

    def set_server_older(self, has_older: bool, remaining: int | None = None) -> None:
        self.server_older = has_older
        self.server_remaining = remaining if has_older else None
        self._update_marks()

    # ------------------------------------------------------------------ paging

    def want_older(self) -> None:
        """The user is at the top: mount an older page, or ask for one from the server (never blocks)."""
        if self._first > 0:
            self.run_worker(self._mount_older(), group="older", exclusive=True)
        elif self.server_older and not self.loading_older:
            self.loading_older = True
            self._update_marks()
            self.post_message(self.OlderWanted())

    async def older_loaded(self, has_older: bool, remaining: int | None = None) -> None:
        """The server answered (the new events were merged through `reorder` already)."""
        self.loading_older = False
        self.set_server_older(has_older, remaining)
        if self._first > 0:
            await self._mount_older()

    async def load_older(self) -> bool:
        return await self._mount_older()

    async def _mount_older(self) -> bool:
        if self._first <= 0:
            return False
        start = max(0, self._first - PAGE)
        widgets = [EventItem(e) for e in self._events[start : self._first]]
        items = self.items
        anchor = items[0] if items else None
        before_y = anchor.virtual_region.y if anchor is not None else 0
        self._first = start
        self._trim_bottom()  # before the mount lands, so both make one layout
        await self.mount_all(widgets, before=anchor if anchor is not None else self._newer)
        self._update_marks()

        def keep_place() -> None:
            if anchor is not None and anchor.is_attached:
                self.scroll_to(y=self.scroll_y + (anchor.virtual_region.y - before_y), animate=False, immediate=True)

        self.call_after_refresh(keep_place)
        return True

    def _trim_bottom(self) -> None:
        """Scrolled far up: unmount the newest events beyond `MAX_MOUNTED` (they come back when scrolled to)."""
        extra = (self._last - self._first) - MAX_MOUNTED
        if extra <= 0:
            return
        if self._anchored:
            self.release_anchor()
        event_items = self._event_items()
        drop: list[Static] = list(event_items[-extra:])
        if drop:
            cut = self.children.index(drop[0])
            drop += [w for w in self.children[cut:] if isinstance(w, OrphanItem)]
        if self._selected in drop:
            self._selected = None
        self._last -= extra
        self.remove_children(drop)

    async def _mount_newer(self) -> bool:
        if self.at_tail:
            return False
        end = min(len(self._events), self._last + PAGE)
        widgets: list[Static] = [EventItem(e) for e in self._events[self._last : end]]
        self._last = end
        if self.at_tail:
            widgets += [OrphanItem(o.text, o.reasoning, o.reason) for o in self._orphans[-3:]]
        await self.mount_all(widgets, before=self._newer)
        extra = (self._last - self._first) - MAX_MOUNTED
        if extra > 0:
            event_items = self._event_items()
            drop: list[Static] = list(event_items[:extra])
            keep = event_items[extra] if len(event_items) > extra else None
            cut = self.children.index(keep) if keep is not None else len(self.children)
            drop += [w for w in self.children[:cut] if isinstance(w, OrphanItem)]
            if self._selected in drop:
                self._selected = None
            before_y = keep.virtual_region.y if keep is not None else 0
            self._first += extra
            await self.remove_children(drop)

            def keep_place() -> None:
                if keep is not None and keep.is_attached:
                    self.scroll_to(y=self.scroll_y - (before_y - keep.virtual_region.y), animate=False, immediate=True)

            self.call_after_refresh(keep_place)
        self._update_marks()
        return True

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if new <= 0 < old and not self.following:
            self.want_older()
        elif new >= self.max_scroll_y > 0 and new > old and not self.at_tail:
            self.run_worker(self._mount_newer(), group="newer", exclusive=True)

    def on_mouse_scroll_up(self, event) -> None:
        if self.scroll_y <= 0 and (self._first > 0 or self.server_older):
            self.want_older()

    # ------------------------------------------------------------------ selection

    def _select(self, item: EventItem | OrphanItem | None) -> None:
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
            index = len(items) - 1
        else:
            index = max(0, min(len(items) - 1, items.index(self._selected) + delta))
            if delta < 0 and index == 0 and items.index(self._selected) == 0:
                self.want_older()
        if delta < 0 and self._anchored:
            self.release_anchor()
        self._select(items[index])

    def action_toggle_item(self) -> None:
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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        older = self._first > 0 or self.server_older
        if action == "first":
            return older
        if action == "top":
            return not older
        return True

    def action_top(self) -> None:
        self.release_anchor()
        self.scroll_home(animate=False)

    async def action_first(self) -> None:
        """Home: to the top of what is mounted, bringing in one older page (from the server if need be)."""
        self.release_anchor()
        if self._first > 0:
            await self._mount_older()
        else:
            self.want_older()
        self.call_after_refresh(lambda: self.scroll_home(animate=False))

    async def action_last(self) -> None:
        self._select(None)
        if not self.at_tail or self._pending:
            await self.show(self._events + self._pending, self._orphans)
        self._anchor_released = False
        self.anchor(False)
        self._settle()
        self.scroll_end(animate=False)

    @property
    def selected_text(self) -> str | None:
        return self._selected.copy_text if self._selected is not None else None
