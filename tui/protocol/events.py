"""Wire models for every event kind the agent server sends (REST search, get-one and WebSocket frames).

Parsing never raises: `parse_event` turns an unknown `kind`, or a known kind with a malformed body, into an
`UnknownEvent` that keeps the raw JSON so it can still be shown. Extra fields are kept everywhere, and
`Event.to_wire()` gives back exactly the fields that arrived.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .risk import SecurityRisk
from .tools import FileEdit, TaskItem, file_edit_of, task_list_of

# The events/search `kind=` filter wants the Python class path, not the wire kind (observations 3.13).
_SDK = "openhands.sdk.event."
SEARCH_KIND_PATHS: dict[str, str] = {
    "MessageEvent": _SDK + "llm_convertible.message.MessageEvent",
    "ActionEvent": _SDK + "llm_convertible.action.ActionEvent",
    "ObservationEvent": _SDK + "llm_convertible.observation.ObservationEvent",
    "UserRejectObservation": _SDK + "llm_convertible.observation.UserRejectObservation",
    "AgentErrorEvent": _SDK + "llm_convertible.observation.AgentErrorEvent",
    "SystemPromptEvent": _SDK + "llm_convertible.system.SystemPromptEvent",
    "Condensation": _SDK + "condenser.Condensation",
    "CondensationRequest": _SDK + "condenser.CondensationRequest",
    "CondensationSummaryEvent": _SDK + "condenser.CondensationSummaryEvent",
    "ConversationStateUpdateEvent": _SDK + "conversation_state.ConversationStateUpdateEvent",
    "ConversationErrorEvent": _SDK + "conversation_error.ConversationErrorEvent",
    "PauseEvent": _SDK + "user_action.PauseEvent",
    "InterruptEvent": _SDK + "user_action.InterruptEvent",
    "HookExecutionEvent": _SDK + "hook_execution.HookExecutionEvent",
    "LLMCompletionLogEvent": _SDK + "llm_completion_log.LLMCompletionLogEvent",
    "TokenEvent": _SDK + "token.TokenEvent",
    "ACPToolCallEvent": _SDK + "acp_tool_call.ACPToolCallEvent",
    "SecurityAnalysisEvent": _SDK + "security.SecurityAnalysisEvent",  # 1.58+
}


# The `code` of a socket error when a message frame meets a full server (1.58): stored, not run.
RUN_LIMIT_CODE = "ConversationRunLimitExceeded"


class WireModel(BaseModel):
    """Lenient base: unknown fields are kept, nothing is frozen, re-serialising gives back what arrived."""

    # defer_build: schemas are built on first use, after the first frame, not at import (start-up time).
    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)

    def to_wire(self) -> dict[str, Any]:
        try:
            wire = self.model_dump(mode="json", exclude_unset=True)
        except ValueError:  # nested deeper than pydantic serialises (about 255 levels): field by field, raw
            wire = self._to_wire_by_field()
        if "timestamp_raw" in wire:  # a timestamp we could not order by: give back the one that arrived
            wire["timestamp"] = wire.pop("timestamp_raw")
        return wire

    def _to_wire_by_field(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.model_fields_set:
            try:
                out.update(self.model_dump(mode="json", include={name}, by_alias=False))
            except ValueError:
                value = getattr(self, name)
                out[name] = value.to_wire() if isinstance(value, WireModel) else value
        out.update(self.__pydantic_extra__ or {})  # extras are the JSON exactly as it arrived
        return out


def text_of(content: Any) -> str:
    """Join the text parts of a content list (`[{"type": "text", "text": ...}, ...]`); images become a marker."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        content = [content]
    if not isinstance(content, list):
        return ""
    parts: list[str] = []
    for part in content:
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("text"), str):
            parts.append(part["text"])
        elif part.get("type") == "image":
            parts.append(f"[{len(part.get('image_urls') or [])} image(s)]")
    return "\n".join(parts)


class ErrorClassification(WireModel):
    kind: str = "unknown"
    retryable: bool = False
    user_action: str = "none"


class LLMMessage(WireModel):
    role: str = "user"
    content: list[Any] = Field(default_factory=list)
    reasoning_content: str | None = None
    thinking_blocks: list[Any] = Field(default_factory=list)
    tool_calls: list[Any] | None = None

    @property
    def text(self) -> str:
        return text_of(self.content)


class Event(WireModel):
    """Fields every event has. `kind` is the wire discriminator (the server's class name)."""

    KIND: ClassVar[str] = ""
    kind: str
    id: str = ""
    timestamp: str = ""
    source: str | None = None
    parent_id: str | None = None

    # Transient events are never stored by the server and never replayed (not part of history).
    TRANSIENT: ClassVar[bool] = False

    @property
    def is_transient(self) -> bool:
        return self.TRANSIENT


class MessageEvent(Event):
    KIND: ClassVar[str] = "MessageEvent"
    llm_message: LLMMessage
    llm_response_id: str | None = None
    activated_skills: list[Any] = Field(default_factory=list)
    extended_content: list[Any] = Field(default_factory=list)
    sender: str | None = None

    @property
    def text(self) -> str:
        return self.llm_message.text

    @property
    def reasoning(self) -> str:
        """The model's reasoning for this reply (`llm_message.reasoning_content`), "" when it gave none."""
        return self.llm_message.reasoning_content or ""


class ActionEvent(Event):
    KIND: ClassVar[str] = "ActionEvent"
    thought: list[Any] = Field(default_factory=list)
    reasoning_content: str | None = None
    action: dict[str, Any] | None = None
    tool_name: str = ""
    tool_call_id: str = ""
    tool_call: dict[str, Any] | None = None
    llm_response_id: str | None = None
    security_risk: str | None = None
    summary: str | None = None

    @property
    def thought_text(self) -> str:
        return text_of(self.thought)

    @property
    def risk(self) -> SecurityRisk:
        """The risk the LLM gave this action. Always UNKNOWN when the conversation has no security analyzer."""
        return SecurityRisk.parse(self.security_risk)

    @property
    def action_kind(self) -> str:
        kind = (self.action or {}).get("kind")
        return kind if isinstance(kind, str) else ""

    @property
    def task_list(self) -> list[TaskItem] | None:
        """The plan of a `task_tracker` action (`TaskTrackerAction`), None for any other action."""
        return task_list_of(self.action, "TaskTrackerAction")


class ObservationEvent(Event):
    KIND: ClassVar[str] = "ObservationEvent"
    tool_name: str = ""
    tool_call_id: str = ""
    observation: dict[str, Any] = Field(default_factory=dict)
    action_id: str | None = None

    @property
    def text(self) -> str:
        return text_of(self.observation.get("content"))

    @property
    def is_error(self) -> bool:
        return bool(self.observation.get("is_error"))

    @property
    def observation_kind(self) -> str:
        kind = self.observation.get("kind")
        return kind if isinstance(kind, str) else ""

    @property
    def task_list(self) -> list[TaskItem] | None:
        """The plan as the tool stored it (`TaskTrackerObservation`), None for any other observation."""
        return task_list_of(self.observation, "TaskTrackerObservation")

    @property
    def file_edit(self) -> FileEdit | None:
        """The file before and after a `file_editor` command (`FileEditorObservation`), None otherwise."""
        return file_edit_of(self.observation)


class UserRejectObservation(Event):
    KIND: ClassVar[str] = "UserRejectObservation"
    tool_name: str = ""
    tool_call_id: str = ""
    action_id: str | None = None
    rejection_reason: str = "User rejected the action"
    rejection_source: str | None = None


class AgentErrorEvent(Event):
    KIND: ClassVar[str] = "AgentErrorEvent"
    tool_name: str = ""
    tool_call_id: str = ""
    error: str = ""
    classification: ErrorClassification | None = None


class ConversationErrorEvent(Event):
    KIND: ClassVar[str] = "ConversationErrorEvent"
    code: str = ""
    detail: str = ""
    classification: ErrorClassification | None = None


class SystemPromptEvent(Event):
    KIND: ClassVar[str] = "SystemPromptEvent"
    system_prompt: dict[str, Any] | None = None
    tools: list[Any] = Field(default_factory=list)
    dynamic_context: dict[str, Any] | None = None


class PauseEvent(Event):
    KIND: ClassVar[str] = "PauseEvent"


class InterruptEvent(Event):
    KIND: ClassVar[str] = "InterruptEvent"


class ConversationStateUpdateEvent(Event):
    """`key="full_state"` is a transient snapshot; any other key is a persisted per-field update."""

    KIND: ClassVar[str] = "ConversationStateUpdateEvent"
    key: str = ""
    value: Any = None

    @property
    def is_snapshot(self) -> bool:
        return self.key == "full_state"

    @property
    def is_transient(self) -> bool:
        return self.is_snapshot


class StreamingDeltaEvent(Event):
    KIND: ClassVar[str] = "StreamingDeltaEvent"
    TRANSIENT: ClassVar[bool] = True
    content: str | None = None
    reasoning_content: str | None = None


class ServerErrorEvent(Event):
    KIND: ClassVar[str] = "ServerErrorEvent"
    TRANSIENT: ClassVar[bool] = True
    code: str = ""
    detail: str = ""

    @property
    def is_run_limit(self) -> bool:
        """1.58: a message frame hit the server's run limit; the message was stored but no run started."""
        return self.code == RUN_LIMIT_CODE


class Condensation(Event):
    KIND: ClassVar[str] = "Condensation"
    forgotten_event_ids: list[str] = Field(default_factory=list)
    summary: str | None = None
    summary_offset: int | None = None
    llm_response_id: str | None = None


class CondensationRequest(Event):
    KIND: ClassVar[str] = "CondensationRequest"


class CondensationSummaryEvent(Event):
    KIND: ClassVar[str] = "CondensationSummaryEvent"
    summary: str = ""


class HookExecutionEvent(Event):
    KIND: ClassVar[str] = "HookExecutionEvent"
    hook_event_type: str = ""
    hook_command: str = ""
    tool_name: str | None = None
    success: bool = True
    blocked: bool = False
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    reason: str | None = None
    error: str | None = None


class LLMCompletionLogEvent(Event):
    KIND: ClassVar[str] = "LLMCompletionLogEvent"
    filename: str = ""
    log_data: str = ""
    model_name: str = "unknown"
    usage_id: str = "default"


class TokenEvent(Event):
    KIND: ClassVar[str] = "TokenEvent"
    prompt_token_ids: list[int] = Field(default_factory=list)
    response_token_ids: list[int] = Field(default_factory=list)


class ACPToolCallEvent(Event):
    KIND: ClassVar[str] = "ACPToolCallEvent"
    tool_call_id: str = ""
    title: str = ""
    status: str | None = None
    tool_kind: str | None = None
    raw_input: Any = None
    raw_output: Any = None
    content: list[Any] | None = None
    is_error: bool = False


class SecurityAnalysisEvent(Event):
    """1.58+: the security analyzer's verdict on a batch of actions about to run (persisted). `risks` maps an
    `ActionEvent` id to LOW / MEDIUM / HIGH / UNKNOWN; `parent_id` is the last analysed action."""

    KIND: ClassVar[str] = "SecurityAnalysisEvent"
    analyzer: str = ""
    policy: str = ""
    risks: dict[str, Any] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)

    def risk_for(self, action_id: str) -> SecurityRisk | None:
        """The risk given to that action, None when this analysis does not name it."""
        value = self.risks.get(action_id)
        return None if value is None else SecurityRisk.parse(value)

    @property
    def highest(self) -> SecurityRisk:
        """The highest risk of the batch (UNKNOWN when it names no action)."""
        return max(
            (SecurityRisk.parse(v) for v in self.risks.values()), key=lambda r: r.rank, default=SecurityRisk.UNKNOWN
        )


class UnknownEvent(Event):
    """A kind this client does not know, or a known kind whose body did not validate. Keeps the raw JSON."""

    KIND: ClassVar[str] = ""
    raw: dict[str, Any] = Field(default_factory=dict, exclude=True)
    parse_error: str | None = Field(default=None, exclude=True)

    def to_wire(self) -> dict[str, Any]:
        wire = dict(self.raw)
        if "timestamp_raw" in wire:  # give back the timestamp that arrived (see `_with_usable_timestamp`)
            wire["timestamp"] = wire.pop("timestamp_raw")
        return wire

    @property
    def summary_text(self) -> str:
        for field in ("detail", "message", "error", "text", "content", "summary", "title"):
            value = self.raw.get(field)
            if isinstance(value, str) and value:
                return value
        return ""


EVENT_CLASSES: dict[str, type[Event]] = {
    cls.KIND: cls
    for cls in (
        MessageEvent,
        ActionEvent,
        ObservationEvent,
        UserRejectObservation,
        AgentErrorEvent,
        ConversationErrorEvent,
        SystemPromptEvent,
        PauseEvent,
        InterruptEvent,
        ConversationStateUpdateEvent,
        StreamingDeltaEvent,
        ServerErrorEvent,
        Condensation,
        CondensationRequest,
        CondensationSummaryEvent,
        HookExecutionEvent,
        LLMCompletionLogEvent,
        TokenEvent,
        ACPToolCallEvent,
        SecurityAnalysisEvent,
    )
}


def _short(value: Any, limit: int = 80) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def usable_timestamp(value: Any) -> str | None:
    """`value` if it is an ISO timestamp between 1970 and two days from now (time zones differ by up to 26 h),
    else None. A number is read as epoch seconds (or milliseconds) and given back as ISO (naive local time, as
    the server writes them)."""
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = value / 1000 if value > 1e11 else value
            moment = datetime.fromtimestamp(seconds)
            text = moment.isoformat()
        elif isinstance(value, str):
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            text = value
        else:
            return None
        if moment.tzinfo is not None:
            moment = moment.astimezone().replace(tzinfo=None)
        if moment.year < 1970 or moment > datetime.now() + timedelta(days=2):
            return None
        return text
    except (ValueError, OverflowError, OSError):
        return None


def _with_usable_timestamp(data: dict[str, Any]) -> dict[str, Any]:
    """An event whose timestamp does not parse or is out of range (year 1, a number, far future) is ordered by
    its arrival instead; what the server sent is kept in `timestamp_raw` (shown with the raw JSON)."""
    value = data.get("timestamp")
    if value is None or value == "" or (isinstance(value, str) and usable_timestamp(value) == value):
        return data
    fixed = usable_timestamp(value)
    return {**data, "timestamp": fixed or datetime.now().isoformat(), "timestamp_raw": value}


def parse_event(data: Any) -> Event:
    """Turn one decoded JSON value into an event. Never raises."""
    if not isinstance(data, dict):
        return UnknownEvent(
            kind="(not an object)", raw={"value": data}, parse_error=f"not a JSON object: {_short(data)}"
        )
    data = _with_usable_timestamp(data)
    kind = data.get("kind")
    cls = EVENT_CLASSES.get(kind) if isinstance(kind, str) else None
    if cls is not None:
        try:
            return cls.model_validate(data)
        except (ValidationError, TypeError, ValueError) as exc:
            error = _short(exc, 300)
        except RecursionError:
            error = "nested too deeply"
    else:
        error = None
    safe_kind = kind if isinstance(kind, str) else "(no kind)"

    def _str(field: str) -> str:
        value = data.get(field)
        return value if isinstance(value, str) else ""

    source = data.get("source")
    return UnknownEvent(
        kind=safe_kind,
        id=_str("id"),
        timestamp=_str("timestamp"),
        source=source if isinstance(source, str) else None,
        raw=data,
        parse_error=error,
    )


def risk_of(action_id: str, events: Iterable[Event]) -> SecurityRisk | None:
    """The risk of one action, from a conversation's events (timeline order, oldest first).

    The latest `SecurityAnalysisEvent` that names the action wins; without one, the action's own `security_risk`
    (UNKNOWN on a conversation without an analyzer). None when neither the action nor an analysis of it is among
    `events` (e.g. a 1.43 server that never sends them)."""
    analysed: SecurityRisk | None = None
    own: SecurityRisk | None = None
    for event in events:
        if isinstance(event, SecurityAnalysisEvent):
            found = event.risk_for(action_id)
            if found is not None:
                analysed = found
        elif isinstance(event, ActionEvent) and event.id == action_id:
            own = event.risk
    return analysed if analysed is not None else own
