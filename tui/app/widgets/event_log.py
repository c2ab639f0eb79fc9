"""The open conversation's events as blocks: windowed, batched, follows the tail unless the user scrolled away.

Events are grouped into blocks by `tui.app.transcript` (one per tool call, message, plan, turn footer...) and drawn
by `tui.app.blocks`. Only the newest `WINDOW` blocks are mounted; scrolling to the top (or `home`) mounts an older
page from the blocks held and, when those run out, asks for older events from the server (`OlderWanted`: the app
fetches them in the background; they arrive through `reorder`, then `older_loaded`). The scroll position is kept,
and at most `MAX_MOUNTED` blocks are ever mounted: scrolled far up, the newest ones are unmounted and come back when
scrolled down to (or `end`). New events are buffered and applied together at most `FLUSH_HZ` times a second: new
blocks are mounted, blocks that changed (an observation paired with its action, an error counted again, the plan
updated) are repainted in place. Fold state lives here, by block id, so it survives unmounting and remounting.

The live reply (`TokenStream`) is the last child of the scroll content, right after the newest block: the reply
streams where it will land, in full; it grows a row at a time and the log, anchored while following, keeps its newest
line on screen.

Keys (bindings of this widget): `/` find (also asks the server's event search for events not loaded yet), `n` / `N`
the next older / newer match, `t` timestamps, `ctrl+home` / `<` the very first event (loads all), `end` / `>` the
newest.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from tui import protocol
from tui.sanitize import markdown

from .. import blocks, render
from ..textual_private import set_by_layout_virtual_size
from ..transcript import Block, Transcript
from .log_search import SearchPrompt
from .token_stream import StreamTail, TokenStream

if TYPE_CHECKING:
    from tui.protocol import Event

WINDOW = 150  # blocks mounted while following the tail
PAGE = 100  # blocks mounted per scroll-up (or down, back towards the tail)
MAX_MOUNTED = WINDOW + 2 * PAGE  # scrolled far up: the newest blocks beyond this are unmounted
FLUSH_HZ = 15
SPINNER_HZ = 8
FIND_LOAD_LIMIT = 20_000  # at most this many older events are paged in to reach a match or the first event
# While following the tail the log holds at most this many blocks (cut when HELD_SLACK more arrived); the older
# ones come back from the session (or the server) when scrolled up to, like older history.
HELD = 500
HELD_SLACK = 250
# A flood: a flush brings `FLOOD_AT` events or more while following. The log then starts again from the newest
# `FLOOD_KEEP` events (the session or the server has the rest, paged back in when scrolled up to), mounts only
# the newest screenful, says "catching up: N events behind", and flushes `FLOOD_FLUSH_HZ` times a second until a
# flush brings fewer: never block by block.
FLOOD_AT = 100
FLOOD_KEEP = 200
FLOOD_MOUNT = 30  # blocks mounted by a flush that brings more than `WINDOW` (a flood: a screenful, not a window)
FLOOD_FLUSH_HZ = 2


# Text with none of these needs no markdown parser (most chat lines): a plain `Text` renders the same, faster.
_MARKDOWN_HINTS = re.compile(r"[*_`\[\]<>|~\\&]|^\s*(#|[-+*]\s|\d+[.)]\s|=+\s*$)|https?://| {2,}$|\n\s*\n", re.M)


def _markdown(body: str) -> Any:
    if _MARKDOWN_HINTS.search(body):
        from ..markdown_view import ViewMarkdown

        return markdown(body, ViewMarkdown)  # sanitised, links show their target
    return Text(" ".join(body.split("\n")) if "\n" in body else body)


def _time_of(timestamp: str) -> str:
    """HH:MM:SS as the server wrote it (its local time), no clock of ours involved."""
    match = re.search(r"T(\d\d:\d\d:\d\d)", timestamp or "")
    return match.group(1) if match else "--:--:--"


_KIND_CLASSES = {
    "tool": "-tool",
    "reasoning": "-reasoning",
    "plan": "-plan",
    "error": "-error",
    "footer": "-separator",
    "status": "-separator",
    "note": "-note",
}


def _look(block: Block) -> tuple[Any, ...]:
    """What an `EventItem`'s classes depend on: a flood reuses an item only for a block that looks the same."""
    event = block.event
    role = getattr(getattr(event, "llm_message", None), "role", None)
    return block.kind, event.kind, getattr(event, "source", None), role


class EventItem(Static):
    """One block. `expanded` unfolds it; the state is kept by the log (by block id) across remounts."""

    DEFAULT_CSS = """
    EventItem { height: auto; padding: 0 1; margin: 0 0 0 0; }
    EventItem.-message { margin: 1 0 0 0; }
    EventItem.-user { border-left: thick $primary; }
    EventItem.-agent { border-left: thick $success; }
    EventItem.-tool { border-left: blank; }
    EventItem.-plan { border-left: thick $secondary; margin: 1 0 0 0; }
    EventItem.-error { border-left: thick $error; }
    EventItem.-selected { background: $boost; border-left: thick $warning; }
    EventItem.-match { background: $warning 15%; }
    EventItem.-separator { color: $text-muted; }
    """

    virtual_size = set_by_layout_virtual_size()  # mounting an item is one layout and one frame, not two

    def __init__(self, block: Block, log: EventLog | None = None) -> None:
        self.block = block
        self._log = log
        self._shown: tuple[Any, ...] = ()
        if block.kind in ("message", "answer"):
            role = render.message_role(block.event) if isinstance(block.event, protocol.MessageEvent) else "agent"
            classes = f"-message -{role}"
        else:
            classes = _KIND_CLASSES.get(block.kind, "")
        super().__init__(self._renderable(), classes=classes)
        self._shown = self._signature()

    @property
    def event(self) -> Event:
        return self.block.event

    @property
    def expanded(self) -> bool:
        if self._log is not None and self.block.id in self._log.fold_state:
            return self._log.fold_state[self.block.id]
        return blocks.default_expanded(self.block)

    @expanded.setter
    def expanded(self, value: bool) -> None:
        if self._log is not None:
            self._log.fold_state[self.block.id] = value

    @property
    def running(self) -> bool:
        return self.block.kind == "tool" and self.block.result is None and self.block.event.kind == "ActionEvent"

    def _signature(self) -> tuple[Any, ...]:
        log = self._log
        return (id(self.block), self.block.version, self.expanded, log.timestamps if log is not None else False)

    def _renderable(self) -> Any:
        log = self._log
        frame = log.spinner_frame if log is not None else 0
        shown = blocks.renderable(self.block, self.expanded, markdown=_markdown, frame=frame)
        if log is not None and log.timestamps:
            stamp = Text(_time_of(self.block.timestamp) + " ", style="dim")
            return Group(stamp, shown) if not isinstance(shown, Text) else Group(Text.assemble(stamp, shown))
        # A bare Text would become Textual `Content`, which wraps: one-line summaries must stay one line.
        return Group(shown) if isinstance(shown, Text) and shown.no_wrap else shown

    def rebind(self, block: Block) -> None:
        """Show `block` (the same block after a rebuild, or changed): repaint only when something differs."""
        self.block = block
        self.repaint()

    def repaint(self, force: bool = False) -> None:
        signature = self._signature()
        if force or signature != self._shown:
            self._shown = signature
            self.update(self._renderable())

    def toggle(self) -> None:
        self.expanded = not self.expanded
        self.repaint()

    @property
    def copy_text(self) -> str:
        return blocks.copy_text(self.block)

    @property
    def plain(self) -> str:
        return blocks.plain(self.block)


class OrphanItem(Static):
    """Streamed text that no final message will carry (cut off by an interrupt or an error)."""

    DEFAULT_CSS = """
    OrphanItem { height: auto; padding: 0 1; margin: 1 0 0 0; border-left: thick $warning; color: $text-muted; }
    OrphanItem.-selected { background: $boost; }
    """

    virtual_size = set_by_layout_virtual_size()

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

    @property
    def plain(self) -> str:
        return "reply cut off: " + self.text


class EventLog(VerticalScroll, can_focus=True):
    DEFAULT_CSS = """
    EventLog { height: 1fr; layout: stream; background: $background; scrollbar-size-vertical: 1; }
    EventLog:focus { background-tint: $foreground 3%; }
    EventLog #older, EventLog #newer { height: 1; color: $text-muted; text-align: center; }
    EventLog #new-below { dock: bottom; height: 1; width: auto; offset-x: 1; background: $accent; color: $text;
                          padding: 0 1; display: none; }
    EventLog #new-below.-shown { display: block; }
    EventLog TokenStream.-away { display: none; }
    """

    BINDINGS = [
        Binding("up,k", "select(-1)", "Prev", show=False),
        Binding("down,j", "select(1)", "Next", show=False),
        Binding("enter,space", "toggle_item", "Expand"),
        Binding("c,y", "copy", "Copy"),
        Binding("home,g", "first", "Older", key_display="home"),
        Binding("home,g", "top", "Top", show=False),  # everything is mounted: home just scrolls to the top
        Binding("end,G", "last", "Newest", show=False),
        Binding("greater_than_sign", "last", "Newest", show=False),
        Binding("ctrl+home,less_than_sign", "jump_first", "First", show=False),
        Binding("slash", "find", "Find"),
        Binding("n", "find_next(-1)", "Next match", show=False),
        Binding("N", "find_next(1)", "Previous match", show=False),
        Binding("t", "toggle_timestamps", "Times", show=False),
    ]

    virtual_size = set_by_layout_virtual_size()  # a move of the log is one frame, not two

    spin = True  # the spinner of running tools (snapshot tests turn it off: no clock in a snapshot)

    class CopyRequested(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class OlderWanted(Message):
        """The user reached the top and every held event is mounted: fetch older ones from the server."""

    def __init__(self, *, stream: TokenStream | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self._transcript = Transcript()
        self._first = 0  # self._blocks[_first:_last] are mounted
        self._last = 0
        self._pending: list[Event] = []
        self._flush_timer: Any = None
        self._orphans: list[Any] = []
        self._orphans_seen = 0
        self._selected: EventItem | OrphanItem | None = None
        self.fold_state: dict[str, bool] = {}  # block id -> expanded, as the user left it
        self.timestamps = False
        self._spinner: Any = None
        self._server_older = False  # the server holds events older than the session's
        self._trimmed = False  # blocks older than the held ones were dropped (the session may still hold them)
        self.catching_up = 0  # a flood: how many events the last flush skipped to show the newest (0: none)
        self._reading: Any = None  # the session asked to keep what a reader scrolled up to (released on `show`)
        self.server_remaining: int | None = None  # how many, when known
        self.loading_older = False
        self._older_keys = False
        self._new_below = 0  # blocks that arrived while the user was scrolled up
        self._marks: tuple[Text | None, Text | None] = (None, None)  # the texts of the two marks now shown
        self._older = Static("", id="older")
        self._newer = Static("", id="newer")
        self._below = Static("", id="new-below")
        self.source: Any = None  # the session (`find`, `load_older`, `has_older`, `timeline`); see `_session`
        self.query_text = ""
        self._matches: list[str] = []  # block ids, oldest first
        self._match = -1
        # The live reply streams inside the scroll content, right after the newest block. A stream handed in by
        # a parent that composes its own (below this log) stays hidden and hands its changes to this one.
        self._stream = TokenStream(id="live-reply")
        if stream is not None:
            stream.forward_to(self._stream)

    def compose(self):
        yield self._older
        yield self._stream
        yield self._newer
        yield self._below

    def on_mount(self) -> None:
        self._older.display = False
        self._newer.display = False

    @property
    def _blocks(self) -> list[Block]:
        return self._transcript.blocks

    @property
    def server_older(self) -> bool:
        """Older events exist beyond the blocks held: on the server, or dropped here while following."""
        return self._server_older or self._trimmed

    @server_older.setter
    def server_older(self, value: bool) -> None:
        self._server_older = value

    @property
    def following(self) -> bool:
        """Following the tail (the user has not scrolled away)."""
        return not (self._anchored and self._anchor_released)

    @property
    def at_tail(self) -> bool:
        """The newest held block is mounted."""
        return self._last >= len(self._blocks)

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

    def tools_learned(self, names: Iterable[str]) -> None:
        """Tools a server listed became known (some as editing tools): their blocks are drawn again."""
        wanted = set(names)
        mounted = {item.block.id: item for item in self._event_items()}
        for block in self._blocks:
            if block.kind == "tool" and blocks.tool_name(block) in wanted:
                block.touch()
                item = mounted.get(block.id)
                if item is not None:
                    item.repaint()

    def flush_now(self) -> None:
        """Apply the buffered events at once (the live reply is ending: its final message lands with it)."""
        self._flush()

    def _land_live_reply(self, added: list[Block]) -> None:
        """An agent's message just mounted is the live reply's final form: the reply leaves in the same frame."""
        for block in added:
            agent = block.kind == "answer" or (
                block.kind == "message"
                and isinstance(block.event, protocol.MessageEvent)
                and render.message_role(block.event) == "agent"
            )
            if agent:
                self._stream.landed()
                return

    def on_stream_tail_grew(self, message: StreamTail.Grew) -> None:
        # The live reply grows with the text: a short log becomes tall and starts following its bottom.
        message.stop()
        self.call_after_refresh(self._settle)

    @property
    def items(self) -> list[EventItem | OrphanItem]:
        return [w for w in self.children if isinstance(w, (EventItem, OrphanItem))]

    @property
    def blocks(self) -> list[Block]:
        """Every block held (mounted or not), oldest first."""
        return list(self._blocks)

    @property
    def event_count(self) -> int:
        return len(self._blocks) + len(self._pending)

    @property
    def mounted_count(self) -> int:
        return len(self.items)

    @property
    def new_below(self) -> int:
        """How many blocks arrived below while the user was scrolled up (0 when following)."""
        return self._new_below

    def plain_text(self) -> str:
        """Everything mounted, as plain text (tests and copy-all)."""
        return "\n".join(item.plain for item in self.items)

    def _event_items(self) -> list[EventItem]:
        return [w for w in self.children if isinstance(w, EventItem)]

    def _item(self, block: Block) -> EventItem:
        return EventItem(block, self)

    def _session(self) -> Any:
        """The session behind the log: set by the app (`source`), else the parent view's."""
        return self.source if self.source is not None else getattr(self.parent, "session", None)

    # ------------------------------------------------------------------ data in

    async def show(self, events: Iterable[Event], orphans: Iterable[Any] = ()) -> None:
        """Replace everything with the tail of these events."""
        reading, self._reading = self._reading, None
        if reading is not None and reading is not self._session():  # another conversation: back to its tail
            reading.follow_tail()
        self._pending.clear()
        self._transcript = Transcript()
        self._transcript.add(events)
        self._trimmed = False
        self._selected = None
        await self.remove_children(self.items)
        self._last = len(self._blocks)
        self._first = max(0, self._last - WINDOW)
        widgets: list[Static] = [self._item(b) for b in self._blocks[self._first :]]
        self._orphans = list(orphans)
        self._orphans_seen = len(self._orphans)
        widgets += [OrphanItem(o.text, o.reasoning, o.reason) for o in self._orphans[-3:]]
        if widgets:
            await self.mount_all(widgets, before=self._stream)
        self._set_new_below(0)
        self._update_marks()
        self._check_spinner()
        self.anchor(False)
        self._anchor_released = False
        self.call_after_refresh(self._settle)

    async def reorder(self, events: Iterable[Event], orphans: Iterable[Any] = ()) -> None:
        """The session's timeline changed other than at its end (older events arrived, a gap was filled).

        What is mounted stays where it is when it is still one contiguous run of the new blocks (older ones then
        become scrollable above it); otherwise the log starts again from the tail."""
        events = list(events)
        mounted = self._blocks[self._first : self._last]
        if not mounted:
            await self.show(events, orphans)
            return
        transcript = Transcript()
        transcript.add(events)
        new = transcript.blocks
        index = {b.id: i for i, b in enumerate(new)}
        pos = index.get(mounted[0].id)
        if pos is None or [b.id for b in new[pos : pos + len(mounted)]] != [b.id for b in mounted]:
            await self.show(events, orphans)
            return
        was_at_tail = self.at_tail
        self._transcript = transcript
        self._trimmed = False
        self._pending.clear()
        self._first, self._last = pos, pos + len(mounted)
        for item, block in zip(self._event_items(), new[self._first : self._last], strict=False):
            item.rebind(block)
        if was_at_tail and self._last < len(new):
            batch = new[self._last :]
            self._last = len(new)
            await self.mount_all([self._item(b) for b in batch], before=self._stream)
            self._trim_top_following()
            self.call_after_refresh(self._settle)
        self._update_marks()

    def append(self, events: Iterable[Event]) -> None:
        """Queue new events; they are applied by the next flush (at most `FLUSH_HZ` a second, none when idle)."""
        before = len(self._pending)
        self._pending.extend(e for e in events if not e.is_transient)
        if len(self._pending) > before and self._flush_timer is None and self.is_mounted:
            self._flush_timer = self.set_timer(
                1 / (FLOOD_FLUSH_HZ if self.catching_up else FLUSH_HZ), self._timed_flush
            )

    def _timed_flush(self) -> None:
        self._flush_timer = None
        if not self.is_attached:
            return
        if self._pending:
            self._flush()
        elif self.catching_up:
            self._set_catching_up(0)  # the flood is over
        if self.catching_up and self._flush_timer is None:
            self._flush_timer = self.set_timer(1 / FLOOD_FLUSH_HZ, self._timed_flush)

    def _set_catching_up(self, behind: int) -> None:
        """The flood state on the badge line (which "new below" has when the user is scrolled up)."""
        self.catching_up = behind
        if self._new_below:
            return
        if behind:
            self._below.update(Text(f"catching up: {behind:,} events behind", style="bold"))
        self._below.set_class(bool(behind), "-shown")

    def add_orphans(self, orphans: list[Any]) -> None:
        new = orphans[self._orphans_seen :] if len(orphans) >= self._orphans_seen else orphans[-1:]
        self._orphans_seen = len(orphans)
        self._orphans = list(orphans)
        if new:
            self._flush()
            if self.at_tail:
                self.mount_all([OrphanItem(o.text, o.reasoning, o.reason) for o in new], before=self._stream)
                self.call_after_refresh(self._settle)

    def _flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        was_at_tail = self.at_tail
        arrived = len(batch)
        restart = arrived >= FLOOD_AT and was_at_tail and self.following and self._selected is None
        if restart:  # a flood (see FLOOD_AT)
            self._transcript = Transcript()
            self._trimmed = True
            batch = batch[-FLOOD_KEEP:]
        added, changed = self._transcript.add(batch)
        if changed:
            mounted = {item.block.id: item for item in self._event_items()}
            for block in changed:
                item = mounted.get(block.id)
                if item is not None:
                    item.repaint()
        if added and not self.following:
            self._set_new_below(self._new_below + len(added))
        if was_at_tail and added:
            self._last = len(self._blocks)
            if restart or (len(added) >= WINDOW and self.following and self._selected is None):
                # The batch alone fills the window: mount only its newest screenful (the rest stays held, for
                # scrolling up) and unmount what was there, rather than mounting everything and trimming it again.
                self._first = max(0, self._last - FLOOD_MOUNT)
                drop, shown = self._event_items(), added[-FLOOD_MOUNT:]
                same = len(drop) == len(shown)
                if same and all(_look(i.block) == _look(b) for i, b in zip(drop, shown, strict=True)):
                    for item, block in zip(drop, shown, strict=True):  # a flood goes on: the same widgets, repainted
                        item.rebind(block)
                else:
                    if drop:
                        self.remove_children(drop)
                    self.mount_all([self._item(b) for b in shown], before=self._stream)
            else:
                self.mount_all([self._item(b) for b in added], before=self._stream)
                self._trim_top_following()
            self._land_live_reply(added)
            self.call_after_refresh(self._settle)
        if any(b.kind == "message" and b.event.source == "user" for b in added) and not self.following:
            # The user sent a message (here or elsewhere) while scrolled up: show it and what follows.
            self.run_worker(self.action_last(), group="follow", exclusive=True)
        self._trim_held()
        self._update_marks()
        self._check_spinner()
        session = self._session()
        self._set_catching_up(arrived + getattr(session, "behind", 0) if restart else 0)

    def _trim_held(self) -> None:
        """Following the tail: hold at most `HELD` blocks, and let the session hold its bounded tail. Scrolled up,
        everything held stays (the reader may be reading it), in the session too (`keep_older`)."""
        session = self._session()
        following = self.following and self._selected is None and self.at_tail
        if session is not None and hasattr(session, "follow_tail"):
            if not following:
                session.keep_older = True
                self._reading = session
            elif session.keep_older:
                session.follow_tail()
        extra = min(len(self._blocks) - HELD, self._first)  # never a mounted block
        if not following or len(self._blocks) - HELD <= HELD_SLACK or extra <= 0:
            return
        self._transcript.drop_oldest(extra)
        self._first -= extra
        self._last -= extra
        self._trimmed = True

    async def _untrim(self) -> None:
        """Blocks this log dropped come back from the session's timeline (no server round trip)."""
        if self._trimmed:
            session = self._session()
            await self.reorder(self._session_events(), getattr(getattr(session, "tokens", None), "orphans", []))
            self._trimmed = False

    def follow(self) -> None:
        """Jump to the newest block and follow the tail again (the app calls this when the user sends)."""
        self.run_worker(self.action_last(), group="follow", exclusive=True)

    def _trim_top_following(self) -> None:
        """While following the tail, keep only the newest `WINDOW` blocks mounted."""
        if not self.following or self._selected is not None:
            return
        extra = (self._last - self._first) - WINDOW
        if extra > 0:
            drop = self._event_items()[:extra]
            self._first += len(drop)
            if drop:
                self.remove_children(drop)

    def _set_new_below(self, count: int) -> None:
        self._new_below = count
        if count:
            self._below.update(Text(f"↓ {count} new below (end)", style="bold"))
        self._below.set_class(bool(count), "-shown")

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
        newer = len(self._blocks) - self._last + len(self._pending)
        if newer > 0 and not self.at_tail:
            label = Text(f"↓ {newer} newer events (scroll down, or end for the newest)", style="dim")
            if label != self._marks[1]:
                self._newer.update(label)
                self._marks = (self._marks[0], label)
            self._newer.display = True
        else:
            self._newer.display = False
        # The live reply belongs after the newest block: hidden while the newest blocks are not mounted.
        self._stream.set_class(not self.at_tail, "-away")

    def set_server_older(self, has_older: bool, remaining: int | None = None) -> None:
        self.server_older = has_older
        self.server_remaining = remaining if has_older else None
        self._update_marks()

    # ------------------------------------------------------------------ the spinner of running tools

    def _check_spinner(self) -> None:
        running = self.spin and any(item.running for item in self._event_items()[-20:])
        if running and self._spinner is None and self.is_mounted:
            self._spinner = self.set_interval(1 / SPINNER_HZ, self._spin)
        elif not running and self._spinner is not None:
            self._spinner.stop()
            self._spinner = None

    @property
    def spinner_frame(self) -> int:
        """The spinner's frame from the app's clock (a frozen clock in snapshot tests gives a still frame)."""
        if not self.spin:
            return 0
        try:
            clock = getattr(self.app, "clock", None)
        except Exception:  # not in an app yet
            return 0
        return int((clock() if callable(clock) else time.time()) * SPINNER_HZ)

    def _spin(self) -> None:
        running = [item for item in self._event_items()[-20:] if item.running]
        for item in running:
            item.repaint(force=True)
        if not running:
            self._check_spinner()

    # ------------------------------------------------------------------ paging

    def want_older(self) -> None:
        """The user is at the top: mount an older page, or ask for one from the server (never blocks)."""
        if self._first > 0:
            self.run_worker(self._mount_older(), group="older", exclusive=True)
        elif self._trimmed:
            self.run_worker(self._untrim_then_older(), group="older", exclusive=True)
        elif self.server_older and not self.loading_older:
            self.loading_older = True
            self._update_marks()
            self._reading = self._session() if hasattr(self._session(), "follow_tail") else None
            self.post_message(self.OlderWanted())

    async def _untrim_then_older(self) -> None:
        await self._untrim()
        self.want_older()

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
        start = self._first - PAGE
        if start <= PAGE // 2:
            start = 0  # no small page left behind
        widgets = [self._item(b) for b in self._blocks[start : self._first]]
        items = self.items
        anchor = items[0] if items else None
        before_y = anchor.virtual_region.y if anchor is not None else 0
        self._first = start
        self._trim_bottom()  # before the mount lands, so both make one layout
        await self.mount_all(widgets, before=anchor if anchor is not None else self._stream)
        self._update_marks()

        def keep_place() -> None:
            if anchor is not None and anchor.is_attached:
                self.scroll_to(y=self.scroll_y + (anchor.virtual_region.y - before_y), animate=False, immediate=True)

        self.call_after_refresh(keep_place)
        return True

    def _trim_bottom(self) -> None:
        """Scrolled far up: unmount the newest blocks beyond `MAX_MOUNTED` (they come back when scrolled to)."""
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
        end = min(len(self._blocks), self._last + PAGE)
        widgets: list[Static] = [self._item(b) for b in self._blocks[self._last : end]]
        self._last = end
        if self.at_tail:
            widgets += [OrphanItem(o.text, o.reasoning, o.reason) for o in self._orphans[-3:]]
        await self.mount_all(widgets, before=self._stream)
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

    async def _mount_around(self, index: int) -> None:
        """Mount a window of blocks around `index` (a search match or the first block far from what is mounted)."""
        if self._first <= index < self._last:
            return
        self._select(None)
        if self._anchored:
            self.release_anchor()
        self._anchor_released = True
        await self.remove_children(self.items)
        self._first = max(0, index - PAGE // 2)
        self._last = min(len(self._blocks), self._first + WINDOW)
        widgets: list[Static] = [self._item(b) for b in self._blocks[self._first : self._last]]
        if self.at_tail:
            widgets += [OrphanItem(o.text, o.reasoning, o.reason) for o in self._orphans[-3:]]
        await self.mount_all(widgets, before=self._stream)
        self._update_marks()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if new <= 0 < old and not self.following:
            self.want_older()
        elif new >= self.max_scroll_y > 0 and new > old and not self.at_tail:
            self.run_worker(self._mount_newer(), group="newer", exclusive=True)
        if self._new_below and self.at_tail and new >= self.max_scroll_y:
            self._set_new_below(0)

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
        if action == "find_next":
            return bool(self._matches)
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
            self._flush()
            if not self.at_tail:
                await self.show(self._session_events(), self._orphans)
        self._anchor_released = False
        self.anchor(False)
        self._set_new_below(0)
        self._settle()
        self.scroll_end(animate=False)

    def _session_events(self) -> list[Event]:
        session = self._session()
        timeline = getattr(session, "timeline", None)
        if timeline is not None:
            return list(timeline)
        return [e for b in self._blocks for e in (b.event, b.result) if e is not None]

    async def action_jump_first(self) -> None:
        """The very first event of the conversation: older history is paged in from the server first."""
        await self._load_all_older()
        if not self._blocks:
            return
        await self._mount_around(0)
        if self._first > 0:
            await self._mount_older()
        self.release_anchor()
        self.call_after_refresh(lambda: self.scroll_home(animate=False, immediate=True))

    async def _load_all_older(self, until: Callable[[], bool] | None = None) -> None:
        """Page older events in from the server (all of them, or until `until()` holds)."""
        await self._untrim()
        session = self._session()
        if session is None or not getattr(session, "has_older", False):
            return
        self._reading = session if hasattr(session, "follow_tail") else None
        self.loading_older = True
        self._update_marks()
        try:
            loaded = 0
            while session.has_older and loaded < FIND_LOAD_LIMIT and not (until is not None and until()):
                added = await session.load_older(1000)
                loaded += 1000
                await self.reorder(list(session.timeline), getattr(session.tokens, "orphans", []))
                if not added and not session.has_older:
                    break
        except Exception as error:
            message = getattr(error, "message", None) or str(error) or type(error).__name__
            self.notify(f"loading older events: {message}", severity="error", markup=False, timeout=6)
        finally:
            self.loading_older = False
            self.set_server_older(bool(session.has_older))

    # ------------------------------------------------------------------ search

    def action_find(self) -> None:
        def done(text: str | None) -> None:
            if text:
                self.run_worker(self.find(text), group="find", exclusive=True)

        self.app.push_screen(SearchPrompt(self.query_text), done)

    def _local_matches(self, text: str) -> list[str]:
        needle = text.casefold()
        return [b.id for b in self._blocks if needle in blocks.plain(b).casefold()]

    async def find(self, text: str) -> int:
        """Find `text` in the blocks held and, through the server's event search, in events not loaded yet
        (paged in). Goes to the newest match; returns how many blocks match."""
        self.query_text = text
        await self._untrim()
        session = self._session()
        if session is not None and getattr(session, "has_older", False) and hasattr(session, "find"):
            try:
                ids = await session.find(text)
            except Exception as error:
                message = getattr(error, "message", None) or str(error) or type(error).__name__
                self.notify(f"searching the server: {message}", severity="warning", markup=False, timeout=6)
                ids = []
            if ids:
                oldest = ids[0]

                def held() -> bool:
                    return any(oldest in (b.id, getattr(b.result, "id", None)) for b in self._blocks)

                await self._load_all_older(until=held)
        self._matches = self._local_matches(text)
        self.refresh_bindings()
        if not self._matches:
            self._match = -1
            self.notify(f"not found: {render.one_line(text, 60)}", markup=False, timeout=3)
            return 0
        self._match = len(self._matches) - 1
        await self._go_to_match()
        return len(self._matches)

    async def action_find_next(self, delta: int) -> None:
        """n: the next older match; N: the next newer one (the search runs from the newest up)."""
        if not self._matches:
            return
        self._match = (self._match + delta) % len(self._matches)
        await self._go_to_match()

    @property
    def current_match(self) -> str | None:
        """The block id of the match shown (None without a search)."""
        return self._matches[self._match] if 0 <= self._match < len(self._matches) else None

    async def _go_to_match(self) -> None:
        block_id = self.current_match
        if block_id is None:
            return
        await self.reveal(block_id)
        self.notify(
            f"{self._match + 1} of {len(self._matches)}: {render.one_line(self.query_text, 40)}  (n older, N newer)",
            markup=False,
            timeout=2,
        )

    async def reveal(self, block_id: str) -> EventItem | None:
        """Mount the block if need be, select it and scroll it into view."""
        index = next((i for i, b in enumerate(self._blocks) if b.id == block_id), None)
        if index is None:
            return None
        await self._mount_around(index)
        item = next((i for i in self._event_items() if i.block.id == block_id), None)
        if item is None:
            return None
        if self._anchored:
            self.release_anchor()
        self._anchor_released = True
        self._select(item)
        for _ in range(5):  # a freshly mounted window is laid out over a refresh or two
            await self._after_refresh()
            if not item.is_attached or item.virtual_region.height:
                break
        if item.is_attached:
            self.scroll_to_widget(item, animate=False, top=True, immediate=True)
        return item

    async def _after_refresh(self) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def resolve() -> None:
            if not done.done():
                done.set_result(None)

        self.call_after_refresh(resolve)
        await done

    # ------------------------------------------------------------------ timestamps

    def action_toggle_timestamps(self) -> None:
        self.timestamps = not self.timestamps
        for item in self._event_items():
            item.repaint()

    @property
    def selected_text(self) -> str | None:
        return self._selected.copy_text if self._selected is not None else None
