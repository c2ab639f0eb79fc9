"""Request bodies the client sends."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .events import WireModel


class TextContent(WireModel):
    type: Literal["text"] = "text"
    text: str


class SendMessageRequest(WireModel):
    role: Literal["user"] = "user"
    content: list[TextContent]
    run: bool = True

    @classmethod
    def text(cls, text: str, *, run: bool = True) -> SendMessageRequest:
        return cls(content=[TextContent(text=text)], run=run)

    def to_wire(self) -> dict[str, Any]:
        # Every field, defaults included: `run` must be sent even when it has its default value.
        return self.model_dump(mode="json")


class ConfirmationResponseRequest(WireModel):
    accept: bool
    reason: str = "User rejected the action."

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class LLMConfig(WireModel):
    model: str
    base_url: str | None = None
    api_key: str | None = None
    usage_id: str = "agent"
    stream: bool = True


class StartConversationRequest(WireModel):
    """`POST /api/conversations`. Built without `initial_message`: the client attaches its socket first."""

    agent: dict[str, Any]
    workspace: dict[str, Any]
    conversation_id: str | None = None
    confirmation_policy: dict[str, Any] = Field(default_factory=lambda: {"kind": "NeverConfirm"})
    initial_message: dict[str, Any] | None = None
    max_iterations: int | None = None
    autotitle: bool = True

    @classmethod
    def build(
        cls,
        *,
        model: str,
        working_dir: str,
        base_url: str | None = None,
        api_key: str | None = None,
        confirm: bool = False,
        tools: tuple[str, ...] = ("terminal", "file_editor", "task_tracker"),
    ) -> StartConversationRequest:
        llm = LLMConfig(model=model, base_url=base_url, api_key=api_key)
        return cls(
            agent={"llm": llm.model_dump(mode="json", exclude_none=True), "tools": [{"name": t} for t in tools]},
            workspace={"working_dir": working_dir},
            confirmation_policy={"kind": "AlwaysConfirm" if confirm else "NeverConfirm"},
        )

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class InitRequest(WireModel):
    session_api_keys: list[str] | None = None

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)
