"""Conversation-level models: `ConversationInfo` (REST), the `full_state` snapshot value, pages, server info."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .events import WireModel
from .stats import UsageTotals
from .status import ExecutionStatus


class _HasStatus(WireModel):
    execution_status: str = "idle"
    stats: dict[str, Any] | None = None
    agent: dict[str, Any] = Field(default_factory=dict)
    confirmation_policy: dict[str, Any] | None = None

    @property
    def status(self) -> ExecutionStatus:
        return ExecutionStatus.parse(self.execution_status)

    @property
    def usage(self) -> UsageTotals:
        return UsageTotals.from_stats(self.stats)

    @property
    def model(self) -> str:
        llm = self.agent.get("llm") if isinstance(self.agent, dict) else None
        return str(llm.get("model") or "") if isinstance(llm, dict) else ""

    @property
    def confirms_actions(self) -> bool:
        policy = self.confirmation_policy or {}
        return policy.get("kind") not in (None, "NeverConfirm")


class ConversationInfo(_HasStatus):
    """`GET /api/conversations/{id}` and search items (REST keeps null fields)."""

    id: str
    title: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    workspace: dict[str, Any] = Field(default_factory=dict)
    last_user_message_id: str | None = None
    tags: dict[str, Any] = Field(default_factory=dict)

    @property
    def working_dir(self) -> str:
        return str(self.workspace.get("working_dir") or "")


class ConversationState(_HasStatus):
    """The `value` of a `full_state` snapshot. It has no title."""

    id: str | None = None
    last_user_message_id: str | None = None


class ConversationPage(WireModel):
    items: list[ConversationInfo] = Field(default_factory=list)
    next_page_id: str | None = None


class ServerInfo(WireModel):
    title: str = ""
    version: str = "unknown"
    uptime: float | None = None
    idle_time: float | None = None
    usable_tools: list[str] = Field(default_factory=list)


class InitStatus(WireModel):
    state: str  # dormant | initializing | ready
    error: str | None = None


class Success(WireModel):
    success: bool = True
