"""Markdown as the log shows it: Rich's renderer with code blocks cropped, never wrapped.

Its own module because rich.markdown (markdown-it, pygments) is the heaviest import of the app layer: it loads
with the first message shown, after the first frame.
"""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import CodeBlock, Markdown
from rich.text import Text

from .blocks import code_view


class CropCodeBlock(CodeBlock):
    """A markdown code block that keeps its indentation: cropped with a mark, never wrapped."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        code = str(self.text).rstrip()
        lexer = self.lexer_name if self.lexer_name not in ("", "default") else "text"
        try:
            view = code_view(code, lexer)
        except Exception:  # an unknown lexer name: plain text
            view = code_view(code, "text")
        yield Text("")
        yield view


class ViewMarkdown(Markdown):
    elements = {**Markdown.elements, "fence": CropCodeBlock, "code_block": CropCodeBlock}
