"""The LLM's reply while it streams: the whole reply, rendered as markdown as it arrives, right after the newest
block of the event log (the last child of its scroll content), where the final message will land.

The reply is cut into markdown blocks as it grows (a block ends at a blank line or at the end of a code fence).
A finished block is rendered once (the same `ViewMarkdown` as final messages: headings, lists, code cropped with a
mark, never wrapped) and its rows are kept; each flush renders only the block still being written. The work per
flush is therefore bounded by the size of the last block, not of the reply (re-rendering the whole text on every
delta would be quadratic). Reasoning streams above it, dim, line by line the same way.

The widget is as tall as the reply: the log, anchored to its bottom while following, keeps the newest line on
screen. Each flush repaints only the rows that changed (usually the last one) unless the reply grew by a row. When
the final message lands, the session clears its buffer and this panel empties and hides: the message takes its
place with the same frame (head, border, padding) and the same markdown.

Fed by `set_text(content, reasoning)` from the conversation view, which coalesces deltas (a flush at most every
~50 ms, none when nothing changed).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rich.console import RenderableType
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import ScrollableContainer, Vertical
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from tui.sanitize import markdown

from .. import blocks, render
from ..textual_private import set_by_layout_virtual_size

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def markdown_blocks(text: str, start: int) -> tuple[list[str], int]:
    """The markdown blocks of `text[start:]` that are finished (a later line shows they cannot change any more),
    and where the unfinished rest starts. `start` is always outside a code fence (a previous return value)."""
    finished: list[str] = []
    begin = start  # where the current block starts
    blank_at = -1  # where the blank lines after the current block start
    fence = ""  # the fence's marker while inside a code block
    pos = start
    while True:
        end = text.find("\n", pos)
        if end < 0:
            break
        line = text[pos:end]
        if fence:
            stripped = line.strip()
            if stripped.startswith(fence) and not stripped.strip(fence[0]):
                fence = ""
                finished.append(text[begin:end])
                begin = end + 1
        elif not line.strip():
            if pos == begin:
                begin = end + 1  # blank lines before a block belong to no block
            elif blank_at < 0:
                blank_at = pos
        else:
            if blank_at >= 0:  # a block after blank lines: the one before them is finished
                finished.append(text[begin:blank_at])
                begin, blank_at = pos, -1
            match = _FENCE.match(line)
            if match:
                fence = match.group(1)
        pos = end + 1
    return finished, begin


def text_lines(text: str, start: int) -> tuple[list[str], int]:
    """The complete lines of `text[start:]` and where the unfinished last line starts."""
    end = text.rfind("\n", start)
    if end < 0:
        return [], start
    return text[start:end].split("\n"), end + 1


def _reply_renderable(source: str) -> RenderableType:
    return markdown(source, blocks.ViewMarkdown)


def _reasoning_renderable(source: str) -> RenderableType:
    return Text(source.expandtabs(4), style="dim italic")


def _blank(strip: Strip) -> bool:
    return not strip.text.strip()


class _Incremental:
    """One streamed text as rows: finished parts rendered once, the unfinished rest again on each change."""

    def __init__(
        self,
        split: Callable[[str, int], tuple[list[str], int]],
        renderable: Callable[[str], RenderableType],
        separated: bool,
    ) -> None:
        self._split = split
        self._renderable = renderable
        self._separated = separated  # one blank row between parts (markdown blocks), none (lines)
        self.source = ""
        self._cut = 0  # source[:_cut] is in `_parts`
        self._rows: list[Strip] = []  # the rows of `_parts`, at `_width`
        self._tail: list[Strip] = []
        self._width = 0
        self.blank_style: Style | None = None  # the style of a separating blank row
        self.render_part: Callable[[str, int], list[Strip]] = lambda source, width: []

    def _rows_of(self, part: str, width: int) -> list[Strip]:
        rows = self.render_part(part, width) if part.strip() or not self._separated else []
        if self._separated:
            while rows and _blank(rows[0]):
                rows.pop(0)
            while rows and _blank(rows[-1]):
                rows.pop()
        return rows

    def _append(self, rows: list[Strip], target: list[Strip], width: int) -> None:
        if self._separated and rows and target:
            target.append(Strip.blank(width, self.blank_style))
        target.extend(rows)

    def update(self, source: str, width: int) -> list[Strip]:
        """The rows of `source` at `width` (reusing the finished parts when `source` only grew)."""
        if width != self._width or not source.startswith(self.source[: self._cut]):
            self._width = width
            self._cut = 0
            self._rows = []
        self.source = source
        parts, self._cut = self._split(source, self._cut)
        for part in parts:
            self._append(self._rows_of(part, width), self._rows, width)
        rows = list(self._rows)
        self._append(self._rows_of(source[self._cut :], width), rows, width)
        return rows


class StreamTail(Widget):
    """The streamed reasoning and reply, every row of them; repaints only the rows that changed."""

    DEFAULT_CSS = """
    StreamTail { height: auto; }
    """

    virtual_size = set_by_layout_virtual_size()  # one frame per size change, not two

    ROOM_DIVISOR = 1  # while following a tall log, room is taken for 1/ROOM_DIVISOR of the view at a time

    class Grew(Message):
        """The live reply changed its height (the log re-checks whether it follows the tail)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source = ""  # the reply text shown so far (what a screen frame holds)
        self.reasoning = ""
        self._reply = _Incremental(markdown_blocks, _reply_renderable, separated=True)
        self._thought = _Incremental(text_lines, _reasoning_renderable, separated=False)
        self._reply.render_part = self._render_part(_reply_renderable)
        self._thought.render_part = self._render_part(_reasoning_renderable)
        self._strips: list[Strip] = []
        self._size = Size(0, 0)  # the width the rows were rendered at, and how many there are
        self._painted_style: Style | None = None  # the base style of the rows (see `notify_style_update`)
        self._height = 0  # the rows the widget takes: the text's, and room for more while following (`_room`)

    def _render_part(self, renderable: Callable[[str], RenderableType]) -> Callable[[str, int], list[Strip]]:
        def rows(source: str, width: int) -> list[Strip]:
            console = self.app.console
            self._reply.blank_style = self._thought.blank_style = self.rich_style
            options = console.options.update(width=width, height=None, highlight=False)
            lines = console.render_lines(renderable(source), options, style=self.rich_style, pad=True)
            return [Strip(line, width) for line in lines]

        return rows

    @property
    def _rows(self) -> list[Text]:
        """The rows shown, as plain text (what a reader sees)."""
        return [Text(strip.text.rstrip()) for strip in self._strips]

    def set_text(self, content: str, reasoning: str = "") -> None:
        if content == self.source and reasoning == self.reasoning:
            return
        self.source = content
        self.reasoning = reasoning
        self._relayout()

    def on_resize(self) -> None:
        if self.content_size.width != self._size.width:
            self._relayout(force=True)

    def _build(self, width: int) -> list[Strip]:
        rows = self._thought.update(self.reasoning, width) if self.reasoning else []
        if self.source:
            reply = self._reply.update(self.source, width)
            if rows and reply:
                rows.append(Strip.blank(width, self.rich_style))
            rows.extend(reply)
        return rows

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if width > 0 and width != self._size.width:
            # Rewrapped (a resize, or the log's scrollbar came or went): the room kept for more rows stays, or the
            # scrollbar that the room brought would take it away again, and so on, a repaint each time.
            room = max(0, self._height - len(self._strips)) if self._strips else 0
            self._strips = self._build(width)
            self._size = Size(width, len(self._strips))
            self._height = len(self._strips) + room if self._strips else 0
            self.refresh()
        return self._height

    def _room(self, rows: int) -> int:
        """The rows to take for `rows` rows of text. While the log follows a tail taller than its view, every row
        the reply grows by moves (and so repaints) every row of the log: the reply then takes the room of a
        whole view at once (its head at the top, blank rows under it that fill up, as chat UIs do), so the log
        moves once a view, not every line. Under a log that still fits, it takes the blank rows down to the
        view's bottom (growing would repaint the whole reply each row). One scrolled away from grows row by
        row."""
        height = self._height
        if rows <= height:
            return height if rows else 0
        panel = self.parent
        log = panel.parent if isinstance(panel, Widget) else None
        if not isinstance(panel, Widget) or not isinstance(log, ScrollableContainer):
            return rows
        if not getattr(log, "following", True):
            return rows
        view = log.scrollable_content_region.height
        room = rows + max(0, view // self.ROOM_DIVISOR - 1)
        if height == 0:
            # A reply starting to stream under a log that already scrolls takes its first room at once (one move
            # of the log, not two); one shown already long (opened mid-reply) just fits its text.
            return room if rows <= 3 and log.max_scroll_y > 0 else rows
        fill = view - (panel.virtual_region_with_margin.bottom - height)  # the rows down to the view's bottom
        if rows <= fill:
            # The log's content still fits: the reply takes the blank rows under it at once, so it grows without
            # moving (and so repainting) itself on every row; nothing scrolls yet.
            return fill
        return room

    def _relayout(self, force: bool = False) -> None:
        width = self.content_size.width
        if width <= 0:
            self._size = Size(0, 0)  # hidden (scrolled away from the tail): built at the next layout
            return
        old = self._strips
        strips = self._build(width)
        self._strips = strips
        self._size = Size(width, len(strips))
        height = len(strips) if force else self._room(len(strips))
        if force or height != self._height:
            self._height = height
            self.refresh(layout=height != self.content_size.height)
            self.post_message(self.Grew())
            return
        for y in range(max(len(old), len(strips))):
            if y >= len(old) or y >= len(strips) or (old[y] is not strips[y] and old[y] != strips[y]):
                self.refresh(Region(0, y, width, 1))

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        if y < len(self._strips) and self._strips[y].cell_length == width:
            return self._strips[y]
        return Strip.blank(width, self.rich_style)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        # Called on any style pass over the screen (a class changing anywhere above): the rows are painted again
        # only when the base style they were painted with changed (a theme), not on every pass.
        if self.rich_style == self._painted_style:
            return
        self._painted_style = self.rich_style
        self._reply = _Incremental(markdown_blocks, _reply_renderable, separated=True)
        self._thought = _Incremental(text_lines, _reasoning_renderable, separated=False)
        self._reply.render_part = self._render_part(_reply_renderable)
        self._thought.render_part = self._render_part(_reasoning_renderable)
        self.call_later(self._relayout, True)


class TokenStream(Vertical):
    """The live reply, framed like the agent's message it becomes (head, border, margin, padding)."""

    DEFAULT_CSS = """
    TokenStream { height: auto; display: none; padding: 0 1; margin: 1 0 0 0; border-left: thick $success;
                  background: $background; }
    TokenStream.-active { display: block; }
    TokenStream #stream-label { height: 1; }
    """

    virtual_size = set_by_layout_virtual_size()  # one frame per size change, not two

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._written = ""
        self._reasoning = ""
        self._tail = StreamTail(id="stream-markdown")
        self._landed = ""  # the text of the reply whose final message just took its place (see `landed`)
        self._forward: TokenStream | None = None

    def forward_to(self, other: TokenStream) -> None:
        """Show nothing here and hand every change to `other` (the event log's live reply, for a parent that
        still composes a stream of its own under the log)."""
        self._forward = other
        self.display = False

    def compose(self) -> ComposeResult:
        label = Text.assemble(("agent", "bold"), ("  streaming…", "dim italic"))
        yield Static(label, id="stream-label")
        yield self._tail

    @property
    def text(self) -> str:
        return self._forward.text if self._forward is not None else self._written

    @property
    def reasoning(self) -> str:
        return self._forward.reasoning if self._forward is not None else self._reasoning

    async def set_text(self, content: str, reasoning: str = "") -> None:
        if self._forward is not None:
            await self._forward.set_text(content, reasoning)
            return
        content = render.clean(content) if content != self._written else content
        reasoning = render.clean(reasoning) if reasoning != self._reasoning else reasoning
        if content and content == self._landed and not reasoning:
            return  # the text of the message that just landed, still held by the session: shown once, there
        self._landed = ""
        if not content and not reasoning:
            await self.clear()
            return
        if content == self._written and reasoning == self._reasoning and self.has_class("-active"):
            return
        self._written = content
        self._reasoning = reasoning
        self._tail.set_text(content, reasoning)
        self.add_class("-active")

    def landed(self) -> None:
        """The final message was just mounted in the log: leave in the same frame (the message takes this
        panel's place, so the log does not move twice: down for the message, up for the panel)."""
        if self._forward is not None:
            self._forward.landed()
            return
        if self.has_class("-active"):
            self._landed = self._written
            self._written = ""
            self._reasoning = ""
            self._tail.set_text("", "")
            self.remove_class("-active")

    async def clear(self) -> None:
        if self._forward is not None:
            await self._forward.clear()
            return
        self._written = ""
        self._landed = ""
        self._reasoning = ""
        self._tail.set_text("", "")
        self.remove_class("-active")
