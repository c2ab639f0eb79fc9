"""Request bodies, validated like the real server (same 422 shapes)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class SendMessageRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["user", "system", "assistant", "tool"] = "user"
    content: list[dict[str, Any]] = Field(default_factory=list)
    run: bool = False

    def text(self) -> str:
        return "\n".join(str(part.get("text", "")) for part in self.content if part.get("type", "text") == "text")


class Message(BaseModel):
    """A user ``Message`` frame on the WebSocket (``role`` required; extra keys ignored)."""

    model_config = ConfigDict(extra="ignore", title="Message")
    role: Literal["user", "system", "assistant", "tool"]
    content: list[dict[str, Any]] | str = Field(default_factory=list)

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "\n".join(str(part.get("text", "")) for part in self.content if part.get("type", "text") == "text")


class StartConversationRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    workspace: dict[str, Any]
    agent: dict[str, Any] | None = None
    agent_settings: dict[str, Any] | None = None
    agent_profile_id: uuid.UUID | None = None
    conversation_id: uuid.UUID | None = None
    initial_message: SendMessageRequest | None = None
    confirmation_policy: dict[str, Any] | None = None
    security_analyzer: dict[str, Any] | None = None
    max_iterations: int = Field(500, ge=1)
    stuck_detection: bool = True
    tags: dict[str, str] = Field(default_factory=dict)
    autotitle: bool = True
    conversation_runtime: str | None = None  # 1.58: only "local" is served

    @model_validator(mode="before")
    @classmethod
    def _one_agent(cls, data: Any) -> Any:
        if isinstance(data, dict) and not any(data.get(k) for k in ("agent", "agent_settings", "agent_profile_id")):
            raise ValueError("One of `agent`, `agent_settings`, or `agent_profile_id` must be provided")
        return data


class UpdateConversationRequest(BaseModel):
    title: str | None = Field(None, min_length=1, max_length=200)
    tags: dict[str, str] | None = None


class UpdateConversationRequest158(UpdateConversationRequest):
    """1.58 rejects a blank title (422) and stores it stripped."""

    @field_validator("title")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("title must not be blank")
        return value.strip() if value is not None else None


class ChildRequest(BaseModel):
    task: str = Field(min_length=1)
    title: str | None = None
    isolation: Literal["worktree", "shared"] = "worktree"


class ForkRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    title: str | None = None
    tags: dict[str, str] | None = None
    from_event_id: str | None = None


class ConfirmationResponseRequest(BaseModel):
    accept: bool
    reason: str = "User rejected the action."


class InitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session_api_keys: list[str] | None = None
    secret_key: str | None = None
    conversations_path: str | None = None
    bash_events_dir: str | None = None
    conversation_worktree_root: str | None = None
    webhooks: list[dict[str, Any]] | None = None
    web_url: str | None = None
    allow_cors_origins: list[str] | None = None
    max_concurrent_runs: int | None = Field(None, ge=1)
    env: dict[str, str] | None = None
    telemetry: dict[str, Any] | None = None
