"""Builders for the JSON the real agent server puts on the wire.

Events are plain dicts in their *full* form (null fields included, as ``GET …/events/{id}``
returns them); :func:`strip_none` gives the ``exclude_none`` form used by search and WS.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from typing import Any

SERVER_VERSION = "1.58.2"
LEGACY_VERSION = "1.43.1"
CAPABILITIES_143 = [
    "credential_binding_v1",
    "credential_binding_readiness_probe_v1",
    "credential_binding_activation_guard_v1",
]
CAPABILITIES_158 = [
    "conversation_runtime_routes_v1",
    "profile_secret_scope_v1",
    "profile_persona_v1",
    *CAPABILITIES_143,
    "idempotent_conversation_create_v1",
    "tool_catalog_v1",
    "agent_profile_draft_materialize_v1",
    "agent_launch_pipeline_v1",
    "profile_public_skills_v1",
    "skill_catalog_v1",
]
TOOLS_CATALOG = [
    # (name, user_selectable, usable, description, in_default_set): the demo's tools are the usable ones
    ("file_editor", True, True, "View, create and edit files.", True),
    ("task_tracker", True, True, "Keep a running task list to organise multi-step work.", True),
    ("terminal", True, True, "Run shell commands in a persistent terminal session.", True),
    ("start_child_conversation", False, True, "", False),
    ("browser_tool_set", True, False, "Browse the web: navigate pages, click, type and read content.", True),
    ("glob", True, False, "Find files by name pattern, such as **/*.ts.", False),
    ("grep", True, False, "Search file contents with regular expressions.", False),
]
MASK = "**********"

# Search ``kind`` filter values: the fully-qualified class path, never the short name.
KIND_PATHS: dict[str, str] = {
    "MessageEvent": "openhands.sdk.event.llm_convertible.message.MessageEvent",
    "ActionEvent": "openhands.sdk.event.llm_convertible.action.ActionEvent",
    "ObservationEvent": "openhands.sdk.event.llm_convertible.observation.ObservationEvent",
    "UserRejectObservation": "openhands.sdk.event.llm_convertible.observation.UserRejectObservation",
    "AgentErrorEvent": "openhands.sdk.event.llm_convertible.observation.AgentErrorEvent",
    "SystemPromptEvent": "openhands.sdk.event.llm_convertible.system.SystemPromptEvent",
    "ConversationStateUpdateEvent": "openhands.sdk.event.conversation_state.ConversationStateUpdateEvent",
    "ConversationErrorEvent": "openhands.sdk.event.conversation_error.ConversationErrorEvent",
    "PauseEvent": "openhands.sdk.event.user_action.PauseEvent",
    "InterruptEvent": "openhands.sdk.event.user_action.InterruptEvent",
    "SecurityAnalysisEvent": "openhands.sdk.event.security.SecurityAnalysisEvent",
}

INTERRUPTED_TOOL_ERROR = "Tool call interrupted before completion. The conversation was paused."
RESTART_TOOL_ERROR = (
    "A restart occurred while this tool was in progress. "
    "This may indicate a fatal memory error or system crash. "
    "The tool execution was interrupted and did not complete."
)
LLM_ERROR_CODE = "LLMServiceUnavailableError"
LLM_ERROR_DETAIL = "litellm.InternalServerError: InternalServerError: OpenAIException - Connection error."


def new_id() -> str:
    return str(uuid.uuid4())


def now_ts() -> str:
    """Event timestamps: naive server-local ISO time."""
    return datetime.now().isoformat()


def utc_now() -> str:
    """Conversation created_at/updated_at: UTC with a ``Z``."""
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def strip_none(value: Any) -> Any:
    """Recursive ``model_dump(exclude_none=True)``."""
    if isinstance(value, dict):
        return {k: strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_none(v) for v in value]
    return value


def event_for_wire(event: dict[str, Any]) -> dict[str, Any]:
    """The search/WS form of an event. A state update's ``value`` is a plain dict on the real
    server, which ``exclude_none`` does not descend into (a ``stats`` value keeps its nulls)."""
    if event.get("kind") == "ConversationStateUpdateEvent":
        return {k: v for k, v in event.items() if v is not None}
    return strip_none(event)


def text(t: str) -> dict[str, Any]:
    return {"cache_prompt": False, "type": "text", "text": t}


def _base(kind: str, source: str, parent_id: str | None) -> dict[str, Any]:
    ev: dict[str, Any] = {"id": new_id(), "timestamp": now_ts(), "source": source}
    if parent_id is not None:
        ev["parent_id"] = parent_id
    ev["kind"] = kind
    return ev


def _finish(ev: dict[str, Any], **fields: Any) -> dict[str, Any]:
    kind = ev.pop("kind")
    ev.update(fields)
    ev["kind"] = kind
    return ev


# ---------------------------------------------------------------- agent / LLM


LLM_DEFAULTS: dict[str, Any] = {
    "model": "gpt-5.5",
    "api_key": None,
    "provider_connection_id": None,
    "auth_type": "api_key",
    "subscription_vendor": None,
    "base_url": None,
    "api_version": None,
    "aws_access_key_id": None,
    "aws_secret_access_key": None,
    "aws_session_token": None,
    "aws_region_name": None,
    "aws_profile_name": None,
    "aws_role_name": None,
    "aws_session_name": None,
    "aws_bedrock_runtime_endpoint": None,
    "openrouter_site_url": "https://docs.all-hands.dev/",
    "openrouter_app_name": "OpenHands",
    "num_retries": 5,
    "retry_multiplier": 8.0,
    "retry_min_wait": 8,
    "retry_max_wait": 64,
    "timeout": 300,
    "stream_idle_timeout": 300.0,
    "max_message_chars": 30000,
    "temperature": None,
    "top_p": None,
    "top_k": None,
    "max_input_tokens": None,
    "max_output_tokens": None,
    "model_canonical_name": None,
    "api_mode": "auto",
    "capability_overrides": {},
    "extra_headers": None,
    "input_cost_per_token": None,
    "output_cost_per_token": None,
    "ollama_base_url": None,
    "stream": False,
    "drop_params": True,
    "disable_vision": None,
    "disable_stop_word": False,
    "caching_prompt": True,
    "log_completions": False,
    "log_completions_folder": "logs/completions",
    "custom_tokenizer": None,
    "native_tool_calling": True,
    "force_string_serializer": None,
    "inline_image_urls": None,
    "reasoning_effort": "high",
    "reasoning_summary": None,
    "enable_encrypted_reasoning": True,
    "prompt_cache_retention": "24h",
    "extended_thinking_budget": 200000,
    "seed": None,
    "usage_id": "default",
    "litellm_extra_body": {},
    "is_subscription": False,
}
SECRET_LLM_FIELDS = ("api_key", "aws_access_key_id", "aws_secret_access_key", "aws_session_token")

AGENT_DEFAULTS: dict[str, Any] = {
    "llm": None,
    "tools": [],
    "mcp_config": {},
    "filter_tools_regex": None,
    "include_default_tools": ["FinishTool", "ThinkTool"],
    "agent_context": None,
    "system_prompt": None,
    "system_prompt_filename": "system_prompt.j2",
    "security_policy_filename": "security_policy.j2",
    "system_prompt_kwargs": {"llm_security_analyzer": True},
    "condenser": None,
    "critic": None,
    "tool_concurrency_limit": 1,
    "persona": None,
    "kind": "Agent",
}

TOOL_MODULES = {
    "terminal": "openhands.tools.terminal.definition",
    "file_editor": "openhands.tools.file_editor.definition",
    "task_tracker": "openhands.tools.task_tracker.definition",
}


def as_legacy_agent(agent: dict[str, Any]) -> dict[str, Any]:
    """The 1.43.1 agent shape: no ``persona``; the LLM has ``modify_params`` and no ``stream_idle_timeout``."""
    out = {k: v for k, v in agent.items() if k != "persona"}
    llm = {}
    for key, value in agent["llm"].items():
        if key == "stream_idle_timeout":
            continue
        llm[key] = value
        if key == "drop_params":
            llm["modify_params"] = True
    out["llm"] = llm
    return out


def normalize_agent(raw: dict[str, Any]) -> dict[str, Any]:
    """The agent as the server stores it (full form, secrets still in clear)."""
    agent = copy.deepcopy(AGENT_DEFAULTS)
    for key, value in raw.items():
        if key in agent and key not in ("llm", "tools"):
            agent[key] = copy.deepcopy(value)
    llm = copy.deepcopy(LLM_DEFAULTS)
    for key, value in (raw.get("llm") or {}).items():
        if key in llm:  # LLM has extra="ignore"
            llm[key] = copy.deepcopy(value)
    agent["llm"] = llm
    agent["tools"] = [
        {"name": t.get("name"), "params": dict(t.get("params") or {})}
        for t in (raw.get("tools") or [])
        if isinstance(t, dict)
    ]
    agent["kind"] = raw.get("kind") or "Agent"
    return agent


def agent_for_rest(agent: dict[str, Any], legacy: bool = False) -> dict[str, Any]:
    """REST ``ConversationInfo.agent``: nulls kept, secrets shown as null."""
    out = copy.deepcopy(as_legacy_agent(agent) if legacy else agent)
    for key in SECRET_LLM_FIELDS:
        out["llm"][key] = None
    return out


def agent_for_ws(agent: dict[str, Any], legacy: bool = False) -> dict[str, Any]:
    """WS ``full_state`` agent: nulls dropped, secrets masked with asterisks."""
    out = copy.deepcopy(as_legacy_agent(agent) if legacy else agent)
    for key in SECRET_LLM_FIELDS:
        if out["llm"].get(key) is not None:
            out["llm"][key] = MASK
    return strip_none(out)


# ---------------------------------------------------------------- events


TOOL_DEFS = {
    "terminal": (
        "Execute a shell command in the terminal within a persistent shell session.",
        "TerminalAction",
        "TerminalObservation",
        "TerminalTool",
    ),
    "finish": (
        "Signals the completion of the current task or conversation.",
        "FinishAction",
        "FinishObservation",
        "FinishTool",
    ),
    "think": ("Use the tool to think about something.", "ThinkAction", "ThinkObservation", "ThinkTool"),
}

SYSTEM_PROMPT = (
    "You are OpenHands agent (demo server), a helpful AI assistant that can interact with a computer "
    "to solve tasks.\nThis is a scripted demo: no language model is called and nothing is executed."
)


def system_prompt_event(tool_names: list[str]) -> dict[str, Any]:
    tools = []
    for name in [*tool_names, "finish", "think"]:
        desc, action_type, obs_type, kind = TOOL_DEFS.get(
            name, (f"The {name} tool.", "Action", "Observation", "ToolDefinition")
        )
        tools.append(
            {
                "description": desc,
                "action_type": action_type,
                "observation_type": obs_type,
                "annotations": {
                    "title": name,
                    "readOnlyHint": False,
                    "destructiveHint": name == "terminal",
                    "idempotentHint": False,
                    "openWorldHint": name == "terminal",
                },
                "kind": kind,
                "title": name,
            }
        )
    ev = _base("SystemPromptEvent", "agent", None)
    return _finish(ev, system_prompt=text(SYSTEM_PROMPT), tools=tools, dynamic_context=None)


def message_event(
    source: str,
    body: str,
    parent_id: str | None,
    llm_response_id: str | None = None,
    role: str | None = None,
    event_id: str | None = None,
    reasoning: str | None = None,
) -> dict[str, Any]:
    ev = _base("MessageEvent", source, parent_id)
    if event_id:
        ev["id"] = event_id
    role = role or ("assistant" if source == "agent" else "user")
    msg = {
        "role": role,
        "content": [text(body)],
        "tool_calls": None,
        "tool_call_id": None,
        "name": None,
        "reasoning_content": reasoning or None,
        "thinking_blocks": [],
        "responses_reasoning_item": None,
    }
    return _finish(
        ev,
        llm_message=msg,
        llm_response_id=llm_response_id,
        activated_skills=[],
        extended_content=[],
        sender=None,
        critic_result=None,
    )


def state_update(key: str, value: Any, parent_id: str | None) -> dict[str, Any]:
    ev = _base("ConversationStateUpdateEvent", "environment", parent_id)
    return _finish(ev, key=key, value=value)


def delta_event(content: str) -> dict[str, Any]:
    return {"id": new_id(), "timestamp": now_ts(), "source": "agent", "content": content, "kind": "StreamingDeltaEvent"}


def reasoning_delta_event(content: str) -> dict[str, Any]:
    """A reasoning chunk on the events socket: ``reasoning_content`` and no ``content`` key."""
    return {
        "id": new_id(),
        "timestamp": now_ts(),
        "source": "agent",
        "reasoning_content": content,
        "kind": "StreamingDeltaEvent",
    }


def new_call_id() -> str:
    return "call_" + uuid.uuid4().hex[:12]


def new_response_id() -> str:
    return "chatcmpl-" + uuid.uuid4().hex[:12]


def action_event(
    tool_name: str,
    action: dict[str, Any],
    arguments: str,
    summary: str | None,
    parent_id: str | None,
    llm_response_id: str,
    thought: str = "",
    event_id: str | None = None,
    security_risk: str = "UNKNOWN",
    reasoning: str | None = None,
) -> dict[str, Any]:
    call_id = new_call_id()
    ev = _base("ActionEvent", "agent", parent_id)
    if event_id:
        ev["id"] = event_id
    return _finish(
        ev,
        thought=[text(thought)] if thought else [],
        reasoning_content=reasoning or None,
        thinking_blocks=[],
        responses_reasoning_item=None,
        action=action,
        tool_name=tool_name,
        tool_call_id=call_id,
        tool_call={
            "id": call_id,
            "responses_item_id": None,
            "name": tool_name,
            "arguments": arguments,
            "origin": "completion",
        },
        llm_response_id=llm_response_id,
        security_risk=security_risk,
        critic_result=None,
        summary=summary,
    )


def observation_event(action: dict[str, Any], observation: dict[str, Any]) -> dict[str, Any]:
    ev = _base("ObservationEvent", "environment", action["id"])
    return _finish(
        ev,
        tool_name=action["tool_name"],
        tool_call_id=action["tool_call_id"],
        observation=observation,
        action_id=action["id"],
        extended_content=[],
    )


def terminal_observation(
    command: str, output: str, working_dir: str, persistence_dir: str, exit_code: int = 0
) -> dict[str, Any]:
    return {
        "content": [text(output)],
        "is_error": False,
        "command": command,
        "exit_code": exit_code,
        "timeout": False,
        "metadata": {
            "exit_code": exit_code,
            "pid": -1,
            "username": "demo",
            "hostname": "demo",
            "working_dir": working_dir,
            "py_interpreter_path": None,
            "prefix": "",
            "suffix": f"\n[The command completed with exit code {exit_code}.]",
        },
        "full_output_save_dir": f"{persistence_dir}/observations",
        "kind": "TerminalObservation",
    }


def file_editor_observation(
    command: str, path: str, prev_exist: bool, old_content: str | None, new_content: str | None, message: str
) -> dict[str, Any]:
    return {
        "content": [text(message)],
        "is_error": False,
        "command": command,
        "path": path,
        "prev_exist": prev_exist,
        "old_content": old_content,
        "new_content": new_content,
        "kind": "FileEditorObservation",
    }


def task_tracker_observation(task_list: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "content": [text(f"Task list has been updated with {len(task_list)} item(s).")],
        "is_error": False,
        "command": "plan",
        "task_list": task_list,
        "kind": "TaskTrackerObservation",
    }


def security_analysis_event(parent_id: str, risks: dict[str, str], policy: str) -> dict[str, Any]:
    ev = _base("SecurityAnalysisEvent", "environment", parent_id)
    return _finish(ev, analyzer="LLMSecurityAnalyzer", policy=policy, risks=risks, details={})


def finish_observation(message: str) -> dict[str, Any]:
    return {"content": [text(message)], "is_error": False, "kind": "FinishObservation"}


def agent_error_event(
    action: dict[str, Any], error: str, classification: dict[str, Any], parent_id: str | None
) -> dict[str, Any]:
    ev = _base("AgentErrorEvent", "agent", parent_id)
    return _finish(
        ev,
        tool_name=action["tool_name"],
        tool_call_id=action["tool_call_id"],
        error=error,
        classification=classification,
    )


def reject_event(action: dict[str, Any], reason: str) -> dict[str, Any]:
    ev = _base("UserRejectObservation", "environment", action["id"])
    return _finish(
        ev,
        tool_name=action["tool_name"],
        tool_call_id=action["tool_call_id"],
        rejection_reason=reason,
        rejection_source="user",
        action_id=action["id"],
    )


def conversation_error_event(
    parent_id: str | None, code: str = LLM_ERROR_CODE, detail: str = LLM_ERROR_DETAIL
) -> dict[str, Any]:
    ev = _base("ConversationErrorEvent", "environment", parent_id)
    return _finish(
        ev, code=code, detail=detail, classification={"kind": "transient", "retryable": True, "user_action": "retry"}
    )


def user_action_event(kind: str, parent_id: str | None) -> dict[str, Any]:
    return _base(kind, "user", parent_id)


def server_error_event(code: str, detail: str) -> dict[str, Any]:
    ev = _base("ServerErrorEvent", "environment", None)
    return _finish(ev, code=code, detail=detail)


def message_text(event: dict[str, Any]) -> str:
    """Searchable text of a MessageEvent (content + extended content + reasoning)."""
    msg = event.get("llm_message") or {}
    parts = [c.get("text", "") for c in msg.get("content") or [] if isinstance(c, dict)]
    parts += [c.get("text", "") for c in event.get("extended_content") or [] if isinstance(c, dict)]
    if msg.get("reasoning_content"):
        parts.append(msg["reasoning_content"])
    return "\n".join(parts)


def server_info(uptime: float, idle_time: float, legacy: bool = False) -> dict[str, Any]:
    import sys

    version = LEGACY_VERSION if legacy else SERVER_VERSION
    info: dict[str, Any] = {
        "uptime": float(int(uptime)),
        "idle_time": float(int(idle_time)),
        "title": "OpenHands Agent Server",
        "version": version,
        "sdk_version": version,
        "tools_version": version,
        "workspace_version": version,
        "build_git_sha": "unknown",
        "build_git_ref": "demo",
        "python_version": sys.version,
        "usable_tools": ["terminal", "file_editor", "task_tracker"],
        "runtime_idle_timeout_seconds": None,
    }
    if legacy:
        info["capabilities"] = list(CAPABILITIES_143)
    else:
        info["usable_tools"].append("start_child_conversation")
        info.update(
            conversation_runtime="local",
            available_conversation_runtimes=[],
            capabilities=list(CAPABILITIES_158),
            app_backend_ingress_url=None,
        )
    info.update(max_foreground_terminal_timeout_seconds=None, docs="/docs", redoc="/redoc")
    return info


def tools_catalog() -> dict[str, Any]:
    return {
        "tools": [
            {"name": n, "user_selectable": sel, "usable": use, "description": d, "in_default_set": dflt}
            for n, sel, use, d, dflt in TOOLS_CATALOG
        ]
    }


RUNTIME_AVAILABLE: dict[str, Any] = {"runtime_status": "available", "can_resume": True, "runtime_error": None}
