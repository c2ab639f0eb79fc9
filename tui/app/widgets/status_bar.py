"""One line under the log: status + turn time, connection, tokens/cost, queue length, server."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from tui.protocol import ExecutionStatus
from tui.session import ConnectionState

from .. import render
from ..snapshot import ConversationSnapshot


def status_text(data: ConversationSnapshot, now: float, width: int = 0) -> Text:
    """The line; with a `width`, the least important parts go first (model, server, tokens) until it fits."""
    parts = _parts(data, now)
    if width > 0:
        for drop in ("model", "server", "usage"):
            if _joined(parts).cell_len <= width:
                break
            parts = [(name, part) for name, part in parts if name != drop]
    return _joined(parts)


def _joined(parts: list[tuple[str, Text]]) -> Text:
    text = Text()
    for n, (name, part) in enumerate(parts):
        if n and name != "model":  # the model follows the server's name after a space (in its own part)
            text.append(" │ ", style="dim")
        text.append_text(part)
    return text


def _parts(data: ConversationSnapshot, now: float) -> list[tuple[str, Text]]:
    status = Text()
    if data.interrupting:
        status.append("■ interrupting…", style="bold yellow")
    elif data.pausing and data.status is ExecutionStatus.RUNNING:
        status.append("‖ pausing after this step…", style="bold yellow")
    else:
        status.append_text(render.status_glyph(data.status, now))
        status.append(" " + render.status_label(data.status), style=render.STATUS_STYLE.get(data.status, ""))
    if data.turn_started and (data.status is ExecutionStatus.RUNNING or data.interrupting):
        status.append(f" {render.duration(now - data.turn_started)}", style="bold")
    parts = [("status", status), ("connection", _connection(data, now))]
    if data.capacity_wait:
        parts.append(("capacity", Text(render.one_line(data.capacity_wait, 50), style="bold yellow")))
    if data.runtime_problem:
        parts.append(("runtime", Text(render.one_line(data.runtime_problem, 60), style="bold red")))
    usage = data.usage
    if usage.total_tokens or usage.cost:
        line = Text(f"{render.tokens(usage.total_tokens)} tok")
        c = render.cost(usage.cost)
        if c:
            line.append(" " + c)
        parts.append(("usage", line))
    if data.queue:
        parts.append(("queue", Text(f"queue {len(data.queue)}", style="bold cyan")))
    parts.append(("server", Text(render.one_line(data.server, 30), style="dim")))
    if data.model:
        parts.append(("model", Text(" " + render.one_line(data.model, 30), style="dim italic")))
    return parts


def _connection(data: ConversationSnapshot, now: float) -> Text:
    text = Text()
    conn = data.connection
    if data.deleted:
        text.append("✗ deleted on the server", style="bold red")
        text.append(": no longer followed", style="red")
    elif conn is ConnectionState.LIVE:
        text.append("● live", style="green")
    elif conn is ConnectionState.RECONNECTING:
        label = "reconnecting"
        if data.retry_at:
            label += f" in {max(0, round(data.retry_at - now))}s"
        text.append("⚡ " + label, style="bold yellow")
    elif conn is ConnectionState.RESYNCING:
        text.append("⟳ resyncing", style="yellow")
    elif conn is ConnectionState.STOPPED:
        text.append("■ stopped", style="bold red")
        if data.connection_reason:
            text.append(": " + render.one_line(data.connection_reason, 60), style="red")
    else:
        text.append("… " + conn.value, style="dim")
    return text


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; padding: 0 1; }
    """

    snapshot: reactive[ConversationSnapshot] = reactive(ConversationSnapshot, layout=False, repaint=False)

    def __init__(self, *, clock: Callable[[], float] = time.time, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._clock = clock
        self._shown: Text | None = None

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick)  # the turn time shows seconds

    def watch_snapshot(self, snapshot: ConversationSnapshot) -> None:
        self._show(self._fitted())

    def on_resize(self) -> None:
        self._show(self._fitted())

    def _text(self, width: int = 0) -> Text:
        return status_text(self.snapshot, self._clock(), width) if self.snapshot.open else Text()

    def _fitted(self) -> Text:
        return self._text(self.content_region.width)

    def _show(self, text: Text) -> None:
        """Repaint only when the line changed; never a layout (the bar is one fixed-height line)."""
        if text == self._shown:
            return
        self._shown = text
        self.update(text, layout=False)

    def _tick(self) -> None:
        d = self.snapshot
        if d.status is ExecutionStatus.RUNNING or d.connection is ConnectionState.RECONNECTING or d.interrupting:
            self._show(self._fitted())

    @property
    def plain(self) -> str:
        return self._text().plain
