"""A conversation as Markdown or JSON. Control sequences stripped; keys never written."""

from __future__ import annotations

import json
from typing import Any

from tui.protocol import (
    ActionEvent,
    AgentErrorEvent,
    ConversationErrorEvent,
    ConversationInfo,
    ConversationStateUpdateEvent,
    Event,
    InterruptEvent,
    MessageEvent,
    ObservationEvent,
    PauseEvent,
    SecurityAnalysisEvent,
    SecurityRisk,
    SystemPromptEvent,
    UnknownEvent,
    UserRejectObservation,
    risk_label,
)

# Masking lives in the one sanitiser (re-exported here for the callers of `export.redact`).
from tui.sanitize import MASK as MASK
from tui.sanitize import SECRET_FIELDS as SECRET_FIELDS
from tui.sanitize import json_text, one_line, redact, strip_control


def _plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        try:
            return value.model_dump(mode="python", exclude_unset=True)
        except (ValueError, RecursionError):
            return {k: _plain(getattr(value, k)) for k in value.model_fields_set}
    return value


def wire_of(event: Event, raw: dict[str, Any] | None = None) -> dict[str, Any]:
    """The event's JSON as the server sent it: the frame's own JSON when there is one, else the model's fields
    (by hand when the model's serialiser refuses, e.g. nesting deeper than it goes)."""
    if raw is not None:
        return raw
    try:
        return event.to_wire()
    except (ValueError, RecursionError):
        out = {name: _plain(getattr(event, name)) for name in event.model_fields_set}
        out.update(event.__pydantic_extra__ or {})
        return out


def to_json(info: ConversationInfo, events: list[Event], secrets: tuple[str, ...] = ()) -> str:
    body = {"conversation": info.to_wire(), "events": [wire_of(e) for e in events]}
    return json_text(redact(body, secrets), indent=2)


def _fence(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}\n{text}\n{fence}"


def event_markdown(event: Event) -> str | None:
    """One event as a Markdown block, or None for what a reader does not need (state updates, prompts)."""
    if isinstance(event, (ConversationStateUpdateEvent, SystemPromptEvent)):
        return None
    if isinstance(event, MessageEvent):
        who = {"user": "User", "agent": "Agent"}.get(event.source or "", event.source or "Message")
        return f"### {who}\n\n{strip_control(event.text)}"
    if isinstance(event, ActionEvent):
        lines = [
            f"### Action: {one_line(event.tool_name)}"
            + (f" ({one_line(event.summary)})" if event.summary else "")
            + (f" — risk: {event.risk.value}" if event.risk is not SecurityRisk.UNKNOWN else "")
        ]
        if event.thought_text:
            lines.append(f"> {one_line(event.thought_text, 2000)}")
        action = dict(event.action or {})
        action.pop("kind", None)
        command = action.get("command") or action.get("message") or action.get("thought")
        if isinstance(command, str):
            lines.append(_fence(strip_control(command)))
        elif action:
            lines.append(_fence(strip_control(json.dumps(action, indent=2, ensure_ascii=False))))
        return "\n\n".join(lines)
    if isinstance(event, ObservationEvent):
        mark = " (error)" if event.is_error else ""
        return f"#### Output of {one_line(event.tool_name)}{mark}\n\n{_fence(strip_control(event.text))}"
    if isinstance(event, UserRejectObservation):
        return f"*Rejected {one_line(event.tool_name)}: {one_line(event.rejection_reason)}*"
    if isinstance(event, AgentErrorEvent):
        return f"**Tool error ({one_line(event.tool_name)}):** {strip_control(event.error)}"
    if isinstance(event, ConversationErrorEvent):
        return f"**Error {one_line(event.code)}:** {strip_control(event.detail)}"
    if isinstance(event, SecurityAnalysisEvent):
        return f"*Security analysis ({one_line(event.analyzer) or 'analyzer'}): {risk_label(event.highest)}*"
    if isinstance(event, PauseEvent):
        return "*— paused —*"
    if isinstance(event, InterruptEvent):
        return "*— interrupted —*"
    if isinstance(event, UnknownEvent):
        return f"*{one_line(event.kind)}*" + (f": {one_line(event.summary_text)}" if event.summary_text else "")
    return f"*{one_line(event.kind)}*"


def to_markdown(info: ConversationInfo, events: list[Event], secrets: tuple[str, ...] = ()) -> str:
    title = one_line(info.title or info.id)
    usage = info.usage
    head = [
        f"# {title}",
        "",
        f"- conversation: `{info.id}`",
        f"- status: {info.execution_status}",
        f"- model: {one_line(info.model) or 'unknown'}",
        f"- cost: ${usage.cost:.4f}, tokens: {usage.prompt_tokens} in / {usage.completion_tokens} out",
        "",
    ]
    blocks = [b for b in (event_markdown(e) for e in events) if b]
    text = "\n".join(head) + "\n" + "\n\n".join(blocks) + "\n"
    return redact(text, secrets)


def event_summary(event: Event) -> str:
    """One line for a human reading `watch`: who said or did what."""
    if isinstance(event, MessageEvent):
        return f"{event.source or 'message'}: {one_line(event.text, 160)}"
    if isinstance(event, ActionEvent):
        action = event.action or {}
        what = action.get("command") or action.get("message") or action.get("thought") or ""
        summary = f" ({one_line(event.summary, 60)})" if event.summary else ""
        risk = f" [risk {event.risk.value}]" if event.risk is not SecurityRisk.UNKNOWN else ""
        return f"{one_line(event.tool_name)}{summary}{risk}: {one_line(str(what), 120)}"
    if isinstance(event, ObservationEvent):
        mark = " (error)" if event.is_error else ""
        return f"{one_line(event.tool_name)}{mark} -> {one_line(event.text, 140)}"
    if isinstance(event, UserRejectObservation):
        return f"rejected {one_line(event.tool_name)}: {one_line(event.rejection_reason, 120)}"
    if isinstance(event, AgentErrorEvent):
        return f"tool error ({one_line(event.tool_name)}): {one_line(event.error, 140)}"
    if isinstance(event, ConversationErrorEvent):
        return f"{one_line(event.code)}: {one_line(event.detail, 140)}"
    if isinstance(event, SystemPromptEvent):
        return f"system prompt, {len(event.tools)} tools"
    if isinstance(event, SecurityAnalysisEvent):
        return f"security analysis: {risk_label(event.highest)} ({one_line(event.analyzer, 60)})"
    if isinstance(event, UnknownEvent):
        return one_line(event.summary_text, 140)
    return ""
