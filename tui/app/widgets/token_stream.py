"""The LLM's reply while it streams, in its own bounded panel under the event log (outside its scroll content).

The panel shows the newest lines of the reply as plain text (reasoning dim and italic above it); the final message
replaces it in the log, rendered as markdown, once it lands (the session then clears its buffer and this panel
empties and hides). The log therefore stays still while tokens arrive, and each flush repaints only the lines of
the panel that changed (usually just the last one): a frame carries a line or two, not the screen.

Fed by `set_text(content, reasoning)` from the conversation view, which coalesces deltas (a flush at most every
~50 ms, none when nothing changed).
"""

from __future__ import annotations

import re

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from .. import render

_CHUNK = 4096  # a very long line is wrapped from a multiple of this (stable wraps, bounded work per flush)


def _display_lines(source: str, style: str, height: int, fence_aware: bool) -> list[tuple[str, str]]:
    """The last logical lines of `source` (enough to fill `height` rows at any width), each with a style."""
    if not source:
        return []
    tail = source.rsplit("\n", height + 1)[-(height + 1) :]  # from the end: no split of the whole reply
    styles: list[str] = []
    if fence_aware:
        # Inside a ``` fence (counted over the text before the tail): code is dim, headings bold.
        start = len(source) - sum(len(t) + 1 for t in tail) + 1
        fenced = source.count("```", 0, max(0, start)) % 2 == 1
        shown: list[str] = []
        for line in tail:
            stripped = line.lstrip()
            if stripped.startswith("```"):
                fenced = not fenced
                label = stripped[3:].strip()
                shown.append(("┄ " + label + " ┄") if fenced and label else "┄┄")
                styles.append("dim")
            elif fenced:
                shown.append(line)
                styles.append(CODE)
            else:
                text, line_style = _markdown_line(line, style)
                shown.append(text)
                styles.append(line_style)
        return list(zip(shown, styles, strict=False))
    styles = [style] * len(tail)
    return list(zip(tail, styles, strict=False))


CODE = "code"  # the style name of a line inside a code fence: shown as typed, never given inline markdown
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+(.*)$")
_QUOTE = re.compile(r"^\s*>\s?(.*)$")


def _markdown_line(line: str, style: str) -> tuple[str, str]:
    """A markdown line as it will look once rendered: headings without their `#`, bullets as `•`, quotes with a
    bar. Cheap enough for every flush (one regex per line of the visible tail)."""
    heading = _HEADING.match(line)
    if heading:
        return heading.group(2), "bold underline" if len(heading.group(1)) == 1 else "bold"
    bullet = _BULLET.match(line)
    if bullet:
        return f"{bullet.group(1)}• {bullet.group(2)}", style
    quote = _QUOTE.match(line)
    if quote:
        return "▌ " + quote.group(1), "dim italic"
    return line, style


_INLINE = re.compile(r"\*\*([^*\n]+)\*\*|`([^`\n]+)`")


def _inline(line: str, style: str) -> Text:
    """A line with the commonest inline markdown shown as such (**bold**, `code`); the rest stays as typed."""
    text = Text(style=style, no_wrap=False, overflow="fold", end="")
    pos = 0
    for match in _INLINE.finditer(line):
        text.append(line[pos : match.start()])
        if match.group(1) is not None:
            text.append(match.group(1), style="bold")
        else:
            text.append(match.group(2), style="bold dim")
        pos = match.end()
    text.append(line[pos:])
    return text


class StreamTail(Widget):
    """The newest rows of the streaming text; repaints only the rows that changed since the last frame."""

    DEFAULT_CSS = """
    StreamTail { height: 2; }
    """

    MAX_ROWS = 10

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source = ""  # the reply text shown so far (what a screen frame holds)
        self.reasoning = ""
        self._rows: list[Text] = []
        self._strips: list[Strip] = []
        self._size = Size(0, 0)
        self._height = 2
        self._anchor = 0  # the first logical line the panel shows (see `_window`)

    def _cap(self) -> int:
        """At most 10 rows, and no more than ~30% of the screen (the log keeps most of it)."""
        return max(2, min(self.MAX_ROWS, (self.screen.size.height * 3) // 10))

    def _bucket(self, rows: int, cap: int) -> int:
        """The panel opens at its full height at once: every change of its height moves (and so repaints) the
        whole log above it, so it changes once when a reply starts and once when it lands, not as it grows."""
        return cap

    def set_text(self, content: str, reasoning: str = "") -> None:
        if content == self.source and reasoning == self.reasoning:
            return
        if not content.startswith(self.source) or not reasoning.startswith(self.reasoning):
            self._anchor = 0
        self.source = content
        self.reasoning = reasoning
        self._relayout()

    def on_resize(self) -> None:
        self._relayout(force=True)

    def _wrap(self, width: int, height: int) -> list[tuple[int, Text]]:
        """The rows of the last logical lines (at least `height` rows when there are that many), each with the
        index of its logical line (reasoning lines first, then the reply's)."""
        console = self.app.console
        rows: list[tuple[int, Text]] = []
        parts: list[tuple[str, str]] = []
        if self.reasoning:
            parts += _display_lines(self.reasoning, "dim italic", height, False)
        if self.source:
            parts += _display_lines(self.source, "", height, True)
        last = (
            self.reasoning.count("\n")
            + (1 if self.reasoning else 0)
            + self.source.count("\n")
            + (1 if self.source else 0)
            - 1
        )
        for offset, (line, style) in enumerate(reversed(parts)):
            if len(line) > height * width * 2:
                cut = ((len(line) - height * width) // _CHUNK) * _CHUNK
                line = line[cut:]
            if style == CODE:
                text = Text(line.expandtabs(4), style="bold dim")
            elif style == "dim":
                text = Text(line.expandtabs(4), style=style)
            else:
                text = _inline(line.expandtabs(4), style)
            wrapped = text.wrap(console, width) if line else [Text("")]
            rows[:0] = [(last - offset, row) for row in wrapped]
            if len(rows) >= height:
                break
        return rows

    def _window(self, rows: list[tuple[int, Text]], height: int) -> list[Text]:
        """The rows to show: from the anchor line on while they fit; when they no longer do, the window jumps
        ahead so that about half the panel is free again. The panel therefore scrolls by half a page every few
        lines instead of by one row with every new line (which rewrites every row of it on the terminal)."""
        if not rows:
            self._anchor = 0
            return []
        first, newest = rows[0][0], rows[-1][0]
        if self._anchor > newest:
            self._anchor = 0  # the text was replaced (a new reply)
        visible = [row for index, row in rows if index >= self._anchor]
        if self._anchor >= first and len(visible) <= height:
            return visible
        keep = max(1, height // 2)
        anchor = newest
        for index in sorted({index for index, _ in rows}, reverse=True):
            if sum(1 for i, _ in rows if i >= index) > keep:
                break
            anchor = index
        self._anchor = anchor
        visible = [row for index, row in rows if index >= anchor]
        return visible[-height:]

    def _relayout(self, force: bool = False) -> None:
        size = self.content_size
        width, height = size.width, size.height
        if width <= 0:
            return
        cap = self._cap()
        wrapped = self._wrap(width, cap)
        rows = [row for _, row in wrapped]
        want = max(self._height, self._bucket(len(rows), cap)) if self.source or self.reasoning else 2
        want = min(want, cap)
        if want != self._height:
            self._height = want
            self.styles.height = want  # the resize that follows paints the rows
            return
        if height <= 0:
            return
        rows = self._window(wrapped, height)
        rows += [Text("")] * (height - len(rows))
        console = self.app.console
        base = self.rich_style
        resized = force or size != self._size or len(self._strips) != height
        self._size = size
        old = self._rows
        strips = self._strips if not resized else [Strip.blank(width, base)] * height
        changed: list[int] = []
        for y, row in enumerate(rows):
            if not resized and y < len(old) and old[y] == row:
                continue
            segments = list(row.render(console))
            strip = Strip(segments).crop_extend(0, width, base).apply_style(base)
            strips[y] = strip
            changed.append(y)
        self._rows = rows
        self._strips = strips
        if resized:
            self.refresh()
        else:
            for y in changed:
                self.refresh(Region(0, y, width, 1))

    def render_line(self, y: int) -> Strip:
        if y < len(self._strips) and self._strips[y].cell_length == self.content_size.width:
            return self._strips[y]
        return Strip.blank(self.content_size.width, self.rich_style)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._rows = []  # the base style changed (theme): every row is painted again
        self.call_later(self._relayout, True)


class TokenStream(Vertical):
    DEFAULT_CSS = """
    TokenStream { height: auto; display: none; padding: 0 1; border-left: thick $accent;
                  background: $background; }
    TokenStream.-active { display: block; }
    TokenStream #stream-label { height: 1; color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._written = ""
        self._reasoning = ""
        self._tail = StreamTail(id="stream-markdown")
        self._forward: TokenStream | None = None

    def forward_to(self, other: TokenStream) -> None:
        """Show nothing here and hand every change to `other` (the event log's live reply, for a parent that
        still composes a stream of its own under the log)."""
        self._forward = other
        self.display = False

    def compose(self) -> ComposeResult:
        yield Static(Text("▍ streaming…", style="italic"), id="stream-label")
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
        if not content and not reasoning:
            await self.clear()
            return
        if content == self._written and reasoning == self._reasoning and self.has_class("-active"):
            return
        self._written = content
        self._reasoning = reasoning
        self._tail.set_text(content, reasoning)
        self.add_class("-active")

    async def clear(self) -> None:
        if self._forward is not None:
            await self._forward.clear()
            return
        self._written = ""
        self._reasoning = ""
        self._tail.set_text("", "")
        self.remove_class("-active")
