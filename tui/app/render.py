"""Pure text helpers: events, statuses, ages and costs to `rich.text.Text`. No Textual, no I/O.

Server text is data: control and escape sequences are stripped, and nothing here ever parses Rich markup
(`Text(...)` / `Text.assemble(...)`, never `Text.from_markup`). Markdown is only used for message bodies,
after stripping.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.text import Text

from tui import protocol
from tui.protocol import ExecutionStatus
from tui.sanitize import one_line as _one_line
from tui.sanitize import strip_control

if TYPE_CHECKING:
    from tui.protocol import (
        ActionEvent,
        Event,
        MessageEvent,
        ObservationEvent,
    )


def clean(text: Any) -> str:
    """Server text made safe to show: escape and control sequences stripped (see `tui.sanitize`)."""
    if text is None:
        return ""
    return strip_control(text if isinstance(text, str) else str(text))


def styled(text: str, style: str = "") -> Text:
    """A Text whose first span has `style` (unlike `Text(text, style=...)`, later appends do not inherit it)."""
    out = Text()
    out.append(text, style=style)
    return out


def one_line(text: Any, limit: int = 120) -> str:
    return _one_line(clean(text), limit)


# ---------------------------------------------------------------- statuses

STATUS_GLYPH: dict[ExecutionStatus, str] = {
    ExecutionStatus.IDLE: "○",
    ExecutionStatus.RUNNING: "●",
    ExecutionStatus.PAUSED: "‖",
    ExecutionStatus.WAITING_FOR_CONFIRMATION: "?",
    ExecutionStatus.FINISHED: "✓",
    ExecutionStatus.ERROR: "✗",
    ExecutionStatus.STUCK: "!",
    ExecutionStatus.DELETING: "-",
    ExecutionStatus.UNKNOWN: "·",
}
STATUS_STYLE: dict[ExecutionStatus, str] = {
    ExecutionStatus.IDLE: "dim",
    ExecutionStatus.RUNNING: "bold cyan",
    ExecutionStatus.PAUSED: "yellow",
    ExecutionStatus.WAITING_FOR_CONFIRMATION: "bold magenta",
    ExecutionStatus.FINISHED: "green",
    ExecutionStatus.ERROR: "bold red",
    ExecutionStatus.STUCK: "bold red",
    ExecutionStatus.DELETING: "dim",
    ExecutionStatus.UNKNOWN: "dim",
}
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
STATUS_LABEL: dict[ExecutionStatus, str] = {
    ExecutionStatus.WAITING_FOR_CONFIRMATION: "needs confirmation",
}


def status_label(status: ExecutionStatus) -> str:
    return STATUS_LABEL.get(status, status.value)


def status_glyph(status: ExecutionStatus, now: float = 0.0) -> Text:
    if status is ExecutionStatus.RUNNING:
        glyph = SPINNER[int(now * 8) % len(SPINNER)]
    else:
        glyph = STATUS_GLYPH.get(status, "·")
    return Text(glyph, style=STATUS_STYLE.get(status, ""))


# ---------------------------------------------------------------- numbers and times


def parse_time(value: Any) -> float | None:
    """ISO timestamp → epoch seconds. Naive timestamps are taken as local time (the server's events are)."""
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        return dt.timestamp()
    return dt.astimezone(UTC).timestamp()


def age(then: float | None, now: float) -> str:
    if then is None:
        return ""
    seconds = max(0, int(now - then))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


def cost(value: float) -> str:
    if not value:
        return ""
    if value < 0.01:
        return f"${value:.3f}"
    if value < 100:
        return f"${value:.2f}"
    return f"${value:.0f}"


def tokens(count: int) -> str:
    if count < 1000:
        return str(count)
    if count < 1_000_000:
        return f"{count / 1000:.1f}k"
    return f"{count / 1_000_000:.1f}M"


# ---------------------------------------------------------------- events

FOLD_LINES = 4


def is_shown(event: Event) -> bool:
    """Whether the event log shows this event at all (deltas and non-status state updates are not)."""
    if isinstance(event, protocol.StreamingDeltaEvent):
        return False
    if isinstance(event, protocol.ConversationStateUpdateEvent):
        return event.key == "execution_status"
    return event.kind not in ("TokenEvent", "LLMCompletionLogEvent", "ServerErrorEvent")


def message_role(event: MessageEvent) -> str:
    role = event.llm_message.role or event.source or "?"
    if event.source == "user" or role == "user":
        return "user"
    if role == "assistant" or event.source == "agent":
        return "agent"
    return clean(role)


def message_body(event: MessageEvent) -> str:
    """The markdown source of a message, escapes stripped."""
    return clean(event.text)


def action_arguments(event: ActionEvent) -> dict[str, Any]:
    """The action's arguments: its `action`, or, when the server sent none, the LLM's tool call arguments (a JSON
    string on the wire), so that a terminal call still shows its command rather than raw JSON."""
    if isinstance(event.action, dict) and event.action:
        return event.action
    raw = event.tool_call.get("arguments") if isinstance(event.tool_call, dict) else None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {}
    return raw if isinstance(raw, dict) else {}


def _action_command(event: ActionEvent) -> str:
    action = action_arguments(event)
    for key in ("command", "code", "path", "url", "query", "message", "content", "thought"):
        value = action.get(key)
        if isinstance(value, str) and value:
            if key == "path" and isinstance(action.get("command"), str):
                break
            return value
    args = {k: v for k, v in action.items() if k != "kind"}
    if not args and isinstance(event.tool_call, dict):
        raw = event.tool_call.get("arguments")
        if isinstance(raw, str):
            return raw
    if not args:
        return ""
    try:
        return json.dumps(args, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        return str(args)


def action_parts(event: ActionEvent) -> tuple[str, str, str, str]:
    """(tool, summary, command-or-arguments, thought), all cleaned."""
    action = action_arguments(event)
    command = _action_command(event)
    if action.get("command") and action.get("path"):
        command = f"{action.get('command')} {action.get('path')}"
    thought = event.thought_text or (event.reasoning_content or "")
    return (
        clean(event.tool_name or action.get("kind") or "action"),
        clean(event.summary or ""),
        clean(command),
        clean(thought),
    )


def observation_text(event: ObservationEvent) -> str:
    text = event.text
    if not text:
        obs = event.observation
        for key in ("output", "content", "message", "error"):
            if isinstance(obs.get(key), str):
                text = obs[key]
                break
    return clean(text)


def fold(text: str, lines: int = FOLD_LINES) -> tuple[str, int]:
    """First `lines` lines of text and how many more there are."""
    parts = text.split("\n")
    if len(parts) <= lines:
        return text, 0
    return "\n".join(parts[:lines]), len(parts) - lines


def classification_text(classification: Any) -> str:
    if classification is None:
        return ""
    bits = [clean(getattr(classification, "kind", "") or "")]
    if getattr(classification, "retryable", False):
        bits.append("retryable")
    action = getattr(classification, "user_action", "none")
    if action and action != "none":
        bits.append(f"action: {clean(action)}")
    return ", ".join(b for b in bits if b)


def header(label: str, style: str, extra: str = "") -> Text:
    text = styled(label, style)
    if extra:
        text.append("  " + extra, style="dim")
    return text


def event_text(event: Event, *, expanded: bool = False) -> Text:
    """A compact Rich `Text` for any non-message event (messages are rendered as markdown by the widget)."""
    if isinstance(event, protocol.MessageEvent):
        text = header(message_role(event), "bold")
        text.append("\n")
        text.append(message_body(event))
        return text
    if isinstance(event, protocol.ActionEvent):
        tool, summary, command, thought = action_parts(event)
        text = styled("▶ ", "bold yellow")
        text.append(tool, style="bold yellow")
        if summary:
            text.append("  " + one_line(summary, 200))
        if event.security_risk and event.security_risk not in ("UNKNOWN", "LOW"):
            text.append(f"  risk: {clean(event.security_risk)}", style="bold red")
        if command:
            shown, more = (command, 0) if expanded else fold(command, 6)
            text.append("\n")
            text.append("$ " if tool in ("terminal", "bash", "execute_bash") else "  ", style="dim")
            text.append(shown, style="cyan")
            if more:
                text.append(f"\n  … {more} more lines", style="dim italic")
        if thought:
            text.append("\n")
            text.append("  thought: ", style="dim italic")
            text.append(thought if expanded else one_line(thought, 300), style="italic")
        return text
    if isinstance(event, protocol.ObservationEvent):
        body = observation_text(event)
        style = "red" if event.is_error else ""
        text = styled("◀ ", "bold green" if not event.is_error else "bold red")
        text.append(clean(event.tool_name or "observation"), style="bold green" if not event.is_error else "bold red")
        lines = body.count("\n") + 1 if body else 0
        text.append(f"  {lines} line{'s' if lines != 1 else ''}", style="dim")
        if event.is_error:
            text.append("  error", style="bold red")
        if body:
            shown, more = (body, 0) if expanded else fold(body)
            text.append("\n")
            text.append(shown, style=style)
            if more:
                text.append(f"\n… {more} more lines (enter to expand)", style="dim italic")
        return text
    if isinstance(event, protocol.UserRejectObservation):
        text = styled("✗ rejected ", "bold red")
        text.append(clean(event.tool_name))
        if event.rejection_reason:
            text.append(": " + one_line(event.rejection_reason, 300))
        return text
    if isinstance(event, protocol.AgentErrorEvent):
        text = styled("✗ agent error", "bold red")
        if event.tool_name:
            text.append(f" in {clean(event.tool_name)}", style="red")
        cls = classification_text(event.classification)
        if cls:
            text.append(f"  [{cls}]", style="dim")
        text.append("\n")
        body = clean(event.error)
        text.append(body if expanded else fold(body)[0], style="red")
        return text
    if isinstance(event, protocol.ConversationErrorEvent):
        text = styled("✗ conversation error", "bold red")
        if event.code:
            text.append(f" {clean(event.code)}", style="red")
        cls = classification_text(event.classification)
        if cls:
            text.append(f"  [{cls}]", style="dim")
        if event.detail:
            text.append("\n")
            body = clean(event.detail)
            text.append(body if expanded else fold(body)[0], style="red")
        return text
    if isinstance(event, protocol.PauseEvent):
        return Text("‖ paused", style="bold yellow")
    if isinstance(event, protocol.InterruptEvent):
        return Text("■ interrupted", style="bold yellow")
    if isinstance(event, protocol.ConversationStateUpdateEvent):
        status = ExecutionStatus.parse(event.value)
        label = f" {status_label(status) if status is not ExecutionStatus.UNKNOWN else one_line(event.value, 40)} "
        return Text(f"──{label}" + "─" * 8, style=STATUS_STYLE.get(status, "dim") + " dim")
    if isinstance(event, protocol.SystemPromptEvent):
        return Text(f"⚙ system prompt, {len(event.tools)} tools", style="dim")
    if isinstance(event, protocol.Condensation):
        text = styled(f"⋯ condensed {len(event.forgotten_event_ids)} events", "dim")
        if event.summary:
            text.append(": " + one_line(event.summary, 200), style="dim")
        return text
    if isinstance(event, protocol.UnknownEvent):
        text = styled(f"· {clean(event.kind) or '(no kind)'}", "dim")
        summary = event.summary_text
        if summary:
            text.append("  " + one_line(summary, 200), style="dim")
        if event.parse_error:
            text.append("  (unreadable)", style="dim italic")
        return text
    # Known kinds without a special view (hooks, condensation requests, ...): a compact line.
    text = styled(f"· {clean(event.kind)}", "dim")
    for field in ("summary", "title", "reason", "hook_command"):
        value = getattr(event, field, None)
        if isinstance(value, str) and value:
            text.append("  " + one_line(value, 200), style="dim")
            break
    return text


def copy_text(event: Event) -> str:
    """What the copy key puts on the clipboard for this event."""
    if isinstance(event, protocol.MessageEvent):
        return message_body(event)
    if isinstance(event, protocol.ActionEvent):
        tool, summary, command, thought = action_parts(event)
        return command or summary or thought or tool
    if isinstance(event, protocol.ObservationEvent):
        return observation_text(event)
    return event_text(event, expanded=True).plain


def plain_lines(events: Iterable[Event]) -> list[str]:
    return [event_text(e).plain for e in events if is_shown(e)]


_MD_FENCE = re.compile(r"^\s*(```|~~~)")
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
_MD_BULLET = re.compile(r"^(\s*)[-*+]\s+")
_MD_LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\n]*\)")
_MD_MARKS = re.compile(r"\*\*|__|`+|~~")


def markdown_plain(source: str) -> str:
    """Markdown lines as a person reads them once rendered, without the markup: no fences, `#`, `**` or
    backticks; bullets as `•`, a link as its text. For one-line summaries where a renderer does not fit."""
    lines: list[str] = []
    for line in source.splitlines():
        if _MD_FENCE.match(line):
            continue
        line = _MD_HEADING.sub("", line)
        line = _MD_BULLET.sub(lambda m: m.group(1) + "• ", line)
        line = _MD_MARKS.sub("", _MD_LINK.sub(r"\1", line))
        lines.append(line)
    return "\n".join(lines)
