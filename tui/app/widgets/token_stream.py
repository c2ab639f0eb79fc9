"""The LLM's reply while it streams: reasoning apart (dim), content as markdown via `Markdown.get_stream()`.

Fed by `set_text(content, reasoning)` at ~10 Hz from the conversation view; it writes only the new suffix. When
the final message or action lands the session clears its buffer and this widget empties and hides.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Markdown, Static

from .. import render


class TokenStream(Vertical):
    DEFAULT_CSS = """
    TokenStream { height: auto; display: none; padding: 0 1; margin: 1 0 0 0; border-left: thick $accent; }
    TokenStream.-active { display: block; }
    TokenStream #stream-label { height: 1; color: $text-muted; }
    TokenStream #stream-reasoning { color: $text-muted; text-style: italic; height: auto; max-height: 8; }
    TokenStream Markdown { layout: stream; margin: 0; padding: 0; height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._written = ""
        self._reasoning = ""
        self._stream = None

    def compose(self) -> ComposeResult:
        yield Static(Text("▍ streaming…", style="italic"), id="stream-label")
        yield Static("", id="stream-reasoning")
        yield Markdown("", id="stream-markdown")

    @property
    def text(self) -> str:
        return self._written

    @property
    def reasoning(self) -> str:
        return self._reasoning

    async def set_text(self, content: str, reasoning: str = "") -> None:
        content = render.clean(content)
        reasoning = render.clean(reasoning)
        if not content and not reasoning:
            await self.clear()
            return
        self.add_class("-active")
        if reasoning != self._reasoning:
            self._reasoning = reasoning
            tail = "\n".join(reasoning.splitlines()[-6:])
            self.query_one("#stream-reasoning", Static).update(Text(tail, style="italic"))
        if content == self._written:
            return
        md = self.query_one("#stream-markdown", Markdown)
        if content.startswith(self._written) and self._stream is not None:
            chunk = content[len(self._written):]
        else:
            await self._stop()
            await md.update("")
            chunk = content
            self._stream = Markdown.get_stream(md)
        self._written = content
        await self._stream.write(chunk)

    async def _stop(self) -> None:
        if self._stream is not None:
            stream, self._stream = self._stream, None
            try:
                await stream.stop()
            except Exception:
                pass

    async def clear(self) -> None:
        if not self._written and not self._reasoning and self._stream is None:
            self.remove_class("-active")
            return
        await self._stop()
        self._written = ""
        self._reasoning = ""
        self.query_one("#stream-reasoning", Static).update("")
        await self.query_one("#stream-markdown", Markdown).update("")
        self.remove_class("-active")
