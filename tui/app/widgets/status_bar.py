"""One line under the log: status + turn time, connection, tokens/cost, queue length, server."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text
from textual.widgets import Static

from tui.protocol import ExecutionStatus, UsageTotals

from .. import render


@dataclass
class StatusData:
    status: ExecutionStatus = ExecutionStatus.UNKNOWN
    turn_started: float | None = None
    interrupting: bool = False
    pausing: bool = False
    connection: str = "connecting"  # connecting | live | reconnecting | resyncing | stopped | deleted
    connection_reason: str = ""
    retry_at: float | None = None
    usage: UsageTotals = field(default_factory=UsageTotals)
    queued: int = 0
    server: str = ""
    model: str = ""


def status_text(data: StatusData, now: float) -> Text:
    text = Text()
    if data.interrupting:
        text.append("■ interrupting…", style="bold yellow")
    elif data.pausing and data.status is ExecutionStatus.RUNNING:
        text.append("‖ pausing after this step…", style="bold yellow")
    else:
        text.append_text(render.status_glyph(data.status, now))
        text.append(" " + render.status_label(data.status), style=render.STATUS_STYLE.get(data.status, ""))
    if data.turn_started and (data.status is ExecutionStatus.RUNNING or data.interrupting):
        text.append(f" {render.duration(now - data.turn_started)}", style="bold")
    text.append(" │ ", style="dim")
    conn = data.connection
    if conn == "live":
        text.append("● live", style="green")
    elif conn == "reconnecting":
        label = "reconnecting"
        if data.retry_at:
            label += f" in {max(0, round(data.retry_at - now))}s"
        text.append("⚡ " + label, style="bold yellow")
    elif conn == "resyncing":
        text.append("⟳ resyncing", style="yellow")
    elif conn == "deleted":
        text.append("✗ deleted on the server", style="bold red")
        text.append(": no longer followed", style="red")
    elif conn == "stopped":
        text.append("■ stopped", style="bold red")
        if data.connection_reason:
            text.append(": " + render.one_line(data.connection_reason, 60), style="red")
    else:
        text.append("… " + conn, style="dim")
    usage = data.usage
    if usage.total_tokens or usage.cost:
        text.append(" │ ", style="dim")
        text.append(f"{render.tokens(usage.total_tokens)} tok", style="")
        c = render.cost(usage.cost)
        if c:
            text.append(" " + c, style="")
    if data.queued:
        text.append(" │ ", style="dim")
        text.append(f"queue {data.queued}", style="bold cyan")
    text.append(" │ ", style="dim")
    text.append(render.one_line(data.server, 30), style="dim")
    if data.model:
        text.append(" " + render.one_line(data.model, 30), style="dim italic")
    return text


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; padding: 0 1; }
    """

    def __init__(self, *, clock=None, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.data = StatusData()
        self._clock = clock
        self._shown: Text | None = None

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick)  # the turn time shows seconds

    def _now(self) -> float:
        clock = self._clock or getattr(self.app, "clock", None)
        import time

        return clock() if clock else time.time()

    def set_data(self, data: StatusData) -> None:
        self.data = data
        self._show(status_text(data, self._now()))

    def _show(self, text: Text) -> None:
        """Repaint only when the line changed; never a layout (the bar is one fixed-height line)."""
        if text == self._shown:
            return
        self._shown = text
        self.update(text, layout=False)

    def _tick(self) -> None:
        d = self.data
        if d.status is ExecutionStatus.RUNNING or d.connection in ("reconnecting",) or d.interrupting:
            self._show(status_text(d, self._now()))

    @property
    def plain(self) -> str:
        return status_text(self.data, self._now()).plain
