"""Conversation-level models: `ConversationInfo` (REST), the `full_state` snapshot value, pages, server info."""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cached_property
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

    # Cached: the list reads both for every row on every poll, and a wire model is never changed after it
    # arrived (a new poll brings new models). pydantic leaves cached properties out of dumps and equality.
    @cached_property
    def status(self) -> ExecutionStatus:
        return ExecutionStatus.parse(self.execution_status)

    @cached_property
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


class RuntimeStatus(StrEnum):
    """`runtime_info.runtime_status` (1.58+): can the conversation's sandbox run it?"""

    AVAILABLE = "available"
    STARTING = "starting"
    MISSING = "missing"
    OWNERSHIP_LOST = "ownership_lost"
    ERROR = "error"
    UNKNOWN = "unknown"  # a value this client does not know; never sent by the server

    @classmethod
    def parse(cls, value: object) -> RuntimeStatus:
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            return cls.UNKNOWN


class RuntimeErrorInfo(WireModel):
    """`runtime_info.runtime_error`: `{"code", "message"}`."""

    code: str | None = None
    message: str | None = None


class RuntimeInfo(WireModel):
    """`ConversationInfo.runtime_info`, `GET /{id}/runtime`, `POST /{id}/runtime/reprovision` (1.58+).
    A local server always reports available / can_resume / no error."""

    runtime_status: str = "available"
    can_resume: bool = True
    runtime_error: RuntimeErrorInfo | None = None

    @property
    def status(self) -> RuntimeStatus:
        return RuntimeStatus.parse(self.runtime_status)

    @property
    def is_usable(self) -> bool:
        """The conversation can run now (a starting runtime will be, soon)."""
        return self.status in (RuntimeStatus.AVAILABLE, RuntimeStatus.STARTING)

    @property
    def problem(self) -> str:
        """One line for a person when the runtime is not usable ("" when it is): what is wrong and whether a
        reprovision can bring it back. Server text: sanitize before showing."""
        if self.is_usable:
            return ""
        what = {
            RuntimeStatus.MISSING: "the runtime is missing",
            RuntimeStatus.OWNERSHIP_LOST: "another server took over this conversation's runtime",
            RuntimeStatus.ERROR: "the runtime failed",
        }.get(self.status, f"the runtime is {self.runtime_status!s}")
        error = self.runtime_error
        if error is not None and (error.message or error.code):
            what += f": {error.message or error.code}"
        return what + ("; it can be reprovisioned" if self.can_resume else "; it cannot be resumed")


class ConversationInfo(_HasStatus):
    """`GET /api/conversations/{id}` and search items (REST keeps null fields)."""

    id: str
    title: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    workspace: dict[str, Any] = Field(default_factory=dict)
    last_user_message_id: str | None = None
    tags: dict[str, Any] = Field(default_factory=dict)
    # 1.58+ (absent on older servers; `runtime_info` is null in the create response)
    runtime_info: RuntimeInfo | None = None
    tool_module_qualnames: dict[str, Any] = Field(default_factory=dict)
    # filled by 1.58 (children and forks)
    parent_conversation_id: str | None = None
    sub_conversation_ids: list[str] = Field(default_factory=list)
    forked_from_conversation_id: str | None = None
    forked_from_event_id: str | None = None

    @property
    def working_dir(self) -> str:
        return str(self.workspace.get("working_dir") or "")

    @property
    def runtime_problem(self) -> str:
        """What is wrong with the runtime, "" when it is fine or not reported (older servers, create responses)."""
        return self.runtime_info.problem if self.runtime_info is not None else ""


class ConversationState(_HasStatus):
    """The `value` of a `full_state` snapshot. It has no title."""

    id: str | None = None
    last_user_message_id: str | None = None


class ConversationPage(WireModel):
    items: list[ConversationInfo] = Field(default_factory=list)
    next_page_id: str | None = None


_VERSION = re.compile(r"^\s*v?(\d+)\.(\d+)(?:\.(\d+))?")

SESSION_SOCKET_SINCE = (1, 46, 0)  # `/sockets/session/{id}` with `after_seq` resume


class ServerInfo(WireModel):
    """`GET /server_info`. Capabilities and the runtime fields are 1.58+ (empty / None on older servers)."""

    title: str = ""
    version: str = "unknown"
    uptime: float | None = None
    idle_time: float | None = None
    usable_tools: list[str] = Field(default_factory=list)
    sdk_version: str | None = None
    capabilities: list[str] = Field(default_factory=list)
    conversation_runtime: str | None = None
    available_conversation_runtimes: list[str] = Field(default_factory=list)

    @property
    def version_tuple(self) -> tuple[int, int, int] | None:
        """`"1.58.2"` → (1, 58, 2); None when the version is not of that form ("unknown", a dev build name)."""
        match = _VERSION.match(self.version or "")
        if match is None:
            return None
        return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)

    def at_least(self, major: int, minor: int, patch: int = 0) -> bool:
        """The server's version is known and not older than that one."""
        version = self.version_tuple
        return version is not None and version >= (major, minor, patch)

    def has_capability(self, name: str) -> bool:
        return name in self.capabilities

    @property
    def supports_session_socket(self) -> bool:
        return self.at_least(*SESSION_SOCKET_SINCE)

    @property
    def supports_runtime_routes(self) -> bool:
        """`/{id}/runtime`, `/{id}/runtime/reprovision` and the per-conversation git / bash / file routes."""
        return self.has_capability("conversation_runtime_routes_v1")

    @property
    def supports_tool_catalog(self) -> bool:
        return self.has_capability("tool_catalog_v1")


class InitStatus(WireModel):
    state: str  # dormant | initializing | ready
    error: str | None = None


class Success(WireModel):
    success: bool = True
